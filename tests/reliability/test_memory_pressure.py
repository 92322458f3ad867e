"""Memory pressure on a server with a small maxmemory and the project's policy
(volatile-lru): caches and other keys with a TTL are evicted, movies and time series
never are; writes Redis refuses (OOM) are reported and counted, never dropped silently,
and searching still answers when the cache cannot store anything."""

import json
import os
import re
import time
from io import StringIO

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from config.redis_stores import get_redis
from insights import middleware
from insights import store as insights_store
from operations import metrics_store
from operations.recorder import recorder as request_recorder
from search import keys, store
from search.facets import filter_options
from search.params import SearchParams
from search.results import run_search, search_cache_key
from search.synthetic import MovieFactory
from tests.reliability.conftest import stores_on_own_server

pytestmark = pytest.mark.slow

MAXMEMORY = "32mb"
MOVIES = 1_000
BIG = 3_000
STORES = ("search", "analytics", "operations", "metrics", "events")  # "cache": all TTLs


def write_movies(path, count, seed, start_id, long_plots=False):
    factory = MovieFactory(seed=seed, start_id=start_id)
    words = factory.vocabulary
    with open(path, "w", encoding="utf-8") as out:
        for movie in factory.movies(count):
            if long_plots:  # 9,000 characters: memory fills in a few thousand movies
                start = movie["id"] % (len(words) - 2_000)
                movie["plot"] = " ".join(words[start : start + 2_000])[:9_000]
            out.write(json.dumps(movie) + "\n")


def persistent_keys():
    """Every key without a TTL, per store: the movies, their index data, time series,
    hashes and streams that must never be evicted."""
    keys = {}
    for name in STORES:
        client = get_redis(name)
        found = list(client.scan_iter(count=1000))
        pipe = client.pipeline(transaction=False)
        for key in found:
            pipe.ttl(key)
        keys[name] = {k for k, ttl in zip(found, pipe.execute(), strict=True) if ttl == -1}
    return keys


def still_there(keys):
    missing = {}
    for name, wanted in keys.items():
        pipe = get_redis(name).pipeline(transaction=False)
        for key in wanted:
            pipe.exists(key)
        missing[name] = sum(1 for found in pipe.execute() if not found)
    return missing


def series_samples():
    """Samples held by each time series of the analytics and metrics stores."""
    samples = {}
    for name in ("analytics", "metrics"):
        client = get_redis(name)
        for key in client.scan_iter(count=1000):
            if client.type(key) == "TSDB-TYPE":
                samples[name, key] = client.ts().info(key).total_samples
    return samples


def hits(count, page="movie"):
    now = insights_store.now_ms()
    return [insights_store.Hit(timestamp_ms=now + i, page=page, country_code="FR",
                               country_name="France", visitor=f"v{i}")
            for i in range(count)]  # fmt: skip


def evicted_keys(server):
    return int(server.client().info("stats")["evicted_keys"])


