"""With the analytics store down: pages still render, losses are counted and logged at
most once a minute, the dashboard says so inside its layout, the APIs answer 503."""

import logging

import pytest

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import reset_pools
from insights import middleware
from tests.conftest import store_urls

from .conftest import visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]


@pytest.fixture
def stoppable_server(tmp_path, settings):
    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "redis")
    server.start()
    urls = store_urls(server.port, server.password)
    # Only the analytics store goes down; sessions and the rest stay on the suite's server.
    settings.REDIS_URLS = {**settings.REDIS_URLS, "analytics": urls["analytics"]}
    yield server
    server.stop(save=False)
    reset_pools()


def test_pages_render_and_losses_are_counted_while_the_store_is_down(
    client, staff_client, stoppable_server, caplog
):
    visit(client, "/")
    assert middleware.recorder.losses.total == 0
    stoppable_server.stop(save=False)
    caplog.set_level(logging.WARNING, logger="insights.middleware")
    for path in ("/", "/movies/1/", "/search/?q=x", "/api/search?q=y"):
        response = visit(client, path)
        assert response.status_code == 200, path
    assert middleware.recorder.losses.total == 4
    warnings = [r for r in caplog.records if r.name == "insights.middleware"]
    assert len(warnings) == 1  # logged at most once a minute
    assert "analytics not recorded" in warnings[0].getMessage()
    assert "Connection" in warnings[0].getMessage()
    assert not any(r.exc_info for r in warnings)  # no traceback

    page = staff_client.get("/insights/?range=7d")
    assert page.status_code == 200
    assert b"Analytics store unavailable" in page.content
    assert b"Traceback" not in page.content
    api = staff_client.get("/api/analytics/page-views?range=7d")
    assert api.status_code == 503
    assert "unavailable" in api.json()["error"]
    assert staff_client.get("/insights/export/pages.csv").status_code == 503

    stoppable_server.start()
    middleware.recorder.losses.paused_until = 0  # skip the pause after a failure
    visit(client, "/")
    # recording resumes by itself: the view before the outage (kept by the AOF) and this
    # one; the four during the outage were lost, as counted
    assert staff_client.get("/api/analytics/page-views?range=24h").json()["total"] == 2


def test_a_bug_in_tracking_never_fails_the_page(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(middleware.store, "record_hits", broken)
    response = visit(client, "/")
    assert response.status_code == 200
    assert middleware.recorder.losses.total == 1


def test_background_recording_batches_and_fails_open(client, staff_client, settings):
    settings.INSIGHTS_RECORD_IN_BACKGROUND = True
    for n in range(30):
        visit(client, f"/movies/{n}/")
    visit(client, "/search/?q=heat&n=2")
    middleware.recorder.flush()  # what the thread does every quarter second
    assert middleware.recorder.pending() == 0
    body = staff_client.get("/api/analytics/page-views?range=24h").json()
    losses = middleware.recorder.losses
    assert body["total"] == 31, (losses.total, losses.last_error)
    assert body["top_pages"] == [
        {"page": "movie-detail", "views": 30},
        {"page": "search", "views": 1},
    ]
    feed = staff_client.get("/api/analytics/page-activities?range=realtime&limit=2").json()
    assert feed["events"][0]["search"] == "heat"


def test_background_recording_counts_losses_when_the_store_is_down(
    client, settings, stoppable_server
):
    settings.INSIGHTS_RECORD_IN_BACKGROUND = True
    visit(client, "/")  # the salt is read in the request: then it is cached for the day
    middleware.recorder.flush()
    stoppable_server.stop(save=False)
    for _ in range(5):
        assert visit(client, "/").status_code == 200
    middleware.recorder.flush()
    assert middleware.recorder.losses.total == 5
