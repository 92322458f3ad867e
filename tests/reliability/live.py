"""The app served as `manage.py serve` serves it, for the live reliability tests: serve's
own gunicorn and collector command lines (its `start_gunicorn` and
`start_background_processes`), pointed at a Redis this test process starts and stops
(REDIS_EMBEDDED=false). Serve's one-off preparation is done here in less time:
migrations, and static files without the admin's (never requested here; compressing
them would take most of a test's time). Waits are bounded polls, never sleeps."""

import contextlib
import gzip
import json
import os
import secrets
import subprocess
import sys
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
from tests.conftest import poll, store_urls
from tests.insights.conftest import BROWSER_UA

MOVIE_TITLE = "The Lighthouse Keeper"


class QuickStopRedis(EmbeddedRedis):
    def client(self, **kwargs):
        # SHUTDOWN closes the connection; redis-py's default retry would then spend
        # seconds reconnecting to a server that is gone.
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        return super().client(**kwargs)


class Live:
    """The served app: its URL, its log, its Redis, and readers of the Redis stores."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis = self.make_redis()
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
            "REDIS_EMBEDDED": "false",  # this test starts and stops Redis itself
            **self.redis_environment(),
            "OPERATIONS_COLLECT_INTERVAL": "0.5",
            "INSIGHTS_TRACKING_ENABLED": "true", "INSIGHTS_RECORD_IN_BACKGROUND": "true",
            "XDG_RUNTIME_DIR": str(self.workdir),  # gunicorn's control socket
        })  # fmt: skip
        self.env = env
        return env

    def make_redis(self):
        return QuickStopRedis(
            port=free_port(), data_dir=self.workdir / "redis", password=secrets.token_urlsafe(12)
        )

    def redis_environment(self):
        """How the served app finds its Redis."""
        return {
            "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(self.redis.port),
            "REDIS_PASSWORD": self.redis.password,
        }  # fmt: skip

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
def served(app, monkeypatch):
    """`app` served against its own Redis, seeded; stopped on leaving."""
    app.redis.start()
    try:
        app.seed()
        app.start(monkeypatch)
        yield app
    finally:
        app.stop()
