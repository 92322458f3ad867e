"""A Redis outage under the real server, and the recovery, without restarting anything.

The app runs as `manage.py serve` runs it (tests/reliability/live.py), pointed at a Redis
Stack this test starts and stops.

With Redis stopped: the search page answers 503 with the friendly page, pages that need
no data still answer (tracking fails open), /health/redis answers 503, and the collector
stays up and logs the failure. With Redis started again on the same port and data
directory: search, health, the collector and page-view tracking all come back by
themselves. Waits are bounded polls, never sleeps.
"""

import json
import time

import pytest

from tests.conftest import poll
from tests.reliability.live import MOVIE_TITLE, Live, served

pytestmark = pytest.mark.slow

SEARCH = "/?q=lighthouse"


@pytest.fixture(scope="module")
def shared_live(tmp_path_factory):
    """One served app for this module's tests (starting one costs far more than a test);
    each test finds it serving normally."""
    with served(Live(tmp_path_factory.mktemp("live")), pytest.MonkeyPatch()) as app:
        yield app


@pytest.fixture
def outage(shared_live):
    """Redis stopped (its data kept in the same directory) for the test; afterwards started
    again if the test did not, and the app serving again, the collector included (it logs
    a failure only when it starts failing, so the next outage must find it recovered).
    `log_mark`: the log's length when the outage began."""
    app = shared_live
    app.log_mark = len(app.log_text())
    app.redis.stop(save=True)
    yield app
    restarted_ms = int(time.time() * 1000)
    if app.redis.status() != "running":
        app.redis.start()
    poll(lambda: app.get("/health/redis")[0] == 200, 30, "health 200 again")
    poll(lambda: app.newest_cpu_sample_ms() > restarted_ms, 30, "a collector sample again")
    if "metrics collection failed" in log_since_outage(app):
        poll(lambda: "metrics collection recovered" in log_since_outage(app), 30,
             "the collector's recovery logged")  # fmt: skip


def log_since_outage(app):
    return app.log_text()[app.log_mark :]


def found_the_seeded_movie(app):
    status, body = app.get(SEARCH)
    return status == 200 and MOVIE_TITLE in body.replace("<mark>", "").replace("</mark>", "")


def test_serving_normally_search_finds_the_seeded_movie(shared_live):
    assert found_the_seeded_movie(shared_live)


def test_serving_normally_the_collector_writes_samples(shared_live):
    poll(shared_live.newest_cpu_sample_ms, 20, "a first collector sample")
    collector = shared_live.collector()
    assert collector is not None and collector.is_running()


def test_during_an_outage_the_search_page_is_the_friendly_503(outage):
    status, body = outage.get(SEARCH)
    assert status == 503
    assert "We'll be right back" in body and "Traceback" not in body


def test_during_an_outage_the_search_api_answers_503_json(outage):
    status, body = outage.get("/api/search?q=lighthouse")
    assert status == 503 and "unavailable" in json.loads(body)["error"]


def test_during_an_outage_health_answers_503_unhealthy(outage):
    status, body = outage.get("/health/redis")
    assert status == 503 and json.loads(body)["status"] == "unhealthy"


def test_during_an_outage_a_page_that_needs_no_data_still_answers(outage):
    """Tracking its view fails open."""
    status, body = outage.get("/accounts/login/")
    assert status == 200 and 'name="password"' in body


def test_during_an_outage_the_collector_logs_it_and_keeps_running(outage):
    started = outage.children[0].pid
    poll(lambda: "metrics collection failed" in log_since_outage(outage), 20,
         "the collector logs it")  # fmt: skip
    assert outage.collector() is not None and outage.collector().pid == started


def test_after_redis_restarts_search_answers_with_results_again(outage):
    outage.redis.start()  # same port, same data directory
    poll(lambda: found_the_seeded_movie(outage), 30, "search answering 200 with results again")


def test_after_redis_restarts_health_and_the_collector_come_back(outage):
    started = outage.children[0].pid
    outage.redis.start()
    started_ms = int(time.time() * 1000)
    poll(lambda: outage.get("/health/redis")[0] == 200, 30, "health 200 again")
    poll(lambda: outage.newest_cpu_sample_ms() > started_ms, 30, "a new collector sample")
    poll(lambda: "metrics collection recovered" in log_since_outage(outage), 10,
         "recovery logged")  # fmt: skip
    assert outage.collector().pid == started  # the same process, never restarted


def test_after_redis_restarts_every_page_view_is_counted_again(outage):
    outage.redis.start()
    # Once the recorder writes again (it pauses a few seconds after a failure, dropping
    # what comes meanwhile), every view is counted.
    before = outage.views_today("login")

    def one_counted():
        outage.get("/accounts/login/")
        return outage.views_today("login") > before

    poll(one_counted, 30, "a page view counted after the recovery")
    assert outage.views_today("movie") == 0  # a page no test of this module opens before
    for _ in range(3):
        assert outage.get("/movies/1/")[0] == 200
    poll(lambda: outage.views_today("movie") >= 3, 10, "three movie page views counted")
    assert outage.views_today("movie") == 3


def test_an_outage_leaves_no_traceback_and_gunicorn_running(outage):
    outage.get(SEARCH)  # a request that meets the outage
    outage.redis.start()
    poll(lambda: outage.get("/health/redis")[0] == 200, 30, "health 200 again")
    log = outage.log_text()  # the whole log: no test's outage left a traceback
    assert "Traceback" not in log, log[-3000:]
    assert outage.gunicorn.poll() is None  # gunicorn never stopped
