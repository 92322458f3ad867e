"""`/health/redis` against the real server, up and down."""

import pytest

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import reset_pools
from tests.conftest import store_urls


def test_healthy_with_a_timestamp_while_redis_is_up(client):
    response = client.get("/health/redis")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["timestamp"].startswith("20")


def test_every_store_is_up_with_its_latency(client):
    services = client.get("/health/redis").json()["services"]
    assert set(services) == {
        "search", "analytics", "operations", "cache", "metrics", "events",
    }  # fmt: skip
    for service in services.values():
        assert service["status"] == "up"
        assert service["latency_ms"] >= 0


def test_the_modules_the_app_needs_are_listed(client):
    assert {"search", "timeseries"} <= set(client.get("/health/redis").json()["modules"])


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


def test_healthy_again_once_redis_is_back_without_a_restart(client, stoppable_server):
    stoppable_server.stop(save=False)
    assert client.get("/health/redis").status_code == 503
    stoppable_server.start()
    assert client.get("/health/redis").status_code == 200


def test_unhealthy_without_the_search_module(client, settings, tmp_path):
    """A plain Redis (no modules) answers PING but is not enough."""
    from config import embedded_redis

    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "plain")
    original = server.write_runtime_conf

    def without_modules():
        original()
        lines = server.runtime_conf.read_text().splitlines()
        server.runtime_conf.write_text(
            "\n".join(line for line in lines if not line.startswith("loadmodule")) + "\n"
        )

    server.write_runtime_conf = without_modules
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
