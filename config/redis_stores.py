"""The one place that builds Redis clients.

One connection pool per store per process (docs/CONFIGURATION.md, stores); app code asks for a
store by name and never builds its own client. Pools are rebuilt after a fork and when
tests change the store URLs.

With REDIS_SENTINELS a store is a Sentinel group's DB: `get_redis` reaches the group's
primary (redis-py's `Sentinel.master_for`), `get_read_redis` its replicas
(`Sentinel.slave_for`: each new connection goes to the next healthy replica, the primary
when none answers). Both retry over a failover; without sentinels `get_read_redis` is
`get_redis`.
"""

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import (
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)

STORES = ("search", "analytics", "operations", "cache", "metrics", "events")

_pools: dict[tuple[str, bool], redis.ConnectionPool] = {}
_clients: dict[tuple[str, bool], redis.Redis] = {}
_sentinels: list[Sentinel] = []
_pools_pid = os.getpid()
_lock = threading.Lock()

# How long a Sentinel group's client keeps retrying: twice a failover measured from a
# killed primary to a write on the promoted replica (about 2.3 s with the embedded group).
FAILOVER_WINDOW_S = 5.0


class UnknownStore(KeyError):
    pass


def _short_retry() -> Retry:
    # Enough to ride over a reconnect, short enough that an outage is reported in seconds
    # instead of hanging a request.
    return Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)


