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
from tests.reliability.conftest import stores_on_own_server

pytestmark = pytest.mark.slow

MOVIES = 4_000
BATCH = 250
KILL_AFTER = 1_000  # acknowledged movies: four batches, then kill -9 mid-import
AOF_WORST_CASE_SECONDS = 2  # everysec's write postponed behind a slow fsync


class Seen:
    """What a crash scenario observed, for the tests below to check."""


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


def test_the_crash_server_fsyncs_its_aof_every_second(tmp_path):
    with stores_on_own_server(tmp_path) as server:
        config = server.client().config_get("append*")
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "everysec")


# --- kill -9 mid-import, restart, import again ------------------------------------------


@pytest.fixture(scope="module")
def import_crash(tmp_path_factory):
    """An import killed after KILL_AFTER acknowledged movies, the restart, and a rerun of
    the same file: what each step left (run once, it costs seconds)."""
    workdir = tmp_path_factory.mktemp("import-crash")
    seen = Seen()
    with stores_on_own_server(workdir) as server:
        path = workdir / "movies.jsonl"
        write_movies(path, MOVIES)
        indexing.ensure_indexes()
        seen.crash = durability.import_and_kill(
            path, server.kill, lambda acked: acked >= KILL_AFTER, batch_size=BATCH
        )
        seen.pid_after_kill = server.pid()
        seen.acked = seen.crash.acked()

        restart(server)
        durability.wait_for_indexes()
        # With appendfsync everysec Redis may postpone an AOF write for up to two seconds
        # while a slow fsync is still running, and replies meanwhile: that is the promise
        # ("about one second"). kill -9 ends the process, not the machine, so what was
        # written is in the page cache; only the promise is asserted, as a slow CI disk
        # can postpone a write.
        promised = seen.crash.acked(until=seen.crash.crash_time - AOF_WORST_CASE_SECONDS)
        seen.promised_missing = durability.missing(promised)
        seen.after = durability.consistency()
        seen.survivors = seen.after.pop("movie_ids")
        seen.created = durability.created_at(seen.acked)

        seen.summary = importer.import_file(path, batch_size=BATCH, clock=lambda: time.time() + 60)
        durability.wait_for_indexes()
        seen.rerun = durability.consistency()
        seen.rerun_ids = seen.rerun.pop("movie_ids")
        seen.file_ids = durability.file_ids(path)
        seen.created_after_rerun = durability.created_at(seen.acked)
    return seen


def test_the_import_meets_the_killed_server(import_crash):
    crash = import_crash.crash
    assert crash.crash_time is not None and import_crash.pid_after_kill is None
    assert "Connection" in (crash.error or "")  # the import met the dead server
    assert KILL_AFTER <= len(import_crash.acked) < MOVIES


def test_no_movie_acknowledged_before_the_fsync_window_is_lost(import_crash):
    assert import_crash.promised_missing == 0


def test_after_the_restart_every_acknowledged_movie_is_there(import_crash):
    assert set(import_crash.acked) <= import_crash.survivors


def test_after_the_restart_the_index_holds_exactly_the_movies(import_crash):
    after = import_crash.after
    assert after["num_docs"] == after["movie_keys"] == len(import_crash.survivors)


def test_after_the_restart_suggestions_and_autocomplete_match_the_movies(import_crash):
    after = import_crash.after
    assert after["suggestions_match_movies"]
    assert after["suggestion_docs"] == after["suggestion_keys"] == len(import_crash.survivors)
    assert after["autocomplete_entries"] == after["autocomplete_expected"]


def test_a_rerun_imports_the_rest_and_updates_the_survivors_without_duplicates(import_crash):
    survivors = len(import_crash.survivors)
    assert import_crash.rerun_ids == import_crash.file_ids
    assert (import_crash.summary.imported, import_crash.summary.updated) == (
        MOVIES - survivors,
        survivors,
    )
    assert import_crash.rerun["num_docs"] == import_crash.rerun["movie_keys"] == MOVIES


def test_a_rerun_leaves_suggestions_and_autocomplete_complete(import_crash):
    rerun = import_crash.rerun
    assert rerun["suggestions_match_movies"] and rerun["suggestion_docs"] == MOVIES
    assert rerun["autocomplete_entries"] == rerun["autocomplete_expected"]


def test_a_rerun_keeps_created_at(import_crash):
    assert import_crash.created_after_rerun == import_crash.created  # kept by the upsert
    assert all(import_crash.created.values())


# --- kill -9 during tracking ------------------------------------------------------------


@pytest.fixture(scope="module")
def tracking_crash(tmp_path_factory):
    """In-process through the middleware's background recorder (the path gunicorn
    workers use) under a steady load, Redis killed mid-load and restarted;
    bench/durability.py does the same over HTTP."""
    seen = Seen()
    with (
        stores_on_own_server(tmp_path_factory.mktemp("tracking-crash")) as server,
        pytest.MonkeyPatch.context() as monkeypatch,
    ):
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
        server.kill()
        time.sleep(0.3)  # hits keep coming while Redis is down
        stop.set()
        load.join(5)
        recorder.stopped.set()
        recorder.thread.join(5)
        recorder.flush()  # what was queued meets the dead server: counted as lost
        restart(server)

        window = crash_time - AOF_WORST_CASE_SECONDS
        seen.acked_total = sum(n for _, n in acks)
        seen.acked_old = sum(n for at, n in acks if at <= window)
        samples = (
            insights_store.client()
            .ts()
            .range(page_views_series().key, started_ms, insights_store.now_ms())
        )
        seen.recorded = int(sum(value for _, value in samples))
        seen.lost, seen.lost_error = losses.total, losses.last_error
        seen.submitted = submitted
    return seen


def test_tracking_had_hits_acknowledged_before_the_kill(tracking_crash):
    assert tracking_crash.acked_total >= 2_000


def test_no_hit_acknowledged_before_the_fsync_window_is_lost(tracking_crash):
    assert tracking_crash.recorded >= tracking_crash.acked_old  # the promise (see above)


def test_hits_the_dead_server_refused_are_counted_as_lost(tracking_crash):
    assert tracking_crash.lost > 0 and "Connection" in tracking_crash.lost_error


def test_every_hit_is_either_recorded_or_counted_never_dropped_silently(tracking_crash):
    assert tracking_crash.recorded + tracking_crash.lost >= tracking_crash.submitted
    assert tracking_crash.recorded <= tracking_crash.submitted
