"""The background batcher: bounded queue, batched writes, counted and rate-limited losses,
a pause after a failure, a thread per process."""

import logging
import os

import pytest
import redis

from telemetry import batcher

LOGGER = "tests.telemetry.batcher"


class Listed(batcher.Batcher):
    """Writes each batch to a list; fails the way it is told to."""

    def __init__(self, failure=None, name="listed", **options):
        defaults = {"flush_interval": 3600, "max_queued": 100}  # the thread never flushes
        super().__init__(name, logging.getLogger(LOGGER), **{**defaults, **options})
        self.batches = []
        self.failure = failure

    def write(self, items):
        if self.failure is not None:
            raise self.failure
        self.batches.append(list(items))


def test_a_flush_writes_what_was_queued_and_returns_how_many():
    queue = Listed()
    for item in range(5):
        queue.submit(item)
    assert queue.flush() == 5
    assert queue.batches == [[0, 1, 2, 3, 4]]
    assert queue.pending() == 0
    assert queue.flush() == 0


def test_a_flush_writes_at_most_max_batch_items_per_write():
    queue = Listed(max_batch=2)
    for item in range(5):
        queue.submit(item)
    queue.flush()
    assert queue.batches == [[0, 1], [2, 3], [4]]


def test_items_past_the_bound_are_counted_lost():
    queue = Listed(max_queued=3)
    for item in range(5):
        queue.submit(item)
    assert queue.pending() == 3
    assert queue.losses.total == 2
    assert "queue is full" in queue.losses.last_error


def test_a_failed_write_is_counted_lost_never_raised():
    queue = Listed(failure=redis.ConnectionError("down"))
    queue.submit("a")
    queue.submit("b")
    assert queue.flush() == 0
    assert queue.losses.total == 2
    assert queue.losses.last_error == "ConnectionError: down"


def test_a_bug_in_the_write_is_logged_with_its_traceback_and_counted(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    queue = Listed(failure=ValueError("a bug"))
    assert queue.write_now(["a"]) == 0
    assert queue.losses.total == 1
    assert any(record.exc_info for record in caplog.records)


def test_writes_pause_after_a_failure():
    queue = Listed(failure=redis.ConnectionError("down"), pause_after_failure=5)
    queue.write_now(["a"])
    queue.failure = None
    assert queue.write_now(["b"]) == 0  # paused: not even tried
    assert queue.batches == []
    assert queue.losses.total == 2


def test_without_a_pause_the_next_write_is_tried_at_once():
    queue = Listed(failure=redis.ConnectionError("down"))
    queue.write_now(["a"])
    queue.failure = None
    assert queue.write_now(["b"]) == 1
    assert queue.batches == [["b"]]


def test_losses_are_logged_at_most_once_a_minute(caplog):
    now = [1000.0]
    counter = batcher.LossCounter("figures", logging.getLogger(LOGGER), 5, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger=LOGGER)
    counter.lost(ConnectionError("down"))
    for _ in range(5):
        counter.lost()
    now[0] += 30
    counter.lost()
    assert len(caplog.records) == 1
    now[0] += 31
    counter.lost(ConnectionError("still down"))
    assert len(caplog.records) == 2
    assert "figures not recorded for 7 request(s) (8 in total" in caplog.records[1].getMessage()


def test_the_pause_ends_after_its_seconds():
    now = [1000.0]
    counter = batcher.LossCounter("figures", logging.getLogger(LOGGER), 5, clock=lambda: now[0])
    counter.lost(ConnectionError("down"))
    assert counter.paused()
    now[0] += 5
    assert not counter.paused()


def test_the_first_submit_starts_a_daemon_thread():
    queue = Listed()
    assert queue.thread is None
    queue.submit("a")
    assert queue.thread.is_alive() and queue.thread.daemon


def test_a_forked_process_gets_its_own_thread_and_an_empty_queue():
    queue = Listed()
    queue.submit("the parent's")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's exit hooks
        queue.submit("the child's")
        report = f"{queue.pending()} {queue.thread.is_alive()}"
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    report = os.read(read_end, 100).decode()
    os.waitpid(pid, 0)
    assert report == "1 True"
    assert queue.pending() == 1  # the parent still holds its own


def test_published_batchers_report_their_losses_by_name():
    queue = batcher.publish(Listed(max_queued=0, name="spec-published"))
    queue.submit("a")
    queue.submit("b")
    assert batcher.losses()["spec-published"] == 2


@pytest.mark.parametrize(
    "module, name",
    [("insights.middleware", "analytics"), ("operations.recorder", "request_metrics")],
)
def test_both_apps_publish_their_recorder(module, name):
    import importlib

    importlib.import_module(module)
    assert name in batcher.losses()
