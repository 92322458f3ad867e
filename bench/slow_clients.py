"""Slow clients against the served app: do they delay everyone else?

A slowloris-style client keeps `--slow` connections open to the server for `--hold`
seconds, sending each request's headers one line every `--line-interval` seconds and
opening a new connection for each one the server drops. Meanwhile another client times
`/health/redis`, `/` and `/api/search`, one request after another, each bounded by
`--probe-timeout`. For every server set-up (a candidate) in the same run:

1. the request rate of `--concurrency` keep-alive clients for `--rate-seconds`, then of
   `--burst` clients, no slow clients (normal throughput; anything but a 200 is counted
   apart);
2. the probes' latencies with no slow clients (the baseline of that candidate);
3. the probes' latencies while the slow connections are held (the figure that matters:
   how much longer does any other request take?);
4. how many slow connections the server dropped (each is opened again at once, so
   `--slow` are open throughout), and how long they had lasted.

Candidates: gunicorn as `manage.py serve` runs it (its own command line, `gunicorn_command`,
with serve's defaults but the worker class, workers and threads), and nginx
(deploy/nginx/default.conf.template, rendered with a loopback upstream) in front of the
gthread set-up. The app runs against a throwaway Redis Stack holding the bundled
catalogue, insights tracking and request metrics on, no collector. Only loopback is ever
contacted; everything stops by itself.

    .venv/bin/python bench/slow_clients.py            # every candidate, 2 rounds
    .venv/bin/python bench/slow_clients.py --write    # and docs/BENCHMARKS.md
"""

import argparse
import asyncio
import contextlib
import http.client
import os
import platform
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, percentile, process_env, stop, write_section

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "default.conf.template"
NGINX_UPSTREAM_LIST = ROOT / "deploy" / "nginx" / "web-upstream.envsh"
PROBES = ("/health/redis", "/", "/api/search?q=star")
CANDIDATES = {
    # name: (serve options, whether nginx is in front)
    "gthread 2x8": ({"worker_class": "gthread", "workers": 2, "threads": 8}, False),
    "gthread 2x128": ({"worker_class": "gthread", "workers": 2, "threads": 128}, False),
    "gevent 2x1000": ({"worker_class": "gevent", "workers": 2, "worker_connections": 1000}, False),
    "asgi 2x1000": ({"worker_class": "asgi", "workers": 2, "worker_connections": 1000}, False),
    "nginx + gthread 2x8": ({"worker_class": "gthread", "workers": 2, "threads": 8}, True),
}


