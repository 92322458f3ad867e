"""`/health/redis` against the real server, up and down."""

import pytest

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import reset_pools
from tests.conftest import store_urls


def test_healthy_with_every_store_and_the_modules(client):
    response = client.get("/health/redis")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["services"]) == {
        "search", "analytics", "operations", "cache", "metrics", "events",
    }  # fmt: skip
    for service in body["services"].values():
        assert service["status"] == "up"
        assert service["latency_ms"] >= 0
    assert {"search", "timeseries"} <= set(body["modules"])
    assert body["timestamp"].startswith("20")


def test_unhealthy_with_the_error_once_redis_stops(client, stoppable_server):
    assert client.get("/health/redis").status_code == 200
    stoppable_server.stop(save=False)
    response = client.get("/health/redis")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["services"]["search"]["status"] == "down"
    assert "Connection" in body["services"]["search"]["error"]
    assert body["modules"] == []
    stoppable_server.start()
    assert client.get("/health/redis").status_code == 200  # recovers without a restart


def test_unhealthy_without_the_search_module(client, settings, tmp_path):
    """A plain Redis (no modules) answers PING but is not enough."""
    from config import embedded_redis

    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "plain")
    original = server._write_runtime_conf

    def without_modules():
        original()
        lines = server.runtime_conf.read_text().splitlines()
        server.runtime_conf.write_text(
            "\n".join(line for line in lines if not line.startswith("loadmodule")) + "\n"
        )

    server._write_runtime_conf = without_modules
    try:
        with pytest.raises(embedded_redis.EmbeddedRedisError, match="lacks modules"):
            server.start(timeout=10)
        settings.REDIS_URLS = store_urls(server.port, server.password)
        response = client.get("/health/redis")
        assert response.status_code == 503
        assert "search" in response.json()["error"]
    finally:
        server.stop(save=False)
        reset_pools()
