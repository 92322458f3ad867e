"""The one place that builds Redis clients.

One connection pool per store per process (docs/CONFIGURATION.md, stores); app code asks for a
store by name and never builds its own client. Pools are rebuilt after a fork and when
tests change the store URLs.
"""

import os
import threading

import redis
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

STORES = ("search", "analytics", "operations", "cache", "metrics", "events")

_pools: dict[str, redis.ConnectionPool] = {}
_clients: dict[str, redis.Redis] = {}
_pools_pid = os.getpid()
_lock = threading.Lock()


class UnknownStore(KeyError):
    pass


def store_url(store: str) -> str:
    try:
        return settings.REDIS_URLS[store]
    except KeyError:
        raise UnknownStore(store) from None


def _build_pool(store: str) -> redis.ConnectionPool:
    options = dict(settings.REDIS_POOL_OPTIONS)
    # A short retry: enough to ride over a reconnect, short enough that an outage
    # is reported in seconds instead of hanging a request.
    options["retry"] = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2)
    # Blocking: a command that finds every connection busy waits up to `timeout` for one
    # instead of failing at once with "Too many connections".
    return redis.BlockingConnectionPool.from_url(
        store_url(store), decode_responses=True, protocol=2, **options
    )


def get_pool(store: str) -> redis.ConnectionPool:
    global _pools_pid
    pid = os.getpid()
    with _lock:
        if pid != _pools_pid:  # forked (gunicorn worker): never share sockets
            _pools.clear()
            _pools_pid = pid
        pool = _pools.get(store)
        if pool is None:
            pool = _pools[store] = _build_pool(store)
        return pool


def get_redis(store: str) -> redis.Redis:
    """The client of one logical store, made once per pool: building a redis.Redis costs
    about as much as a round trip, and a client is safe to share between threads."""
    pool = get_pool(store)
    client = _clients.get(store)
    if client is None or client.connection_pool is not pool:
        client = _clients[store] = redis.Redis(connection_pool=pool)
    return client


def reset_pools() -> None:
    with _lock:
        for pool in _pools.values():
            pool.disconnect()
        _pools.clear()


@receiver(setting_changed)
def _settings_changed(setting, **kwargs):
    if setting in ("REDIS_URLS", "REDIS_POOL_OPTIONS"):
        reset_pools()