def render_nginx(prefix, upstream, port):
    """A prefix nginx can run (or `nginx -t`) from: the proxy's server block rendered as
    the official image renders it (`${VAR}` from the environment, nginx's own `$vars`
    left alone) inside a minimal main configuration whose files all stay in `prefix`.
    Returns the main configuration's path. `upstream` is WEB_UPSTREAM: a host:port, or
    several comma-separated, passed through the script the production nginx sources."""
    prefix = Path(prefix)
    (prefix / "conf.d").mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)  # nginx's workers (an unprivileged user) create temp files here
    upstream = subprocess.run(
        ["sh", "-c", '. "$0" && printf %s "$WEB_UPSTREAM"', str(NGINX_UPSTREAM_LIST)],
        env={**os.environ, "WEB_UPSTREAM": upstream},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    site = string.Template(NGINX_TEMPLATE.read_text()).safe_substitute(
        WEB_UPSTREAM=upstream, NGINX_PORT=str(port)
    )
    (prefix / "conf.d" / "default.conf").write_text(site)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = prefix / "nginx.conf"
    main.write_text(
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "worker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    access_log off;\n"
        f"{temp_paths}\n"
        f"    include {prefix / 'conf.d'}/*.conf;\n"
        "}\n"
    )
    return main


def nginx_command(conf, *args):
    """nginx on `conf`; -e names the error log before the configuration is read (the
    compiled-in one is outside the prefix)."""
    return [NGINX, "-p", str(conf.parent), "-c", str(conf), "-e", str(conf.parent / "error.log"),
            *args]  # fmt: skip


class SlowClients:
    """`count` connections, each sending one request's headers a line every `interval`
    seconds, for `hold` seconds. One the server drops (closes, or answers with an error)
    is opened again at once, as an attacker would, so `count` stay open throughout.
    Records how long each dropped connection had lasted."""

    def __init__(self, port, count, interval, hold):
        self.port, self.count, self.interval, self.hold = port, count, interval, hold
        self.connected = 0  # of the first `count` connections
        self.refused = 0
        self.dropped_after = []
        self.thread = threading.Thread(target=lambda: asyncio.run(self._all()), daemon=True)

    def start(self):
        self.thread.start()

    def wait_connected(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self.connected + self.refused < self.count and time.monotonic() < deadline:
            time.sleep(0.05)

    def join(self):
        self.thread.join(self.hold + 30)

    async def _all(self):
        deadline = time.monotonic() + self.hold
        await asyncio.gather(*(self._one(i, deadline) for i in range(self.count)))

    async def _one(self, number, deadline):
        first = True
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.refused += first
                await asyncio.sleep(0.1)
                continue
            self.connected += first
            first = False
            if not await self._hold(number, reader, writer, deadline):
                return  # held to the end
            self.dropped_after.append(time.monotonic() - started)

    async def _hold(self, number, reader, writer, deadline):
        """Send header lines until `deadline`; True if the server dropped us first."""
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            await writer.drain()
            line = 0
            while (left := deadline - time.monotonic()) > 0:
                try:
                    await asyncio.wait_for(reader.read(4096), timeout=min(self.interval, left))
                except TimeoutError:
                    line += 1
                    writer.write(f"X-Slow-{number}-{line}: waiting\r\n".encode())
                    await writer.drain()
                    continue
                return True  # anything read (an error page) or EOF: the server gave up
            return False
        except OSError:  # reset by the server
            return True
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def timed_get(port, path, timeout):
    """(status or None, seconds): one request on a new connection."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "slow-clients-bench"})
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = None
    finally:
        connection.close()
    return status, time.monotonic() - started


def probe(port, seconds, timeout):
    """Every probe path in turn for `seconds`: {path: [(status, seconds)]}."""
    results = {path: [] for path in PROBES}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in PROBES:
            results[path].append(timed_get(port, path, timeout))
        time.sleep(0.2)
    return results


def request_rate(port, seconds, concurrency):
    """Requests per second of `concurrency` keep-alive clients cycling through PROBES;
    returns (rate of 200s, count of anything else)."""
    counts = {"ok": 0, "other": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok = other = 0
        index = 0
        while time.monotonic() < deadline:
            try:
                connection.request("GET", PROBES[index % len(PROBES)])
                response = connection.getresponse()
                response.read()
                ok, other = (ok + 1, other) if response.status == 200 else (ok, other + 1)
            except (OSError, http.client.HTTPException):
                other += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            index += 1
        connection.close()
        with lock:
            counts["ok"] += ok
            counts["other"] += other

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["ok"] / seconds, counts["other"]


def wait_for_health(port, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if timed_get(port, "/health/redis", 5)[0] == 200:
            return
        time.sleep(0.3)
    raise SystemExit(f"port {port}: /health/redis did not answer 200 within {timeout} s")


class Site:
    """The app (and nginx, for that candidate) for one candidate; a context manager."""

    def __init__(self, workdir, options, behind_nginx):
        from config.embedded_redis import free_port

        self.workdir, self.options, self.behind_nginx = workdir, options, behind_nginx
        self.gunicorn_port = free_port()
        self.port = free_port() if behind_nginx else self.gunicorn_port
        self.processes = []
        self.log = None

    def __enter__(self):
        from config.management.commands import serve

        options = serve.serve_options(host="127.0.0.1", port=self.gunicorn_port, **self.options)
        self.log = log = (self.workdir / "gunicorn.log").open("ab")
        self.processes.append(
            subprocess.Popen(serve.gunicorn_command(options), cwd=ROOT, stdout=log, stderr=log)
        )
        wait_for_health(self.gunicorn_port)
        if self.behind_nginx:
            prefix = Path(tempfile.mkdtemp(prefix="nginx-", dir=self.workdir))
            conf = render_nginx(prefix, f"127.0.0.1:{self.gunicorn_port}", self.port)
            self.processes.append(
                subprocess.Popen(nginx_command(conf, "-g", "daemon off;"), stderr=log)
            )
            wait_for_health(self.port)
        return self

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            stop(process)
        self.log.close()


def measure(site, args):
    for _ in range(5):  # warm: first imports, connection pools, caches
        for path in PROBES:
            timed_get(site.port, path, args.probe_timeout)
    rate, errors = request_rate(site.port, args.rate_seconds, args.concurrency)
    burst_rate, burst_errors = request_rate(site.port, args.rate_seconds, args.burst)
    idle = probe(site.port, args.probe_seconds, args.probe_timeout)
    slow = SlowClients(site.port, args.slow, args.line_interval, args.hold)
    slow.start()
    slow.wait_connected()
    time.sleep(args.line_interval)  # every slow connection has started its headers
    held = probe(site.port, args.probe_seconds, args.probe_timeout)
    slow.join()
    return {
        "rate": rate, "rate_errors": errors, "idle": idle, "held": held,
        "burst_rate": burst_rate, "burst_errors": burst_errors,
        "connected": slow.connected, "refused": slow.refused,
        "dropped": sorted(slow.dropped_after),
    }  # fmt: skip


def latencies(results):
    """Every probe's seconds (a timed-out one counts as the hang guard), and failures."""
    values = [seconds for runs in results.values() for _, seconds in runs]
    failed = sum(status != 200 for runs in results.values() for status, _ in runs)
    return values, failed


def summarise(name, result):
    idle, _ = latencies(result["idle"])
    held, failed = latencies(result["held"])
    dropped = result["dropped"]
    return {
        "name": name,
        "rate": result["rate"],
        "rate_errors": result["rate_errors"],
        "burst_rate": result["burst_rate"],
        "burst_errors": result["burst_errors"],
        "idle_p50": percentile(idle, 50),
        "idle_max": max(idle),
        "held_p50": percentile(held, 50),
        "held_max": max(held),
        "held_probes": len(held),
        "held_failed": failed,
        "connected": result["connected"],
        "dropped": len(dropped),
        "dropped_median": percentile(dropped, 50) if dropped else None,
    }


def prepare(workdir):
    """A throwaway Redis Stack with the bundled catalogue; Django's tables and static
    files. Sets this process's environment to the app's, which gunicorn inherits."""
    from config.embedded_redis import EmbeddedRedis, free_port

    password = secrets.token_urlsafe(16)
    redis_server = EmbeddedRedis(port=free_port(), data_dir=workdir / "redis", password=password)
    redis_server.start()
    os.environ.update(
        process_env(
            redis_server.port, workdir, password,
            SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1,localhost",
            STATIC_ROOT=str(workdir / "static"), XDG_RUNTIME_DIR=str(workdir),
            LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
        )
    )  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin"])
    call_command("create_index", verbosity=0)
    call_command("import_movies", str(ROOT / "data" / "movies.jsonl.gz"), verbosity=0)
    from search import facets, store

    store.wait_until_indexed(store.live_index_name())
    facets.filter_options()
    return redis_server


def fmt_s(value):
    return "—" if value is None else (f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s")


def report(args, rows):
    import psutil

    by_name = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    baseline = by_name.get("gthread 2x8", [])
    base_rate = sum(r["rate"] for r in baseline) / len(baseline) if baseline else None
    lines = [
        "## Slow clients (bench/slow_clients.py)",
        "",
        f"Command: `.venv/bin/python bench/slow_clients.py {' '.join(sys.argv[1:])}`  ",
        f"Machine: {os.cpu_count()} cores (`nproc`), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, {platform.python_version()}, "
        f"nginx {nginx_version()}; the bench client runs on the same cores.  ",
        f"{args.slow} slow connections kept open for {args.hold:g} s (one the server drops "
        f"is opened again at once), each sending a header line every "
        f"{args.line_interval:g} s; meanwhile "
        f"`{'`, `'.join(PROBES)}` one after another for {args.probe_seconds:g} s (hang "
        f"guard {args.probe_timeout:g} s). Rates: {args.concurrency}, then {args.burst} "
        f"keep-alive clients for {args.rate_seconds:g} s each, without slow clients (a "
        "request that is not 200 is counted apart). One row per round, candidates "
        "interleaved.",
        "",
        f"| set-up | requests/s ({args.concurrency} clients) | vs gthread 2x8 | "
        f"requests/s ({args.burst} clients) | probe p50 idle | probe p50 held | "
        "slowest probe held | probes failed held | slow connections dropped (median "
        "lifetime) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in by_name.items():
        for r in runs:
            ratio = f"{r['rate'] / base_rate:.2f}" if base_rate else "—"
            lines.append(
                f"| {name} | {r['rate']:.0f}"
                + (f" ({r['rate_errors']} not 200)" if r["rate_errors"] else "")
                + f" | {ratio} | {r['burst_rate']:.0f}"
                + (f" ({r['burst_errors']} not 200)" if r["burst_errors"] else "")
                + f" | {fmt_s(r['idle_p50'])} | {fmt_s(r['held_p50'])} | "
                f"{fmt_s(r['held_max'])} | {r['held_failed']} of {r['held_probes']} | "
                f"{r['dropped']} ({fmt_s(r['dropped_median'])}) |"
            )
    lines += [
        "",
        "The ratio is against the mean of the gthread 2x8 rows. Requests that were not 200 "
        "with 200 clients are 503s: more requests at once than a Redis store's pool of 20 "
        "connections per process serves (gthread with 128 threads, asgi). The machine is "
        "shared (other jobs ran on the same two cores), so the rates of one set-up vary by "
        "a third between rounds; the delays and drops do not.",
    ]
    return "\n".join(lines)


def nginx_version():
    try:
        out = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=False)
        return out.stderr.strip().rpartition("/")[2] or "?"
    except OSError:
        return "absent"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=200, help="slow connections")
    parser.add_argument("--line-interval", type=float, default=3.0)
    parser.add_argument("--hold", type=float, default=45.0, help="seconds each is kept")
    parser.add_argument("--probe-seconds", type=float, default=20.0)
    parser.add_argument("--probe-timeout", type=float, default=15.0)
    parser.add_argument("--rate-seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--burst", type=int, default=200, help="clients of the second rate")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", action="append", choices=sorted(CANDIDATES))
    parser.add_argument("--write", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    names = args.only or list(CANDIDATES)
    if any(CANDIDATES[n][1] for n in names) and not Path(NGINX).exists():
        raise SystemExit(f"nginx not found at {NGINX} (apt-get install nginx), or use --only")

    workdir = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    redis_server = None
    rows = []
    try:
        redis_server = prepare(workdir)
        for round_number in range(1, args.rounds + 1):
            for name in names:
                options, behind_nginx = CANDIDATES[name]
                print(f"round {round_number}: {name}…", flush=True)
                with Site(workdir, options, behind_nginx) as site:
                    row = summarise(name, measure(site, args))
                rows.append(row)
                print(
                    f"  {row['rate']:.0f} req/s; probes p50 {fmt_s(row['idle_p50'])} idle, "
                    f"{fmt_s(row['held_p50'])} held, slowest {fmt_s(row['held_max'])}, "
                    f"{row['held_failed']} failed; dropped {row['dropped']}",
                    flush=True,
                )
    finally:
        if redis_server is not None:
            redis_server.stop(save=False)
        shutil.rmtree(workdir, ignore_errors=True)
    text = report(args, rows)
    print("\n" + text)
    if args.write:
        write_section(ROOT / "docs" / "BENCHMARKS.md", "slow-clients", text)


if __name__ == "__main__":
    main()
