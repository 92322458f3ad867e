"""With Redis down the search page answers 503 with a friendly page, and recovers."""

import pytest

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import reset_pools
from tests.conftest import cache_settings, store_urls


@pytest.fixture
def stoppable_server(tmp_path, settings):
    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "redis")
    server.start()
    settings.REDIS_URLS = store_urls(server.port, password="")
    settings.CACHES = cache_settings(settings.REDIS_URLS["cache"])
    yield server
    server.stop(save=False)
    reset_pools()


def test_search_page_503_then_recovers(client, stoppable_server):
    from django.core.management import call_command

    call_command("create_index", verbosity=0)
    assert client.get("/", {"q": "anything"}).status_code == 200
    stoppable_server.stop(save=False)
    page = client.get("/", {"q": "anything"})
    assert page.status_code == 503
    assert "right back" in page.content.decode()
    assert "Traceback" not in page.content.decode()
    api = client.get("/api/search", {"q": "anything"})
    assert api.status_code == 503 and "unavailable" in api.json()["error"]
    assert client.get("/api/search/suggest", {"q": "anything"}).status_code == 503
    stoppable_server.start()
    assert client.get("/", {"q": "anything"}).status_code == 200
