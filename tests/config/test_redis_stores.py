"""The connection factory against the real Redis Stack."""

import os
import threading

import pytest
import redis

from config import redis_stores
from config.middleware import is_redis_outage
from config.redis_stores import STORES, get_pool, get_redis


def test_each_store_is_its_own_db_on_the_server(redis_settings):
    for db, store in enumerate(STORES):
        client = get_redis(store)
        assert client.connection_pool.connection_kwargs["db"] == db
        client.set("which-store", store)
    for store in STORES:
        assert get_redis(store).get("which-store") == store
    get_redis("search").delete("which-store")


def test_clients_of_a_store_share_its_one_pool():
    assert get_redis("analytics").connection_pool is get_redis("analytics").connection_pool


def test_a_store_has_one_client_until_its_pool_is_rebuilt(settings):
    client = get_redis("analytics")
    assert get_redis("analytics") is client
    settings.REDIS_POOL_OPTIONS = {**settings.REDIS_POOL_OPTIONS, "max_connections": 7}
    rebuilt = get_redis("analytics")
    assert rebuilt is not client and rebuilt.connection_pool.max_connections == 7


def test_each_store_has_a_pool_of_its_own():
    assert get_pool("analytics") is not get_pool("metrics")


def test_pools_take_their_limits_from_the_settings():
    pool = get_pool("operations")
    assert pool.max_connections == 20
    assert pool.connection_kwargs["retry_on_timeout"] is True
    assert pool.connection_kwargs["health_check_interval"] == 30


def test_a_client_without_the_password_is_refused(redis_server):
    # No retry: redis-py retries a refused password (a ConnectionError) for seconds.
    anonymous = redis.Redis(port=redis_server.port, socket_connect_timeout=1, retry=None)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()


def test_store_clients_use_the_password():
    assert get_redis("search").ping() is True


def test_unknown_store_is_an_error():
    with pytest.raises(redis_stores.UnknownStore):
        get_redis("nonsense")


def test_a_forked_process_builds_pools_of_its_own():
    """As a gunicorn worker does: it must never share its parent's sockets."""
    before = get_pool("events")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child answers through the pipe, and never returns to pytest
        try:
            answered = get_pool("events") is not before and get_redis("events").ping()
            os.write(write, b"1" if answered else b"0")
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as child:
        answer = child.read()
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_rediss_urls_build_tls_connections(settings):
    settings.REDIS_URLS = {**settings.REDIS_URLS, "metrics": "rediss://:pw@127.0.0.1:6390/4"}
    pool = get_pool("metrics")
    assert pool.connection_class is redis.SSLConnection
    assert pool.connection_kwargs["password"] == "pw"


def test_more_concurrent_commands_than_connections_wait_for_one(settings):
    """5 commands at once on a pool of 2: each waits for a free connection, none fails.
    Each command holds its connection (BLPOP on an empty list) so that they overlap."""
    settings.REDIS_POOL_OPTIONS = {
        **settings.REDIS_POOL_OPTIONS, "max_connections": 2, "timeout": 60,
    }  # fmt: skip
    client = get_redis("events")
    start = threading.Barrier(5)
    answers, errors = [], []

    def command():
        start.wait()
        try:
            answers.append(client.blpop(["no-such-list"], timeout=0.2))
        except redis.RedisError as error:
            errors.append(error)

    threads = [threading.Thread(target=command) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert answers == [None] * 5


def test_a_command_that_finds_no_free_connection_in_time_is_an_outage(settings):
    settings.REDIS_POOL_OPTIONS = {
        **settings.REDIS_POOL_OPTIONS, "max_connections": 1, "timeout": 0.1,
    }  # fmt: skip
    pool = get_pool("events")
    held = pool.get_connection()
    try:
        with pytest.raises(redis.ConnectionError) as failure:
            get_redis("events").ping()
        assert is_redis_outage(failure.value)  # answered 503, as any outage
    finally:
        pool.release(held)


def test_the_cache_pool_waits_for_a_free_connection_too():
    from django.core.cache import cache

    pool = cache.client.get_client().connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool)
    assert pool.max_connections == 20
