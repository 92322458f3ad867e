"""`manage.py serve`: the README's run command after installation.

Starts the embedded Redis Stack (unless the settings point elsewhere), prepares the
database and static files, then runs gunicorn in the foreground; Ctrl-C stops gunicorn
and then Redis, which saves its data for the next run. With REDIS_REPLICAS it keeps its
group running meanwhile, as a process manager would.
"""

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config import embedded_group, embedded_redis

BUNDLED_MOVIES = settings.BASE_DIR / "data" / "movies.jsonl.gz"
# gunicorn worker classes serve can run, and the entry point each needs. gevent is the
# default: a slow client costs it a greenlet, where gthread gives it a thread until its
# headers are complete (docs/DEPLOYMENT.md, "How `make run` serves slow clients").
APPLICATIONS = {
    "gevent": "config.wsgi:application",
    "gthread": "config.wsgi:application",
    "asgi": "config.asgi:application",
}
WORKER_CLASSES = tuple(APPLICATIONS)
DEFAULT_WORKER_CLASS = "gevent"
# How often serve looks for a process of its Redis group that died, to start it again.
SUPERVISE_EVERY_S = 2.0


def _whole_number(variable: str, least: int = 0) -> Callable[[str], int]:
    """An option's parser that names the environment variable its default comes from."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or number < least:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number from {least} (the option or {variable})"
            )
        return number

    return parse


def _worker_class(text: str) -> str:
    if text not in WORKER_CLASSES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not one of {', '.join(WORKER_CLASSES)} (the option or WEB_WORKER_CLASS)"
        )
    return text


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the product: embedded Redis Stack, migrations, gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        # String defaults from the environment go through each option's `type`, so a
        # bad PORT or WEB_* value is refused with the reason, as a bad option is.
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=_whole_number("PORT"),
                            default=os.environ.get("PORT", "8000"))  # fmt: skip
        parser.add_argument("--workers", type=_whole_number("WEB_WORKERS", least=1),
                            default=os.environ.get("WEB_WORKERS", "2"))  # fmt: skip
        parser.add_argument("--threads", type=_whole_number("WEB_THREADS", least=1),
                            default=os.environ.get("WEB_THREADS", "8"))  # fmt: skip
        parser.add_argument(
            "--worker-class",
            type=_worker_class,
            default=os.environ.get("WEB_WORKER_CLASS", DEFAULT_WORKER_CLASS),
            help=f"one of {', '.join(WORKER_CLASSES)} (default: WEB_WORKER_CLASS or "
            f"{DEFAULT_WORKER_CLASS})",
        )
        parser.add_argument(
            "--keep-alive",
            type=_whole_number("WEB_KEEPALIVE"),
            default=os.environ.get("WEB_KEEPALIVE", "5"),
            help="seconds a client has to send its request headers (gevent), and that an "
            "idle kept-alive connection stays open",
        )
        parser.add_argument(
            "--worker-connections",
            type=_whole_number("WEB_WORKER_CONNECTIONS", least=1),
            default=os.environ.get("WEB_WORKER_CONNECTIONS", "1000"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # SIGTERM (kill, docker stop, systemd) stops everything as Ctrl-C does: Python's
        # default would exit at once and leave gunicorn, the collector and Redis running.
        signal.signal(signal.SIGTERM, _interrupt)
        redis_server = self.start_redis()
        children = []
        try:
            self.prepare()
            children.extend(self.start_background_processes())
            gunicorn = self.start_gunicorn(options)
            children.append(gunicorn)
            url = f"http://{options['host']}:{options['port']}/"
            self.stdout.write(self.style.SUCCESS(f"Movie Library Explorer is running at {url}"))
            self.stdout.write("Press Ctrl-C to stop.")
            self.wait(gunicorn, redis_server)
        finally:
            self.stop_children(children)
            if redis_server is not None:
                stopped = redis_server.stop()
                for line in [stopped] if isinstance(stopped, str) else stopped:
                    self.stdout.write(f"Redis Stack: {line} (data kept)")

    def start_redis(self) -> embedded_redis.EmbeddedRedis | embedded_group.EmbeddedGroup | None:
        """The embedded server, or with REDIS_REPLICAS the group (the settings then point
        every store at its sentinels), when this run started it; it stops with serve."""
        if not settings.REDIS_EMBEDDED:
            where = settings.REDIS_SENTINELS or f"{settings.REDIS_HOST}:{settings.REDIS_PORT}"
            self.stdout.write(f"Using external Redis at {where}")
            return None
        if settings.REDIS_REPLICAS:
            server = embedded_group.from_settings()
        else:
            server = embedded_redis.from_settings()
        try:
            result = server.start()
        except embedded_redis.EmbeddedRedisError as exc:
            raise CommandError(str(exc)) from exc
        if isinstance(result, str):
            self.stdout.write(f"Redis Stack {result} on 127.0.0.1:{server.port}")
            return server if result == "started" else None
        for line in result:
            self.stdout.write(f"Redis Stack {line}")
        return server if any(" started " in line for line in result) else None

    def prepare(self) -> None:
        """One-off steps before serving; later features add theirs here."""
        settings.VAR_DIR.mkdir(exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        # The first run creates `admin` with a random password, printed once.
        call_command("ensure_admin", stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.prepare_search()

    def prepare_search(self) -> None:
        """The search indexes, and the bundled catalogue when the index is empty."""
        from search import facets, indexing, store

        report = indexing.ensure_indexes()
        if report.outdated:  # built by an older release: the old index answers meanwhile
            self.stdout.write(
                f"Rebuilding {', '.join(report.outdated)} with this release's schema…"
            )
            indexing.reindex()
        if store.movie_count() == 0 and BUNDLED_MOVIES.exists():
            self.stdout.write(f"Importing the bundled catalogue ({BUNDLED_MOVIES.name})…")
            call_command("import_movies", str(BUNDLED_MOVIES), max_errors_shown=5)
        facets.filter_options()  # warm: the first visitors don't wait for the counts

    def start_background_processes(self) -> list[subprocess.Popen]:
        """Processes that run beside gunicorn: the metrics collector (stopped with the
        others on Ctrl-C)."""
        collector = [sys.executable, "manage.py", "collect_metrics"]
        return [subprocess.Popen(collector, cwd=settings.BASE_DIR)]

    def start_gunicorn(self, options: Mapping[str, Any]) -> subprocess.Popen:
        return subprocess.Popen(gunicorn_command(options), cwd=settings.BASE_DIR)

    def wait(
        self,
        gunicorn: subprocess.Popen,
        redis_server: embedded_redis.EmbeddedRedis | embedded_group.EmbeddedGroup | None,
    ) -> None:
        """Until gunicorn exits or Ctrl-C; meanwhile a process of the group this run
        started that died is started again (a killed primary returns as a replica)."""
        group = redis_server if isinstance(redis_server, embedded_group.EmbeddedGroup) else None
        try:
            while True:
                try:
                    code = gunicorn.wait(timeout=SUPERVISE_EVERY_S if group else None)
                    break
                except subprocess.TimeoutExpired:
                    self.restart_stopped(group)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
            return
        if code:
            raise CommandError(f"gunicorn exited with status {code}")

    def restart_stopped(self, group: embedded_group.EmbeddedGroup) -> None:
        try:
            lines = group.restart_stopped()
        except (embedded_redis.EmbeddedRedisError, redis.RedisError, OSError) as exc:
            self.stderr.write(f"Redis Stack: a stopped process could not be restarted: {exc}")
            return
        for line in lines:
            self.stdout.write(f"Redis Stack {line} (it had stopped)")

    def stop_children(self, children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def serve_options(**overrides: Any) -> dict[str, Any]:
    """serve's options as its command line defaults them (from the environment), with
    `overrides`: for the benches and tests that start serve's gunicorn themselves."""
    parser = Command().create_parser("manage.py", "serve")
    return {**vars(parser.parse_args([])), **overrides}


def gunicorn_command(options: Mapping[str, Any], access_log: str = "-") -> list[str]:
    """The gunicorn command line serve runs for `options` (serve's option names)."""
    command = [
        sys.executable, "-m", "gunicorn", APPLICATIONS[options["worker_class"]],
        "--bind", f"{options['host']}:{options['port']}",
        "--worker-class", options["worker_class"],
        "--workers", str(options["workers"]),
        "--access-logfile", access_log,
        "--graceful-timeout", "10",
        "--keep-alive", str(options["keep_alive"]),
        "--config", "python:config.gunicorn",
    ]  # fmt: skip
    if options["worker_class"] != "asgi":
        # gthread: threads per worker; gevent: requests in the app at once per worker
        # (config/gunicorn.py), the others waiting in the event loop.
        command += ["--threads", str(options["threads"])]
    if options["worker_class"] != "gthread":
        command += ["--worker-connections", str(options["worker_connections"])]
    return command
