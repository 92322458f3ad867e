"""Memory pressure on a server with a small maxmemory and the project's policy
(volatile-lru): caches and other keys with a TTL are evicted, movies and time series
never are; writes Redis refuses (OOM) are reported and counted, never dropped silently,
and searching still answers when the cache cannot store anything."""

import json
import os
import re
import time

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import get_redis, reset_pools
from insights import middleware
from insights import store as insights_store
from operations import store as operations_store
from operations.recorder import recorder as request_recorder
from search import keys, store
from search.facets import filter_options
from search.params import SearchParams
from search.results import run_search, search_cache_key
from search.synthetic import MovieFactory
from tests.conftest import cache_settings, store_urls

pytestmark = pytest.mark.slow

MAXMEMORY = "32mb"
MOVIES = 1_000
BIG = 3_000
STORES = ("search", "analytics", "operations", "metrics", "events")  # "cache": all TTLs


@pytest.fixture
def small_server(tmp_path, settings):
    """Every store and Django's cache on a server with a small maxmemory."""
    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "small", maxmemory=MAXMEMORY)
    server.start()
    assert server.client().config_get("maxmemory-policy")["maxmemory-policy"] == "volatile-lru"
    urls = store_urls(server.port, server.password)
    settings.REDIS_URLS = urls
    settings.CACHES = cache_settings(urls["cache"])
    insights_store.forget_ensured()
    insights_store.forget_salts()
    yield server
    server.stop(save=False)
    reset_pools()
    insights_store.forget_ensured()
    insights_store.forget_salts()


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


def test_eviction_takes_caches_only_and_refused_writes_are_counted(
    small_server, tmp_path, client, monkeypatch, capsys
):
    # --- movies and time series -------------------------------------------------------
    catalogue = tmp_path / "catalogue.jsonl"
    write_movies(catalogue, MOVIES, seed=11, start_id=1)
    call_command("import_movies", str(catalogue), verbosity=0)
    insights_store.record_hits(hits(300) + hits(200, page="search"))
    now_ms = int(time.time() * 1000)
    operations_store.record_requests([(now_ms - i, 4.0 + i % 9, i % 50 == 0) for i in range(500)])
    keep = persistent_keys()
    samples = series_samples()
    assert len(keep["search"]) >= 2 * MOVIES and len(samples) >= 10

    # --- caches under pressure --------------------------------------------------------
    words = "love war night city dead house girl man time king river blood star dream".split()
    totals = {w: run_search(SearchParams(q=w)).total_count for w in words}
    filter_options()
    cache_db = get_redis("cache")
    search_cached = list(cache_db.scan_iter(match="*search_cache:*"))
    assert len(search_cached) == len(words) and list(cache_db.scan_iter(match="*filter_cache:*"))
    blob = os.urandom(256 * 1024)
    written = 3 * 32 * 1024 * 1024 // len(blob)  # three times maxmemory
    for i in range(written):
        cache.set(f"pressure:{i}", blob, 3600)

    assert evicted_keys(small_server) > 0
    assert len(list(cache_db.scan_iter(match="*pressure:*"))) < written
    assert len(list(cache_db.scan_iter(match="*search_cache:*"))) < len(words)
    assert still_there(keep) == dict.fromkeys(STORES, 0)
    assert series_samples() == samples
    assert store.movie_count() == store.movie_key_count() == MOVIES
    # Evicted or not, the search cache gives the same answers.
    assert {w: run_search(SearchParams(q=w)).total_count for w in words} == (totals)

    # --- writes Redis must refuse: nothing evictable is left --------------------------
    big = tmp_path / "big.jsonl"
    write_movies(big, BIG, seed=12, start_id=100_000, long_plots=True)
    refusal = r"Redis refused \d+ valid movie\(s\) \(OutOfMemoryError"
    generation_before = store.generation()
    with pytest.raises(CommandError, match=refusal):
        call_command("import_movies", str(big), verbosity=0)
    out, err = capsys.readouterr()
    summary = re.search(rf"read {BIG}, imported (\d+), updated 0, rejected 0, "
                        r"refused by Redis (\d+)", out)  # fmt: skip
    assert summary, out
    imported, refused = map(int, summary.groups())
    assert imported + refused == BIG and refused > 0
    assert "refused by Redis: movie " in err
    # The generation bump is refused too unless eviction made room for it just then:
    # either way it is never silent.
    assert store.generation() > generation_before or (
        "warning: cached searches were not invalidated (OutOfMemoryError" in err
    )
    # Each refused movie is wholly absent, each imported one wholly there.
    assert store.movie_key_count() == store.movie_count() == MOVIES + imported
    suggestions = get_redis("search").ft(keys.SUGGESTIONS_INDEX).info()["num_docs"]
    assert int(suggestions) == MOVIES + imported
    assert still_there(keep) == dict.fromkeys(STORES, 0)

    # --- from here Redis refuses every write, for certain ---------------------------
    # The refused import leaves used_memory a few tens of KB above maxmemory, and the
    # server frees idle clients' query and output buffers on its own clock: a small write
    # then fits (the probe below once passed so). The keys without a TTL alone hold more
    # than half the memory in use, so at that limit Redis, having evicted whatever
    # volatile key is left, can only refuse, however much the buffers shrink.
    server = small_server.client()
    used = int(server.info("memory")["used_memory"])
    server.config_set("maxmemory", used // 2)
    with pytest.raises(redis.OutOfMemoryError):
        cache.set("probe", "x" * 1000, 60)
    assert still_there(keep) == dict.fromkeys(STORES, 0)

    # The tracking writer counts what Redis refuses.
    losses = middleware.LossCounter()
    monkeypatch.setattr(middleware, "losses", losses)
    middleware.write_or_count(hits(40))
    assert losses.total == 40 and "OutOfMemoryError" in losses.last_error
    # So does the request-metrics writer.
    dropped = request_recorder.dropped
    request_recorder.queue.extend((now_ms, 5.0, False) for _ in range(7))
    assert request_recorder.flush() == 0
    assert request_recorder.dropped == dropped + 7
    # Both show on /metrics (this request's own figures are refused too).
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert metric(text, "movie_explorer_analytics_hits_lost_total") == 40
    assert metric(text, "movie_explorer_request_metrics_dropped_total") >= dropped + 7
    assert series_samples() == samples  # refused, not half-written

    # Searching answers live when the cache cannot store the result.
    response = client.get("/api/search", {"q": "moon river"})
    assert response.status_code == 200 and response.json()["totalCount"] >= 0
    assert client.get("/", {"q": "moon river"}).status_code == 200
    key = search_cache_key(SearchParams(q="moon river"), store.generation())
    assert cache.get(key) is None  # the SET was refused, and nothing broke
