"""A background batcher: requests queue figures in microseconds, one daemon thread per
process writes them in batches, and whatever cannot be written is counted, never raised.

The queue is bounded (past `max_queued` new items are counted lost); the thread writes
every `flush_interval` or as soon as `batch_size` items wait; after a failure it can pause
writing for a while (each item meanwhile is counted lost); losses are logged at most once
a minute. A worker forked after the thread started gets its own thread and an empty queue
(the parent writes what it queued). `losses()` reports every published batcher's count.
"""

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

import redis

LOG_EVERY_SECONDS = 60


class LossCounter:
    """Counts items lost to failures; logs a summary at most once a minute, and pauses
    writes for `pause_seconds` after a failure."""

    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        pause_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.logger = logger
        self.pause_seconds = pause_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.total = 0
        self.unlogged = 0
        self.last_log = None
        self.paused_until = 0.0
        self.last_error = ""

    def paused(self) -> bool:
        return self.clock() < self.paused_until

    def reset(self) -> None:
        """Start counting from zero (a test's own count)."""
        with self.lock:
            self.total = self.unlogged = 0
            self.last_log = None
            self.paused_until = 0.0
            self.last_error = ""

    def lost(self, error: BaseException | None = None, count: int = 1) -> None:
        with self.lock:
            self.total += count
            self.unlogged += count
            now = self.clock()
            if error is not None:
                self.last_error = f"{type(error).__name__}: {error}"
                self.paused_until = now + self.pause_seconds
            if self.last_log is not None and now - self.last_log < LOG_EVERY_SECONDS:
                return
            self.last_log = now
            count, self.unlogged = self.unlogged, 0
        self.logger.warning(
            "%s not recorded for %d request(s) (%d in total since start): %s",
            self.what,
            count,
            self.total,
            self.last_error,
        )


class Batcher:
    """This process's queue of items and the thread that writes them in batches.

    Subclasses implement `write(items)`, which raises on failure; `housekeeping()` runs
    on the thread after each flush.
    """

    def __init__(
        self,
        name: str,
        logger: logging.Logger,
        *,
        flush_interval: float,
        max_queued: int,
        batch_size: int | None = None,
        max_batch: int | None = None,
        pause_after_failure: float = 0.0,
        what: str | None = None,
        thread_name: str | None = None,
    ) -> None:
        self.name = name
        self.thread_name = thread_name or f"{name}-batcher"
        self.logger = logger
        self.flush_interval = flush_interval
        self.max_queued = max_queued
        self.batch_size = batch_size  # wake the thread early once this many wait
        self.max_batch = max_batch  # items per write (None: everything queued)
        self.losses = LossCounter(what or name, logger, pause_after_failure)
        self.queue = deque()
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()  # one batch in flight; flush() waits for it
        self.wake = threading.Event()
        self.pid = None
        self.thread = None
        self._exit_registered = False

    def write(self, items: list) -> None:
        raise NotImplementedError

    def housekeeping(self) -> None:
        """Work the thread does between flushes (none by default)."""

    def submit(self, item) -> None:
        if self.pid != os.getpid():
            self._start()
        queue = self.queue
        if len(queue) >= self.max_queued:
            self.losses.lost(OverflowError(f"the {self.name} queue is full"))
            return
        queue.append(item)
        if self.batch_size is not None and len(queue) >= self.batch_size:
            self.wake.set()

    def _start(self):
        with self.lock:
            if self.pid == os.getpid():
                return
            if self.pid is not None:
                self.queue.clear()  # forked (gunicorn worker): the parent writes its own
            self.pid = os.getpid()
            self.thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self.thread.start()
            if not self._exit_registered:
                self._exit_registered = True
                atexit.register(self.flush)  # a worker that stops writes what it holds

    def _run(self):
        while True:
            self.wake.wait(self.flush_interval)
            self.wake.clear()
            self.flush()
            self.housekeeping()

    def flush(self) -> int:
        """Write everything queued so far; returns how many items were written (the rest
        counted lost) once they are."""
        with self.write_lock:
            batch = []
            queue = self.queue
            for _ in range(len(queue)):
                batch.append(queue.popleft())
            if not batch:
                return 0
            step = self.max_batch or len(batch)
            return sum(self.write_now(batch[i : i + step]) for i in range(0, len(batch), step))

    def write_now(self, items: list) -> int:
        """Write items in the caller's thread, turning any failure into counted,
        rate-limited-logged losses; returns how many were written."""
        if self.losses.paused():
            self.losses.lost(count=len(items))
            return 0
        try:
            self.write(items)
        except (redis.RedisError, OSError) as exc:
            self.losses.lost(exc, count=len(items))
            return 0
        except Exception as exc:  # a bug here must never reach a request
            self.logger.exception("%s: writing a batch failed", self.name)
            self.losses.lost(exc, count=len(items))
            return 0
        return len(items)

    def pending(self) -> int:
        return len(self.queue)


_published: dict[str, Batcher] = {}


def publish(batcher: Batcher) -> Batcher:
    """Make a process-wide batcher's losses visible through `losses()`."""
    _published[batcher.name] = batcher
    return batcher


def losses() -> dict[str, int]:
    """{batcher name: items this process could not record} of every published batcher."""
    return {name: batcher.losses.total for name, batcher in _published.items()}
