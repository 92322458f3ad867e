"""The connection factory against the real Redis Stack."""

import os

import pytest
import redis

from config import redis_stores
from config.redis_stores import STORES, get_pool, get_redis


def test_each_store_is_its_own_db_on_the_server(redis_settings):
    for db, store in enumerate(STORES):
        client = get_redis(store)
        assert client.connection_pool.connection_kwargs["db"] == db
        client.set("which-store", store)
    for store in STORES:
        assert get_redis(store).get("which-store") == store
    get_redis("search").delete("which-store")


def test_one_pool_per_store_with_the_planned_limits():
    assert get_redis("analytics").connection_pool is get_redis("analytics").connection_pool
    assert get_pool("analytics") is not get_pool("metrics")
    pool = get_pool("operations")
    assert pool.max_connections == 20
    assert pool.connection_kwargs["retry_on_timeout"] is True
    assert pool.connection_kwargs["health_check_interval"] == 30


def test_password_is_required_and_used(redis_server):
    anonymous = redis.Redis(port=redis_server.port, socket_connect_timeout=1)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    assert get_redis("search").ping() is True


def test_unknown_store_is_an_error():
    with pytest.raises(redis_stores.UnknownStore):
        get_redis("nonsense")


def test_pools_are_rebuilt_after_fork(monkeypatch):
    before = get_pool("events")
    monkeypatch.setattr(redis_stores, "_pools_pid", os.getpid() + 1)
    after = get_pool("events")
    assert after is not before
    assert get_redis("events").ping()


def test_rediss_urls_build_tls_connections(settings):
    settings.REDIS_URLS = {**settings.REDIS_URLS, "metrics": "rediss://:pw@127.0.0.1:6390/4"}
    pool = get_pool("metrics")
    assert pool.connection_class is redis.SSLConnection
    assert pool.connection_kwargs["password"] == "pw"
