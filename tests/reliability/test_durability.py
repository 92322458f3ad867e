"""kill -9 Redis mid-import and mid-tracking, restart it on the same data directory.

A real server with the project's redis.conf (AOF, fsync every second), a real SIGKILL on
the redis-server pid, a real restart that replays the AOF. The full-size measurement is
`bench/durability.py` (docs/RELIABILITY.md); these are the same checks, small.
"""

import json
import threading
import time

import pytest

from bench import durability
from config.redis_stores import reset_pools
from insights import middleware
from insights import store as insights_store
from insights.series import page_views_series
from search import importer, indexing
from search.synthetic import MovieFactory
from telemetry import timeseries

pytestmark = pytest.mark.slow

MOVIES = 4_000
BATCH = 250
KILL_AFTER = 1_000  # acknowledged movies: four batches, then kill -9 mid-import
AOF_WORST_CASE_SECONDS = 2  # everysec's write postponed behind a slow fsync


@pytest.fixture
def crashable(stoppable_server):
    """Every store on a server the test kills; per-process caches forgotten around it."""
    config = stoppable_server.client().config_get("append*")
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "everysec")
    timeseries.forget_ensured()
    insights_store.forget_salts()
    yield stoppable_server
    timeseries.forget_ensured()
    insights_store.forget_salts()


class StoppableRecorder(middleware.Recorder):
    """The middleware's recorder (queue, batches, losses) with a thread that ends
    with the test: the real one runs forever and would later write into other tests'
    stores."""

    def __init__(self):
        super().__init__()
        self.stopped = threading.Event()

    def _run(self):
        while not self.stopped.is_set():
            self.wake.wait(middleware.FLUSH_INTERVAL_SECONDS)
            self.wake.clear()
            self.flush()


def restart(server):
    server.start()
    reset_pools()


def write_movies(path, count):
    with open(path, "w", encoding="utf-8") as out:
        for movie in MovieFactory(seed=5).movies(count):
            out.write(json.dumps(movie) + "\n")


def test_kill_9_mid_import_loses_nothing_acknowledged_and_rerun_has_no_duplicates(
    crashable, tmp_path
):
    path = tmp_path / "movies.jsonl"
    write_movies(path, MOVIES)
    indexing.ensure_indexes()

    crash = durability.import_and_kill(
        path, crashable.kill, lambda acked: acked >= KILL_AFTER, batch_size=BATCH
    )
    assert crash.crash_time is not None and crashable.pid() is None
    assert "Connection" in (crash.error or "")  # the import met the dead server
    acked = crash.acked()
    assert KILL_AFTER <= len(acked) < MOVIES

    restart(crashable)
    durability.wait_for_indexes()
    # With appendfsync everysec Redis may postpone an AOF write for up to two seconds
    # while a slow fsync is still running, and replies meanwhile: that is the promise
    # ("about one second"). kill -9 ends the process, not the machine, so what was
    # written is in the page cache; here nothing was lost at all, but only the promise
    # is asserted, as a slow CI disk can postpone a write.
    promised = crash.acked(until=crash.crash_time - AOF_WORST_CASE_SECONDS)
    assert durability.missing(promised) == 0

    after = durability.consistency()
    survivors = after.pop("movie_ids")
    assert set(acked) <= survivors
    assert after["num_docs"] == after["movie_keys"] == len(survivors)
    assert after["suggestions_match_movies"]
    assert after["suggestion_docs"] == after["suggestion_keys"] == len(survivors)
    assert after["autocomplete_entries"] == after["autocomplete_expected"]
    created = durability.created_at(acked)

    summary = importer.import_file(path, batch_size=BATCH, clock=lambda: time.time() + 60)
    durability.wait_for_indexes()
    rerun = durability.consistency()
    assert rerun.pop("movie_ids") == durability.file_ids(path)
    assert (summary.imported, summary.updated) == (MOVIES - len(survivors), len(survivors))
    assert rerun["num_docs"] == rerun["movie_keys"] == MOVIES
    assert rerun["suggestions_match_movies"] and rerun["suggestion_docs"] == MOVIES
    assert rerun["autocomplete_entries"] == rerun["autocomplete_expected"]
    assert durability.created_at(acked) == created  # kept by the upsert
    assert all(created.values())


def test_kill_9_during_tracking_loses_no_acknowledged_hit_and_counts_the_rest(
    crashable, monkeypatch
):
    """In-process through the middleware's background recorder (the path gunicorn
    workers use); bench/durability.py does the same over HTTP."""
    acks = []  # (acknowledged at, hits in the batch)
    original = middleware.record

    def acknowledged(hits):
        original(hits)
        acks.append((time.time(), len(hits)))

    monkeypatch.setattr(middleware, "record", acknowledged)
    recorder = StoppableRecorder()
    losses = recorder.losses
    started_ms = insights_store.now_ms()
    submitted = 0
    stop = threading.Event()
    crash_time = None

    def steady_load():
        nonlocal submitted
        while not stop.is_set():
            for _ in range(20):  # 20 hits every 10 ms: 2,000 page views/s
                recorder.submit(insights_store.Hit(
                    timestamp_ms=insights_store.now_ms(), page="movie",
                    visitor=f"visitor-{submitted % 97}",
                ))  # fmt: skip
                submitted += 1
            time.sleep(0.01)

    load = threading.Thread(target=steady_load, daemon=True)
    load.start()
    deadline = time.monotonic() + 30
    while sum(n for _, n in acks) < 2_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    crash_time = time.time()
    crashable.kill()
    time.sleep(0.3)  # hits keep coming while Redis is down
    stop.set()
    load.join(5)
    recorder.stopped.set()
    recorder.thread.join(5)
    recorder.flush()  # what was queued meets the dead server: counted as lost
    restart(crashable)

    window = crash_time - AOF_WORST_CASE_SECONDS
    acked_total = sum(n for _, n in acks)
    acked_old = sum(n for at, n in acks if at <= window)
    assert acked_total >= 2_000
    samples = (
        insights_store.client()
        .ts()
        .range(page_views_series().key, started_ms, insights_store.now_ms())
    )
    recorded = int(sum(value for _, value in samples))
    assert recorded >= acked_old  # the promise (see above)
    # Every hit is either recorded or counted as lost, never dropped silently.
    assert losses.total > 0 and "Connection" in losses.last_error
    assert recorded + losses.total >= submitted
    assert recorded <= submitted