def metric(text, name):
    match = re.search(rf"^{name} (\S+)$", text, flags=re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


WORDS = "love war night city dead house girl man time king river blood star dream".split()
REFUSAL = r"Redis refused \d+ valid movie\(s\) \(OutOfMemoryError"
SUMMARY = re.compile(rf"read {BIG}, imported (\d+), updated 0, rejected 0, refused by Redis (\d+)")


def totals_of(words):
    return {w: run_search(SearchParams(q=w)).total_count for w in words}


def persistent_keys_missing(seen):
    return still_there(seen.keep) == dict.fromkeys(STORES, 0)


class Seen:
    """What the scenario observed, stage by stage, for the tests below to check."""


def fill_caches(seen):
    """Stage 1: movies and series, then three times maxmemory of cache entries."""
    catalogue = seen.workdir / "catalogue.jsonl"
    write_movies(catalogue, MOVIES, seed=11, start_id=1)
    call_command("import_movies", str(catalogue), verbosity=0)
    insights_store.record_hits(hits(300) + hits(200, page="search"))
    seen.now_ms = int(time.time() * 1000)
    metrics_store.record_requests([(seen.now_ms - i, 4.0 + i % 9, i % 50 == 0) for i in range(500)])
    seen.keep = persistent_keys()
    seen.samples = series_samples()
    seen.totals = totals_of(WORDS)
    filter_options()
    cache_db = get_redis("cache")
    seen.search_cached = len(list(cache_db.scan_iter(match="*search_cache:*")))
    seen.filter_cached = len(list(cache_db.scan_iter(match="*filter_cache:*")))
    blob = os.urandom(256 * 1024)
    seen.written = 3 * 32 * 1024 * 1024 // len(blob)  # three times maxmemory
    for i in range(seen.written):
        cache.set(f"pressure:{i}", blob, 3600)
    seen.evicted = evicted_keys(seen.server)
    seen.pressure_left = len(list(cache_db.scan_iter(match="*pressure:*")))
    seen.search_cached_after = len(list(cache_db.scan_iter(match="*search_cache:*")))
    seen.kept_after_caches = persistent_keys_missing(seen)
    seen.samples_after_caches = series_samples()
    seen.movies_after_caches = (store.movie_count(), store.movie_key_count())
    seen.totals_after_caches = totals_of(WORDS)


def import_too_much(seen):
    """Stage 2: an import bigger than what is left once nothing evictable remains."""
    big = seen.workdir / "big.jsonl"
    write_movies(big, BIG, seed=12, start_id=100_000, long_plots=True)
    seen.generation_before = store.generation()
    out, err = StringIO(), StringIO()
    try:
        call_command("import_movies", str(big), verbosity=0, stdout=out, stderr=err)
        seen.import_error = None
    except CommandError as error:
        seen.import_error = str(error)
    seen.import_out, seen.import_err = out.getvalue(), err.getvalue()
    seen.generation_after = store.generation()
    seen.movies_after_import = (store.movie_key_count(), store.movie_count())
    suggestions = get_redis("search").ft(keys.SUGGESTIONS_INDEX).info()["num_docs"]
    seen.suggestions_after_import = int(suggestions)
    seen.kept_after_import = persistent_keys_missing(seen)


def refuse_every_write(seen, client):
    """Stage 3: from here Redis refuses every write, for certain.

    The refused import leaves used_memory a few tens of KB above maxmemory, and the server
    frees idle clients' buffers on its own clock, so a small write might still fit. The
    keys without a TTL alone hold more than half the memory in use: at half of it Redis,
    having evicted whatever volatile key is left, can only refuse."""
    server = seen.server.client()
    server.config_set("maxmemory", int(server.info("memory")["used_memory"]) // 2)
    try:
        cache.set("probe", "x" * 1000, 60)
        seen.probe_error = None
    except redis.OutOfMemoryError as error:
        seen.probe_error = error
    seen.kept_when_refusing = persistent_keys_missing(seen)
    losses = middleware.recorder.losses
    losses.reset()
    middleware.recorder.write_now(hits(40))
    seen.lost, seen.lost_error = losses.total, losses.last_error
    seen.dropped_before = request_recorder.losses.total
    request_recorder.queue.extend((seen.now_ms, 5.0, False) for _ in range(7))
    seen.flushed = request_recorder.flush()
    seen.dropped_after = request_recorder.losses.total
    seen.metrics = client.get("/metrics")  # this request's own figures are refused too
    seen.samples_when_refusing = series_samples()
    seen.api_search = client.get("/api/search", {"q": "moon river"})
    seen.search_page = client.get("/", {"q": "moon river"})
    key = search_cache_key(SearchParams(q="moon river"), store.generation())
    seen.cached_when_refusing = cache.get(key)


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    """Every store and Django's cache on a server with a small maxmemory, taken through
    the three stages once (each costs seconds); what happened, for the tests."""
    workdir = tmp_path_factory.mktemp("pressure")
    with stores_on_own_server(workdir, maxmemory=MAXMEMORY, cache_too=True) as server:
        observed = Seen()
        observed.server, observed.workdir = server, workdir
        observed.policy = server.client().config_get("maxmemory-policy")["maxmemory-policy"]
        fill_caches(observed)
        import_too_much(observed)
        refuse_every_write(observed, Client())
    return observed


def test_the_server_evicts_only_keys_with_a_ttl(seen):
    assert seen.policy == "volatile-lru"


# --- stage 1: caches under pressure ---------------------------------------------------


def test_movies_and_time_series_are_kept_without_a_ttl(seen):
    movies = [key for key in seen.keep["search"] if key.startswith(keys.movie_prefix())]
    assert len(movies) == MOVIES and len(seen.samples) >= 10


def test_searches_and_filter_options_are_cached(seen):
    assert seen.search_cached == len(WORDS) and seen.filter_cached


def test_cache_pressure_evicts_cache_entries(seen):
    assert seen.evicted > 0
    assert seen.pressure_left < seen.written
    assert seen.search_cached_after < len(WORDS)


def test_cache_pressure_evicts_no_key_without_a_ttl(seen):
    assert seen.kept_after_caches
    assert seen.movies_after_caches == (MOVIES, MOVIES)


def test_cache_pressure_leaves_every_series_whole(seen):
    assert seen.samples_after_caches == seen.samples


def test_searches_answer_the_same_whether_cached_or_evicted(seen):
    assert seen.totals_after_caches == seen.totals


# --- stage 2: an import Redis must refuse ---------------------------------------------


def imported_and_refused(seen):
    summary = SUMMARY.search(seen.import_out)
    assert summary, seen.import_out
    return tuple(map(int, summary.groups()))


def test_an_import_redis_refuses_fails_counting_what_it_refused(seen):
    assert seen.import_error is not None and re.search(REFUSAL, seen.import_error)
    imported, refused = imported_and_refused(seen)
    assert imported + refused == BIG and refused > 0


def test_the_import_names_the_movies_redis_refused(seen):
    assert "refused by Redis: movie " in seen.import_err


def test_a_refused_generation_bump_is_never_silent(seen):
    """Refused too unless eviction made room for it just then: either way it is said."""
    assert seen.generation_after > seen.generation_before or (
        "warning: cached searches were not invalidated (OutOfMemoryError" in seen.import_err
    )


def test_each_refused_movie_is_wholly_absent_and_each_imported_wholly_there(seen):
    imported, _ = imported_and_refused(seen)
    assert seen.movies_after_import == (MOVIES + imported, MOVIES + imported)
    assert seen.suggestions_after_import == MOVIES + imported


def test_a_refused_import_evicts_no_key_without_a_ttl(seen):
    assert seen.kept_after_import


# --- stage 3: Redis refuses every write -----------------------------------------------


def test_at_the_limit_redis_refuses_a_cache_write(seen):
    assert isinstance(seen.probe_error, redis.OutOfMemoryError)


def test_refusing_writes_evicts_no_key_without_a_ttl(seen):
    assert seen.kept_when_refusing


def test_refused_tracking_writes_are_counted_as_lost(seen):
    assert seen.lost == 40 and "OutOfMemoryError" in seen.lost_error


def test_refused_request_metrics_are_counted_as_dropped(seen):
    assert seen.flushed == 0
    assert seen.dropped_after == seen.dropped_before + 7


def test_metrics_shows_the_lost_and_the_dropped(seen):
    assert seen.metrics.status_code == 200
    text = seen.metrics.content.decode()
    assert metric(text, "movie_explorer_analytics_hits_lost_total") == 40
    assert metric(text, "movie_explorer_request_metrics_dropped_total") >= seen.dropped_before + 7


def test_refused_writes_leave_every_series_whole(seen):
    assert seen.samples_when_refusing == seen.samples  # refused, not half-written


def test_search_answers_live_when_the_cache_cannot_store_the_result(seen):
    assert seen.api_search.status_code == 200 and seen.api_search.json()["totalCount"] >= 0
    assert seen.search_page.status_code == 200
    assert seen.cached_when_refusing is None  # the SET was refused, and nothing broke
