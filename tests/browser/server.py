"""The product started as a user starts it: `manage.py serve` in a subprocess.

Everything it writes stays in its own temporary directory (Redis data, SQLite database,
collected static files, gunicorn's control socket), and every setting the project reads
is given explicitly: a developer's `.env` is read with overwrite=False, so these win and
`var/` and `.env` are never touched.
"""

import contextlib
import gzip
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from config.embedded_redis import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
STORES = ("SEARCH", "ANALYTICS", "OPERATIONS", "CACHE", "METRICS", "EVENTS")
BUNDLED_CATALOGUE = BASE_DIR / "data" / "movies.jsonl.gz"


def catalogue_size():
    """Records in the bundled catalogue (every one valid), which serve imports at first."""
    with gzip.open(BUNDLED_CATALOGUE, "rt", encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())


class ServeFailed(RuntimeError):
    pass


class ServedApp:
    def __init__(self, workdir, collect_interval=2):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.redis_port = free_port()
        self.redis_password = secrets.token_urlsafe(16)
        self.redis_dir = self.workdir / "redis"
        self.log_path = self.workdir / "serve.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.collect_interval = collect_interval
        self.process = None
        self._log = None

    def environment(self):
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_WORKERS": "2",
            "WEB_THREADS": "4",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "DEBUG": "false",
            "HTTPS": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": "",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
            "STATIC_ROOT": str(self.workdir / "staticfiles"),
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(self.redis_port),
            "REDIS_PASSWORD": self.redis_password,
            "REDIS_DB": "0",
            "REDIS_TLS": "false",
            "REDIS_TLS_CA_CERT": "",
            "REDIS_EMBEDDED": "true",
            "REDIS_EMBEDDED_DIR": str(self.redis_dir),
            "REDISEARCH_INDEX_NAME": "movies_index",
            "REDISEARCH_PREFIX": "movie:",
            "INSIGHTS_TRACKING_ENABLED": "true",
            "INSIGHTS_RECORD_IN_BACKGROUND": "true",
            "INSIGHTS_COUNTRY_HEADER": "",
            "INSIGHTS_CLIENT_IP_HEADER": "",
            # Short passes so an alert fires within seconds of lowering a threshold.
            "OPERATIONS_COLLECT_INTERVAL": str(self.collect_interval),
            "OPERATIONS_REQUEST_METRICS": "true",
            "OPERATIONS_REQUEST_METRICS_BACKGROUND": "true",
            "METRICS_TOKEN": "",
            "METRICS_ALLOW_LOOPBACK": "true",
            "LOGIN_FAILURE_LIMIT": "5",
            "LOGIN_LOCKOUT_MINUTES": "15",
            "LOG_LEVEL": "INFO",
            # gunicorn's control socket goes to $XDG_RUNTIME_DIR, not ~/.gunicorn.
            "XDG_RUNTIME_DIR": str(self.workdir),
        })  # fmt: skip
        for store in STORES:
            env[f"REDIS_{store}_URL"] = ""  # empty: built from the settings above
        return env

    def start(self, timeout=400):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"],
            cwd=BASE_DIR,
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, which stops it
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def log_tail(self, size=3000):
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except FileNotFoundError:
            return ""

    def get_json(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())

    def wait_ready(self, timeout):
        """Until /health/redis answers 200 and the bundled catalogue is searchable."""
        deadline = time.monotonic() + timeout
        expected = catalogue_size()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServeFailed(
                    f"manage.py serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                status, _ = self.get_json("/health/redis")
                if status == 200:
                    _, found = self.get_json("/api/search")
                    if found["totalCount"] >= expected:
                        return
            except (OSError, ValueError, KeyError):
                pass  # not listening yet, or still importing
            time.sleep(0.25)
        raise ServeFailed(f"manage.py serve not ready after {timeout} s:\n{self.log_tail()}")

    def manage(self, *args, env=None, timeout=120):
        """Another manage.py command against the same database and Redis."""
        environment = self.environment()
        environment.update(env or {})
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def redis_pid(self):
        try:
            pid = int((self.redis_dir / "redis.pid").read_text().strip())
            return psutil.Process(pid)
        except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
            return None

    def processes(self):
        """serve, gunicorn (master and workers), the collector and Redis, as running now."""
        found = []
        try:
            serve = psutil.Process(self.process.pid)
            found = [serve, *serve.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        redis_process = self.redis_pid()
        if redis_process is not None:
            found.append(redis_process)
        return found

    def stop(self, timeout=60):
        """SIGTERM to `serve`, as a service manager stops it. Returns the processes that
        outlived it (which are then killed, so nothing leaks either way)."""
        if self.process is None:
            return []
        running = self.processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):  # then it counts as leaked
            self.process.wait(timeout=timeout)
        _, alive = psutil.wait_procs(running, timeout=5)
        leaked = []
        for process in alive:
            try:
                leaked.append(f"{process.pid} {' '.join(process.cmdline()[:4])}")
                process.kill()
            except psutil.NoSuchProcess:
                continue
        psutil.wait_procs(alive, timeout=10)
        if self._log is not None:
            self._log.close()
        return leaked
