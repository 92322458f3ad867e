"""Several web hosts: each host's name for its own series, and which one evaluates.

A collector runs on every web host. Each writes its own CPU and memory series; only the
holder of the evaluator lease (a Redis lock with an expiry, renewed every pass and
released on stop) evaluates the alert rules and writes the shared figures, so an alert
fires once however many hosts run. A holder that dies leaves the lease to expire; the
next collector to pass then takes it.
"""

import contextlib
import re
import socket
import uuid

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import LockNotOwnedError, RedisError

from config.redis_stores import get_redis
from operations.keys import EVALUATOR_LOCK_KEY

# A host's name goes into keys and TS labels: letters, digits, dot, dash, underscore.
HOST_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
LEASE_PASSES = 3  # a lease outlives this many missed passes
LEASE_MIN_SECONDS = 5.0


def metrics_host() -> str:
    """This host's name in its series: METRICS_HOST, else the machine's host name."""
    configured = environ.Env().str("METRICS_HOST", default="").strip()
    if configured:
        if not HOST_NAME.fullmatch(configured):
            raise ImproperlyConfigured(
                "METRICS_HOST: 1 to 64 letters, digits, dots, dashes or underscores"
            )
        return configured
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64]
    return name or "localhost"


def lease_seconds(interval_seconds: float | None = None) -> float:
    """How long a lease lasts without renewal, for collectors passing every interval."""
    interval = interval_seconds or settings.OPERATIONS_COLLECT_INTERVAL
    return max(LEASE_PASSES * interval, LEASE_MIN_SECONDS)


class EvaluatorLease:
    """This collector's claim to evaluate: redis-py's Lock (SET NX PX), non-blocking."""

    def __init__(self, host: str, seconds: float):
        self.host = host
        self.seconds = seconds
        self.lock = None
        self.taken = False  # the last hold() took the lease (rather than renewing it)

    def _lock(self):
        if self.lock is None:
            self.lock = get_redis("operations").lock(
                EVALUATOR_LOCK_KEY, timeout=self.seconds, blocking=False, thread_local=False
            )
        return self.lock

    def hold(self) -> bool:
        """Renew the lease if this collector holds it, else try to take it; True while
        this collector is the evaluator."""
        lock = self._lock()
        self.taken = False
        if lock.local.token is not None:
            try:
                return lock.reacquire()
            except LockNotOwnedError:
                lock.local.token = None  # expired (maybe held by another since), or flushed
        self.taken = lock.acquire(blocking=False, token=f"{self.host}:{uuid.uuid4().hex}")
        return self.taken

    def release(self) -> None:
        """Give the lease up at once (on stop), so another host need not wait for it."""
        if self.lock is None or self.lock.local.token is None:
            return
        # Expired, taken by another, or Redis is down: the expiry frees it anyway.
        with contextlib.suppress(RedisError):
            self.lock.release()


def evaluator_host() -> str | None:
    """The host of the collector holding the lease, None when none does."""
    token = get_redis("operations").get(EVALUATOR_LOCK_KEY)
    return token.rpartition(":")[0] if token else None
