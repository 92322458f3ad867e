"""Request figures off the request path: the middleware queues, a thread writes.

`recorder` is this process's telemetry batcher for request figures: queueing costs the
request microseconds, and its thread sends the queue every 50 ms as one pipeline
(counts summed per interval), so a crash loses at most that interval.
"""

import logging
import time

import redis

from operations import metrics_store
from telemetry import batcher

logger = logging.getLogger(__name__)


def refused_writes(results: list | None) -> list:
    """The replies of a pipeline in which Redis refused to write: out of memory under
    maxmemory (only keys with a TTL are evictable), a read-only replica, writes stopped
    after a failed snapshot (MISCONF) or for want of replicas (min-replicas-to-write)."""
    return [
        r for r in results or ()
        if isinstance(r, redis.OutOfMemoryError | redis.ReadOnlyError)
        or (isinstance(r, redis.ResponseError) and str(r).startswith(("MISCONF", "NOREPLICAS")))
    ]  # fmt: skip


def write_requests(samples: list[tuple[int, float, bool]]) -> None:
    """Write request figures; raises when Redis is unreachable or refuses the writes."""
    refused = refused_writes(metrics_store.record_requests(samples))
    if refused:
        raise refused[0]


class RequestRecorder(batcher.Batcher):
    """Request figures, (ended_ms, duration_ms, is_error), queued for the writer thread.
    A bounded queue: during a Redis outage figures are counted lost, memory does not grow."""

    def __init__(self, flush_interval: float = 0.05, max_queue: int = 100_000) -> None:
        super().__init__(
            "request_metrics",
            logger,
            flush_interval=flush_interval,
            max_queued=max_queue,
            what="request metrics",
            thread_name="request-metrics-writer",
        )

    def record(self, duration_ms: float, is_error: bool, now_ms: int | None = None) -> None:
        now_ms = int(now_ms if now_ms is not None else time.time() * 1000)
        self.submit((now_ms, duration_ms, is_error))

    def write(self, samples):
        write_requests(samples)


recorder = batcher.publish(RequestRecorder())