class FailoverRetry(Retry):
    """Retries until `window` seconds after the outermost call's first failure. Each
    connection has its own copy (redis-py deep-copies it), so the reconnect inside a
    command's retry shares the command's window instead of starting one of its own. The
    window opens at the failure, not at the call: a command that waited out its socket
    timeout on a frozen node still gets its retry on the node the sentinels name."""

    def __init__(self, window: float | None = None) -> None:
        super().__init__(ExponentialBackoff(cap=0.5, base=0.05), retries=1000)
        self.window = FAILOVER_WINDOW_S if window is None else window
        self._deadline: float | None = None
        self._depth = 0

    def call_with_retry(
        self,
        do: Callable[[], Any],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        self._depth += 1
        if self._depth == 1:
            self._deadline = None
        try:
            self._backoff.reset()
            failures = 0
            while True:
                try:
                    return do()
                except self._supported_errors as error:
                    if is_retryable and not is_retryable(error):
                        raise
                    failures += 1
                    if self._deadline is None:
                        self._deadline = time.monotonic() + self.window
                    if with_failure_count:
                        fail(error, failures)
                    else:
                        fail(error)
                    pause = self._backoff.compute(failures)
                    if time.monotonic() + pause > self._deadline:
                        raise
                    time.sleep(pause)
        finally:
            self._depth -= 1


def _demoted(exc: redis.ResponseError) -> bool:
    """NOREPLICAS: a primary left without the replicas it needs to accept a write,
    typically an old primary cut off by a failover."""
    return str(exc).startswith("NOREPLICAS")


class FailoverConnection(SentinelManagedConnection):
    """redis-py's Sentinel connection (READONLY from a demoted primary is a reconnect),
    with NOREPLICAS a reconnect too, and every reconnect asking the sentinels where the
    primary (or a replica) is now."""

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        # redis-py's reconnect inside a command's retry (send_packed_command) comes here
        # and would dial the old address again; go through connect(), which asks the
        # sentinels. connect_to() calls back with retry_socket_connect=False.
        if retry_socket_connect and not self._sock:
            return self.connect()
        return super().connect_check_health(check_health, retry_socket_connect)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except redis.ResponseError as exc:
            if not (_demoted(exc) and self.connection_pool.is_master):
                raise
            self.disconnect()
            raise redis.ConnectionError(f"the primary refused a write: {exc}") from exc


class FailoverSSLConnection(FailoverConnection, SentinelManagedSSLConnection):
    pass


class SentinelBlockingPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """A Sentinel pool that waits up to `timeout` for a free connection, as the plain
    stores' pools do, with `FailoverConnection`s; django-redis builds the cache's too."""

    def __init__(self, service_name: str, sentinel_manager: Sentinel, **kwargs: object) -> None:
        given = kwargs.pop("connection_class", None)
        tls = kwargs.pop("ssl", False) or (
            isinstance(given, type) and issubclass(given, redis.SSLConnection)
        )
        kwargs["connection_class"] = FailoverSSLConnection if tls else FailoverConnection
        kwargs.setdefault("retry", FailoverRetry())
        super().__init__(service_name, sentinel_manager, **kwargs)


def store_url(store: str) -> str:
    try:
        return settings.REDIS_URLS[store]
    except KeyError:
        raise UnknownStore(store) from None


def _sentinel() -> Sentinel:
    """The process's one Sentinel manager (the sentinels' clients), made on first use."""
    if not _sentinels:
        _sentinels.append(
            Sentinel(
                settings.REDIS_SENTINELS, sentinel_kwargs=dict(settings.REDIS_SENTINEL_OPTIONS)
            )
        )
    return _sentinels[0]


def _group_pool(store: str, service: str, primary: bool) -> redis.ConnectionPool:
    options = dict(settings.REDIS_POOL_OPTIONS)
    if settings.REDIS_TLS:
        options["ssl"] = True
        if settings.REDIS_TLS_CA_CERT:
            options["ssl_ca_certs"] = settings.REDIS_TLS_CA_CERT
    if not primary:
        options["socket_timeout"] = settings.REDIS_REPLICA_READ_TIMEOUT
    make = _sentinel().master_for if primary else _sentinel().slave_for
    client = make(
        service,
        connection_pool_class=SentinelBlockingPool,
        db=settings.REDIS_STORE_DBS[store],
        password=settings.REDIS_PASSWORD or None,
        decode_responses=True,
        protocol=2,
        **options,
    )
    return client.connection_pool


def _build_pool(store: str, primary: bool) -> redis.ConnectionPool:
    if _reads_replicas(store):
        return _group_pool(store, settings.REDIS_SENTINEL_SERVICES[store], primary)
    options = dict(settings.REDIS_POOL_OPTIONS)
    options["retry"] = _short_retry()
    # Blocking: a command that finds every connection busy waits up to `timeout` for one
    # instead of failing at once with "Too many connections".
    return redis.BlockingConnectionPool.from_url(
        store_url(store), decode_responses=True, protocol=2, **options
    )


def _reads_replicas(store: str) -> bool:
    return bool(settings.REDIS_SENTINELS and settings.REDIS_SENTINEL_SERVICES.get(store))


def _pool(store: str, primary: bool) -> redis.ConnectionPool:
    global _pools_pid
    pid = os.getpid()
    with _lock:
        if pid != _pools_pid:  # forked (gunicorn worker): never share sockets
            _pools.clear()
            _sentinels.clear()
            _pools_pid = pid
        pool = _pools.get((store, primary))
        if pool is None:
            pool = _pools[store, primary] = _build_pool(store, primary)
        return pool


def get_pool(store: str) -> redis.ConnectionPool:
    """The pool of the store's primary (its only server without sentinels)."""
    return _pool(store, primary=True)


def _client(store: str, primary: bool) -> redis.Redis:
    """A client per pool: building a redis.Redis costs about as much as a round trip, and
    a client is safe to share between threads."""
    primary = primary or not _reads_replicas(store)  # no replicas: the primary's client
    pool = _pool(store, primary)
    client = _clients.get((store, primary))
    if client is None or client.connection_pool is not pool:
        client = _clients[store, primary] = redis.Redis(connection_pool=pool)
    return client


def get_redis(store: str) -> redis.Redis:
    """The client of one logical store's primary: every write goes through it."""
    return _client(store, primary=True)


def get_read_redis(store: str) -> redis.Redis:
    """A client for reads that may be a write behind (replication lag, about a
    millisecond idle): the group's replicas in turn, or `get_redis(store)`'s primary."""
    return _client(store, primary=False)


# In each store's DB: counts the confirmations asked for. WAIT confirms the writes of
# the connection it is sent on, and a write there orders after every earlier write of
# the replication stream, whichever connection made it.
CONFIRMATION_KEY = "replication:confirmations"
CONFIRM_TIMEOUT_MS = 1000


def confirm_replicated(store: str, timeout_ms: int | None = None) -> bool:
    """Wait until every replica connected to the store's primary has applied the writes
    made before this call (WAIT, at most `timeout_ms`, default CONFIRM_TIMEOUT_MS); True
    when they all have. For the writes that must not be lost with a primary that fails
    before replicating them. A single server has nothing to wait for: True. In a Sentinel
    group a primary without replicas confirms nothing: it may be one cut off by a
    failover, whose writes are dropped when it rejoins as a replica."""
    client = get_redis(store)
    try:
        replicas = int(client.info("replication").get("connected_slaves", 0))
        if not replicas:
            return not _reads_replicas(store)
        pipe = client.pipeline(transaction=False)
        pipe.incr(CONFIRMATION_KEY)
        pipe.execute_command("WAIT", replicas, timeout_ms or CONFIRM_TIMEOUT_MS)
        return int(pipe.execute()[-1]) >= replicas
    except redis.RedisError:  # the primary gone meanwhile: nothing is confirmed
        return False


def reset_pools() -> None:
    with _lock:
        for pool in _pools.values():
            pool.disconnect()
        _pools.clear()
        for sentinel in _sentinels:
            sentinel.close()
        _sentinels.clear()


@receiver(setting_changed)
def _settings_changed(setting, **kwargs):
    if setting in (
        "REDIS_URLS", "REDIS_POOL_OPTIONS", "REDIS_SENTINELS", "REDIS_SENTINEL_SERVICES",
        "REDIS_SENTINEL_OPTIONS", "REDIS_PASSWORD", "REDIS_REPLICA_READ_TIMEOUT",
    ):  # fmt: skip
        reset_pools()
