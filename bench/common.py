"""What every benchmark here shares: percentiles, and a throwaway Redis Stack with
Django set up against it (the embedded build and the project's redis.conf, on a free
port in the given directory)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def start_redis_and_django(workdir, maxmemory):
    """Start the server, point every store at it, set Django up; returns the server."""
    from config.embedded_redis import EmbeddedRedis, free_port

    workdir = Path(workdir)
    server = EmbeddedRedis(port=free_port(), data_dir=workdir / "redis", maxmemory=maxmemory)
    server.start()  # with a random password, which every client below is given
    setup_django(server.port, workdir, server.password)
    return server


def kept_password(workdir):
    """The password of a bench Redis that later runs reuse (its data, or the server
    itself still running): made once, kept in `workdir`, readable by its owner only."""
    from config.embedded_redis import random_password

    path = Path(workdir) / "redis-password"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(random_password())
    return path.read_text().strip()


def process_env(port, workdir, password="", **settings):
    """The environment of a project process (gunicorn, a management command) run against
    the bench Redis Stack on `port` with its own SQLite database in `workdir`;
    `settings` adds or overrides variables."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(port),
        REDIS_PASSWORD=password,
        REDIS_EMBEDDED="false",
        DATABASE_URL=f"sqlite:///{Path(workdir) / 'bench.sqlite3'}",
        DEBUG="false",
        **settings,
    )
    return env


def setup_django(port, workdir, password=""):
    """Point every store at the Redis Stack on `port` and set Django up."""
    os.environ.update(
        process_env(
            port, workdir, password, ALLOWED_HOSTS="testserver,127.0.0.1", LOG_LEVEL="ERROR"
        )
    )
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 40)
    import django

    django.setup()


def write_section(path, name, text, at_top=False):
    """Put `text` between the `<!-- name:start -->` and `<!-- name:end -->` markers of a
    Markdown file, replacing what was there; a new section goes at the end (or, with
    `at_top`, under the title)."""
    path = Path(path)
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{start}\n{text}\n{end}"
    if start in current and end in current:
        before, _, rest = current.partition(start)
        _, _, after = rest.partition(end)
        current = before + block + after
    elif at_top:
        title, newline, rest = current.partition("\n")
        current = f"{title}{newline}\n{block}\n{rest}"
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(current, encoding="utf-8")


def stop(process, timeout=30):
    """SIGTERM a project process (gunicorn, the collector), and kill it if it does not end
    within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bare_ft_search(q):
    """The engine's own ranked search of `q` (an FtQuery): one FT.SEARCH, whose ties
    come in document id order. The floor the product's ranked pages (an aggregation
    that breaks ties by movie id) are compared with. Returns its total."""
    from search import store
    from search.queries import ft

    return int(store.client().execute_command("FT.SEARCH", *ft.search_args(q))[0])
