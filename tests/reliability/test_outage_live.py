"""A Redis outage under the real server, and the recovery, without restarting anything.

The app runs as `manage.py serve` runs it: serve's own gunicorn and collector command
lines (its `start_gunicorn` and `start_background_processes`), pointed at a Redis Stack
this test starts and stops (REDIS_EMBEDDED=false). Serve's one-off preparation is done
here in less time: migrations, and static files without the admin's (never requested
here; compressing them would take most of the test's time).

With Redis stopped: the search page answers 503 with the friendly page, pages that need
no data still answer (tracking fails open), /health/redis answers 503, and the collector
stays up and logs the failure. With Redis started again on the same port and data
directory: search, health, the collector and page-view tracking all come back by
themselves. Waits are bounded polls, never sleeps.
"""

import contextlib
import gzip
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest
from django.core.management import call_command
from django.test import override_settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.embedded_redis import EmbeddedRedis, free_port
from config.management.commands import serve
from config.settings import BASE_DIR
from tests.conftest import store_urls
from tests.insights.conftest import BROWSER_UA

pytestmark = pytest.mark.slow

SEARCH = "/?q=lighthouse"
MOVIE_TITLE = "The Lighthouse Keeper"


class QuickStopRedis(EmbeddedRedis):
    def client(self, **kwargs):
        # SHUTDOWN closes the connection; redis-py's default retry would then spend
        # seconds reconnecting to a server that is gone.
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        return super().client(**kwargs)


def poll(check, timeout, what):
    """Call `check` until it returns something truthy; fail naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"not within {timeout} s: {what} (last: {last!r})")


class Live:
    """The served app: its URL, its log, its Redis, and readers of the Redis stores."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis = QuickStopRedis(
            port=free_port(), data_dir=workdir / "redis", password=secrets.token_urlsafe(12)
        )
        self.log_path = workdir / "app.log"
        self.log = None
        self.env = None
        self.children = []

    def environment(self):
        if self.env is not None:
            return self.env
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DJANGO_"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "HOST": "127.0.0.1", "PORT": str(self.port),
            # One worker, so "the recorder writes again" is one fact, not one per worker
            # (each pauses for a few seconds after its own last failure).
            "WEB_WORKERS": "1", "WEB_THREADS": "4",
            "SECRET_KEY": secrets.token_urlsafe(40), "DEBUG": "false",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
            "STATIC_ROOT": str(self.workdir / "static"),
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.redis.port),
            "REDIS_PASSWORD": self.redis.password,
            "REDIS_EMBEDDED": "false",  # this test starts and stops Redis itself
            "OPERATIONS_COLLECT_INTERVAL": "0.5",
            "INSIGHTS_TRACKING_ENABLED": "true", "INSIGHTS_RECORD_IN_BACKGROUND": "true",
            "XDG_RUNTIME_DIR": str(self.workdir),  # gunicorn's control socket
        })  # fmt: skip
        self.env = env
        return env

    def stores(self):
        """Read the served app's Redis from this process."""
        return override_settings(REDIS_URLS=store_urls(self.redis.port, self.redis.password))

    def seed(self):
        """Three movies, indexed; a non-empty index also stops serve importing the
        bundled catalogue."""
        movies = [
            {"id": 1, "title": MOVIE_TITLE, "year": 1950, "genre": "drama",
             "plot": "A keeper tends the lighthouse through a storm."},
            {"id": 2, "title": "Harbour Lights", "year": 1961, "genre": "comedy",
             "plot": "A lighthouse inspector falls for the town."},
            {"id": 3, "title": "Inland", "year": 1972, "genre": "western", "plot": "Dust."},
        ]  # fmt: skip
        path = self.workdir / "movies.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.writelines(json.dumps(m) + "\n" for m in movies)
        from search import store

        with self.stores():
            call_command("create_index", verbosity=0)
            call_command("import_movies", str(path), verbosity=0)
            store.wait_until_indexed(store.live_index_name())

    def run(self, *args):
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped by the test, not by a Ctrl-C to pytest
        )

    def start(self, monkeypatch):
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        steps = [self.run("migrate", "--noinput", "-v0"),  # the collector reads thresholds
                 self.run("collectstatic", "--noinput", "-v0", "--ignore", "admin")]  # fmt: skip
        for step in steps:
            assert step.wait(timeout=180) == 0, self.log_text()[-3000:]

        class Launcher:  # serve's Popen calls, with this test's environment and log
            @staticmethod
            def Popen(command, **kwargs):
                return subprocess.Popen(
                    command, **kwargs, env=self.environment(), stdout=self.log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip

        command = serve.Command()
        # serve's defaults come from this process's environment: give every one here.
        options = serve.serve_options(
            host="127.0.0.1",
            port=self.port,
            workers=int(self.env["WEB_WORKERS"]),
            threads=int(self.env["WEB_THREADS"]),
        )
        with monkeypatch.context() as patch:
            patch.setattr(serve, "subprocess", Launcher)
            self.children = command.start_background_processes()
            self.children.append(command.start_gunicorn(options))
        self.gunicorn = self.children[-1]

        def ready():
            for child in self.children:
                if child.poll() is not None:
                    pytest.fail(f"{child.args} exited:\n{self.log_text()[-3000:]}")
            return self.get("/health/redis")[0] == 200

        poll(ready, 120, "gunicorn answering /health/redis")

    def stop(self):
        serve.Command().stop_children(self.children)  # SIGTERM, then kill after 15 s
        if self.log is not None:
            self.log.close()
        self.redis.stop(save=False)

    def get(self, path, **headers):
        request = urllib.request.Request(  # noqa: S310 - our own http:// URL
            self.url + path, headers={"User-Agent": BROWSER_UA, **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError as error:  # not listening yet
            return None, str(error)

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def collector(self):
        """The collector process, or None once it has exited."""
        process = self.children[0]
        assert "collect_metrics" in process.args
        return psutil.Process(process.pid) if process.poll() is None else None

    def newest_cpu_sample_ms(self):
        from operations import metrics_store

        with self.stores():
            latest = metrics_store.latest_values()["cpu_usage"]
        return latest[0] if latest else 0

    def views_today(self, page):
        from insights import store

        with self.stores():
            today = store.now_ms() // 86_400_000 * 86_400_000
            return store.page_views_by_day([today])[page]


@contextlib.contextmanager
def served_app(workdir, monkeypatch):
    """The app served against its own Redis Stack, seeded; stopped on leaving."""
    app = Live(workdir)
    app.redis.start()
    try:
        app.seed()
        app.start(monkeypatch)
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def shared_live(tmp_path_factory):
    """One served app for this module's tests (starting one costs far more than a test);
    each test finds it serving normally."""
    with served_app(tmp_path_factory.mktemp("live"), pytest.MonkeyPatch()) as app:
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
