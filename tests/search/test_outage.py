"""With Redis down the search page answers 503 with a friendly page, and recovers."""


def test_search_page_503_then_recovers(client, stoppable_server, settings):
    from django.core.management import call_command

    from tests.conftest import cache_settings

    settings.CACHES = cache_settings(settings.REDIS_URLS["cache"])  # the cache goes down too
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
