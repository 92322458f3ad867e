"""Load test: 1,000 concurrent users against gunicorn over 1,000,000 movies.

What it does (from the project root):

1. starts a Redis Stack whose data lives in `var/bench/load-<N>/redis` (gitignored) and,
   the first time only, fills it with N synthetic movies (`manage.py generate_movies`,
   several minutes at 1,000,000); later runs reload the saved data. `--reuse` leaves the
   server running at the end and picks it up again next time (no reload, no re-indexing);
2. starts gunicorn against it as `manage.py serve` does (its `gunicorn_command`; worker
   class, workers, threads from the options) with insights tracking on, plus the metrics
   collector;
3. runs locust headless in one process (`bench/load/locustfile.py`): search-as-you-type,
   filter clicks, search pages, movie pages, staff users polling the dashboards;
4. reads locust's CSV stats (requests, failures, p50/p95/p99, requests/s) and the CPU
   time locust, gunicorn and Redis used;
5. waits for the insights recorders to flush and checks that the page views recorded
   (the `page_views:daily:<date>` hashes, per page) grew by exactly the page views
   locust sent (its own count of 2xx HTML page responses, per page);
6. prints a Markdown report; `--write docs/BENCHMARKS.md` puts it in the "## Load" section.

    .venv/bin/python bench/load_test.py --movies 1000000 --users 1000 --run-time 5m \
        --reuse --write docs/BENCHMARKS.md

Goals: 0 failures, p99 <= 200 ms, page views recorded == page views sent.
"""

import argparse
import csv
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import kept_password, process_env, stop, write_section  # noqa: E402
from run_all import header_lines  # noqa: E402

PYTHON = sys.executable
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
STAFF_USERNAME = "loadstaff"
STAFF_PASSWORD = "load-test-staff-password"  # noqa: S105 - a throwaway bench database
P99_GOAL_MS = 200
FIRST_ID = 1_000_001  # generate_movies' default --start-id


def workdir_for(movies):
    return ROOT / "var" / "bench" / f"load-{movies}"


def django_env(server, workdir):
    """The environment every process of the run gets: the bench server, its own SQLite."""
    env = process_env(
        server.port,
        workdir,
        server.password,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        INSIGHTS_TRACKING_ENABLED="true",
        INSIGHTS_RECORD_IN_BACKGROUND="true",
    )
    env.setdefault("SECRET_KEY", "load-test-only-" + "x" * 40)
    return env


def start_server(args):
    """The bench Redis Stack, started or (already running) reused; returns (server, how)."""
    from config.embedded_redis import EmbeddedRedis

    workdir = workdir_for(args.movies)
    server = EmbeddedRedis(
        port=args.redis_port,
        data_dir=workdir / "redis",
        password=kept_password(workdir),  # the same on every run: the server may be reused
        maxmemory=args.maxmemory,
    )
    how = server.start(timeout=1800)  # a 3 GB AOF takes minutes to replay
    return server, how


def setup_django(env):
    os.environ.update(env)
    import django
    from django.conf import settings

    django.setup()
    # This process runs the slow one-off calls (the whole-catalogue facet counts): a
    # longer socket timeout here only; gunicorn keeps the project's settings.
    settings.REDIS_POOL_OPTIONS = {**settings.REDIS_POOL_OPTIONS, "socket_timeout": 300}


def ensure_movies(args, env):
    """Generate the catalogue once; later runs find it in the saved data."""
    from search import indexing, keys, store

    indexing.ensure_indexes()
    count = store.movie_count()
    if count < args.movies:
        # Ids are consecutive from FIRST_ID, so an interrupted load resumes where it stopped.
        missing = args.movies - count
        print(f"generating {missing:,} movies (once; kept in {workdir_for(args.movies)})…")
        started = time.monotonic()
        command = [PYTHON, "manage.py", "generate_movies", "--count", str(missing),
                   "--seed", str(1 + count), "--start-id", str(FIRST_ID + count)]  # fmt: skip
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        print(f"generated in {time.monotonic() - started:.0f} s")
    print("waiting for the index to be complete…")
    store.wait_until_indexed(keys.index_alias(), timeout=3600)
    count = store.movie_count()
    if count != args.movies:
        raise SystemExit(
            f"the bench data holds {count:,} movies, not {args.movies:,}: "
            f"delete {workdir_for(args.movies)} to regenerate it"
        )
    return count


def prepare_site(args, env, rundir):
    """Django's tables, the staff account, and the load plan (plan.json) the locustfile reads."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from search import facets, keys, store
    from search.synthetic import MovieFactory

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `manage.py serve` does
    user, _ = get_user_model().objects.get_or_create(username=STAFF_USERNAME)
    user.is_staff = True
    user.set_password(STAFF_PASSWORD)
    user.save()

    first_id = FIRST_ID
    rng = random.Random(7)
    client = store.client()
    pipe = client.pipeline(transaction=False)
    for movie_id in rng.sample(range(first_id, first_id + args.movies), 400):
        pipe.hget(keys.movie_key(movie_id), "title")
    titles = [t for t in pipe.execute() if t]
    # Query words by frequency: rank r is typed with weight 1/r (Zipf), skipping the
    # 40 commonest (function words nobody searches for alone).
    vocabulary = MovieFactory().vocabulary[40:3040]
    # Warm the whole-catalogue filter options (filter_cache, 30 min), as a site in service
    # has them: the first request would otherwise pay for the match-all aggregations.
    options = facets.filter_options().facets
    plan = {
        "titles": titles,
        "words": vocabulary,
        "word_weights": [1 / (rank + 1) for rank in range(len(vocabulary))],
        "facets": {k: [value for value, _ in options[k]][:15] for k in ("genre", "language")},
        "first_id": first_id,
        "last_id": first_id + args.movies - 1,
        "staff_username": STAFF_USERNAME,
        "staff_password": STAFF_PASSWORD,
    }
    path = rundir / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def wait_for_http(url, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer 200 within {timeout} s")


def start_web(args, env, rundir):
    """gunicorn as `manage.py serve` runs it, with the chosen configuration, and the metrics
    collector beside it."""
    from config.management.commands import serve

    options = serve.serve_options(
        host="127.0.0.1",
        port=args.web_port,
        worker_class=args.worker_class,
        workers=args.workers,
        threads=args.threads,
        worker_connections=args.worker_connections,
    )
    command = serve.gunicorn_command(options, access_log=str(rundir / "access.log"))
    command += ["--error-logfile", str(rundir / "gunicorn.log")]
    gunicorn = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=open(rundir / "django.log", "w"),  # noqa: SIM115 - Django's log (tracebacks)
    )  # fmt: skip
    collector = subprocess.Popen(
        [PYTHON, "manage.py", "collect_metrics"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=open(rundir / "collector.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    wait_for_http(f"http://127.0.0.1:{args.web_port}/health/redis")
    return gunicorn, collector


def recorded_page_views(start_ms):
    """Page views per page in the daily hashes of the run's days."""
    from insights import store
    from telemetry.units import DAY_MS

    now = store.now_ms()
    return store.page_views_by_day(sorted({t - t % DAY_MS for t in (start_ms, now)}))


def series_page_views(start_ms):
    """The raw page-view series' sum since start_ms (what the dashboard's chart shows)."""
    from insights import store
    from insights.series import page_views_series

    key = page_views_series().key
    if not store.client().exists(key):
        return 0
    return sum(int(float(v)) for _, v in store.client().ts().range(key, start_ms, "+"))


def wait_for_flush(before, start_ms, timeout=30):
    """Read the recorded page views until they stop moving (the recorders flush every
    0.25 s); returns the per-page increase since `before`."""
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(1)
        per_page = recorded_page_views(start_ms)
        delta = {p: n - before.get(p, 0) for p, n in per_page.items() if n != before.get(p, 0)}
        if delta == last and time.monotonic() - stable_since >= 3:
            return delta
        if delta != last:
            last, stable_since = delta, time.monotonic()
        if time.monotonic() > deadline:
            return delta


class CpuMeter:
    """CPU seconds used by a set of processes (and their children) over the run."""

    def __init__(self):
        import psutil

        self.psutil = psutil
        self.seen = {}  # pid -> (name, last cpu seconds)
        # pid -> cpu seconds before the run: a process already running (a reused Redis,
        # gunicorn after its warm-up) counts from its first sample, a newer one from 0.
        self.baseline = {}
        self.started = time.monotonic()
        self.started_at = time.time()
        self.machine_start = psutil.cpu_times()

    def sample(self, groups):
        for name, pid in groups.items():
            try:
                root = self.psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except self.psutil.NoSuchProcess:
                continue
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    born_before = proc.create_time() < self.started_at
                except self.psutil.NoSuchProcess:
                    continue
                seconds = times.user + times.system
                self.baseline.setdefault(proc.pid, seconds if born_before else 0.0)
                self.seen[proc.pid] = (name, seconds)

    def totals(self):
        elapsed = time.monotonic() - self.started
        per_group = {}
        for pid, (name, seconds) in self.seen.items():
            per_group[name] = per_group.get(name, 0) + seconds - self.baseline[pid]
        end = self.psutil.cpu_times()
        busy = sum(end) - end.idle - (sum(self.machine_start) - self.machine_start.idle)
        return {name: seconds / elapsed for name, seconds in per_group.items()}, busy / elapsed


def command_time(before, after):
    """Redis main-thread time per command over the run (INFO commandstats deltas):
    [(command, seconds, calls)], the dearest first."""
    rows = []
    for name, stats in after.items():
        old = before.get(name, {"usec": 0, "calls": 0})
        seconds = (stats["usec"] - old["usec"]) / 1e6
        if seconds > 0:
            rows.append((name.removeprefix("cmdstat_"), seconds, stats["calls"] - old["calls"]))
    return sorted(rows, key=lambda row: -row[1])


def read_stats(prefix):
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def run_locust(args, rundir, plan, host):
    """Locust headless in this process's child; returns (rows, page views, locust CPU)."""
    env = dict(os.environ, LOAD_PLAN=str(plan), LOAD_PAGE_VIEWS_OUT=str(rundir / "sent.json"))
    command = [
        PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", host, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", args.run_time, "--stop-timeout", "90",
        "--csv", str(rundir / "locust"), "--only-summary", "--loglevel", "WARNING",
        "--logfile", str(rundir / "locust.log"),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def machine():
    import django
    import psutil
    import redis

    cpu = ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": cpu or platform.machine(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "redis_py": redis.__version__,
    }


def fmt_ms(value):
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def report(result):
    r = result
    agg = r["aggregated"]
    goals = r["goals"]
    ok = lambda flag: "**met**" if flag else "**NOT met**"  # noqa: E731
    lines = [
        "## Load",
        "",
        *r["header"],
        f"Server: gunicorn `{r['server']}`, insights tracking on (background recorder), "
        f"metrics collector running; Redis Stack (embedded, AOF everysec) holding "
        f"{r['movies']:,} synthetic movies, {r['redis_memory']} used.  ",
        f"Load: {r['users']:,} users (locust, one process, spawn rate {r['spawn_rate']}/s), "
        f"{r['run_time']} including the ramp-up; visitors 96 %, staff on the dashboards 2 %, "
        "crawlers 2 % (see `bench/load/locustfile.py`).",
        "",
        "| result | value | goal |",
        "|---|---|---|",
        f"| requests | {int(agg['Request Count']):,} | |",
        f"| failures | {int(agg['Failure Count']):,} | 0: {ok(goals['errors'])} |",
        f"| throughput | **{number(agg['Requests/s']):,.1f} requests/s** | reported |",
        f"| latency p50 / p95 / p99 | {fmt_ms(number(agg['50%']))} / {fmt_ms(number(agg['95%']))}"
        f" / **{fmt_ms(number(agg['99%']))}** | p99 ≤ {P99_GOAL_MS} ms: {ok(goals['p99'])} |",
        f"| page views sent / recorded by insights | {r['sent_total']:,} / {r['recorded_total']:,}"
        f" (raw series: {r['series_total']:,}) | equal: {ok(goals['page_views'])} |",
        "",
        "CPU during the run (cores busy, out of "
        f"{r['machine']['nproc']}): machine {r['cpu']['machine']:.2f}; "
        + ", ".join(f"{name} {value:.2f}" for name, value in sorted(r["cpu"]["groups"].items()))
        + f". Locust's own process peaked at {r['cpu']['locust_peak']:.0%} of one core"
        + (
            " — **locust was the bottleneck**"
            if r["cpu"]["locust_peak"] > 0.9
            else " (not the bottleneck: it never saturated its core)"
        )
        + ".",
        "",
        "| endpoint | requests | failures | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        if row["Name"] == "Aggregated":
            continue
        lines.append(
            f"| `{row['Type']} {row['Name']}` | {int(row['Request Count']):,} | "
            f"{int(row['Failure Count']):,} | {fmt_ms(number(row['50%']))} | "
            f"{fmt_ms(number(row['95%']))} | {fmt_ms(number(row['99%']))} | "
            f"{fmt_ms(number(row['Max Response Time']))} |"
        )
    lines += ["", "| page (insights URL name) | page views sent | recorded |", "|---|---|---|"]
    for page in sorted(set(r["sent"]) | set(r["recorded"])):
        lines.append(f"| {page} | {r['sent'].get(page, 0):,} | {r['recorded'].get(page, 0):,} |")
    if r["unanswered"]:
        lines.append(f"\nPage requests without an answer when locust stopped: {r['unanswered']}.")
    if r["failures"]:
        lines += ["", "Failures:", ""]
        lines += [f"- {f}" for f in r["failures"][:10]]
    lines += ["", f"Redis SLOWLOG entries over 10 ms during the run: {r['slowlog']}.  "]
    busy = sum(seconds for _, seconds, _ in r["redis_time"])
    lines.append(
        f"Redis main thread busy with commands: {busy:,.0f} s; the dearest: "
        + "; ".join(
            f"`{name}` {seconds:,.0f} s ({calls:,} calls, "
            f"{seconds / max(calls, 1) * 1000:.1f} ms each)"
            for name, seconds, calls in r["redis_time"][:5]
        )
        + "."
    )
    lines.append("")
    return "\n".join(lines)


def run(args, command_line):
    server, how = start_server(args)
    print(f"bench Redis Stack on port {server.port}: {how}")
    workdir = workdir_for(args.movies)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    rundir = workdir / "runs" / f"{stamp}-{args.worker_class}-{args.workers}x{args.threads}"
    env = django_env(server, workdir)
    gunicorn = collector = None
    try:
        setup_django(env)
        ensure_movies(args, env)
        if args.prepare_only:
            return None
        rundir.mkdir(parents=True, exist_ok=True)
        plan = prepare_site(args, env, rundir)
        gunicorn, collector = start_web(args, env, rundir)
        from insights import store as insights_store

        redis_client = server.client()
        redis_client.slowlog_reset()
        commands_before = redis_client.info("commandstats")
        start_ms = insights_store.now_ms()
        before = recorded_page_views(start_ms)
        meter = CpuMeter()
        redis_pid = server.pid()
        meter.sample({"gunicorn": gunicorn.pid, "redis": redis_pid})  # the baselines
        locust = run_locust(args, rundir, plan, f"http://127.0.0.1:{args.web_port}")
        locust_peak, last_locust = 0.0, None
        while locust.poll() is None:
            time.sleep(2)
            meter.sample({"gunicorn": gunicorn.pid, "redis": redis_pid, "locust": locust.pid})
            locust_seconds = sum(s for n, s in meter.seen.values() if n == "locust")
            now = time.monotonic()
            if last_locust:
                locust_peak = max(
                    locust_peak, (locust_seconds - last_locust[1]) / (now - last_locust[0])
                )
            last_locust = (now, locust_seconds)
        cpu_groups, cpu_machine = meter.totals()
        delta = wait_for_flush(before, start_ms)
        series_total = series_page_views(start_ms)
        slowlog = len(redis_client.slowlog_get(128))
        redis_time = command_time(commands_before, redis_client.info("commandstats"))
        rows = read_stats(rundir / "locust")
        sent_data = json.loads((rundir / "sent.json").read_text())
        failures_csv = rundir / "locust_failures.csv"
        failures = []
        if failures_csv.exists():
            with open(failures_csv, newline="", encoding="utf-8") as handle:
                failures = [
                    f"{row['Method']} {row['Name']}: {row['Error']} ×{row['Occurrences']}"
                    for row in csv.DictReader(handle)
                ]
        agg = next(row for row in rows if row["Name"] == "Aggregated")
        sent = sent_data["page_views"]
        import locust as locust_module

        result = {
            "command": command_line,
            "machine": machine(),
            "header": header_lines(command_line),
            "locust_version": locust_module.__version__,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "server": (f"--worker-class {args.worker_class} --workers {args.workers}"
                       + (f" --threads {args.threads}" if args.worker_class != "asgi" else "")),
            "movies": args.movies,
            "redis_memory": redis_client.info("memory")["used_memory_human"],
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "run_time": args.run_time,
            "aggregated": agg,
            "rows": rows,
            "sent": sent,
            "unanswered": sent_data["unanswered"],
            "recorded": delta,
            "sent_total": sum(sent.values()),
            "recorded_total": sum(delta.values()),
            "series_total": series_total,
            "failures": failures,
            "slowlog": slowlog,
            "redis_time": redis_time,
            "cpu": {"groups": cpu_groups, "machine": cpu_machine, "locust_peak": locust_peak},
        }  # fmt: skip
        result["goals"] = {
            "errors": int(agg["Failure Count"]) == 0 and int(agg["Request Count"]) > 0,
            "p99": number(agg["99%"]) <= P99_GOAL_MS,
            "page_views": sent == delta and sum(sent.values()) == series_total,
        }
        (rundir / "summary.json").write_text(json.dumps(result, indent=1, default=str))
        return result
    finally:
        for process in (gunicorn, collector):
            if process is not None:
                stop(process)
        if not args.reuse:
            print(f"bench Redis Stack: {server.stop(timeout=600)} (data kept in {workdir})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--movies", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--run-time", default="5m")
    # serve's WORKER_CLASSES (importing serve needs the settings, configured later)
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "gevent", "asgi"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-connections", type=int, default=1000)
    parser.add_argument("--web-port", type=int, default=8391)
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--maxmemory", default="8gb")
    parser.add_argument("--prepare-only", action="store_true", help="load the data and stop")
    parser.add_argument("--reuse", action="store_true",
                        help="use a running bench Redis and leave it running")  # fmt: skip
    parser.add_argument("--write", help="put the report in this Markdown file's Load section")
    args = parser.parse_args()
    command_line = ".venv/bin/python bench/load_test.py " + " ".join(sys.argv[1:])
    # stopped with SIGTERM: still stop gunicorn, the collector and (unless --reuse) Redis
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    result = run(args, command_line)
    if result is None:
        return
    text = report(result)
    print(text)
    if args.write:
        write_section(args.write, "load-test", text)
        print(f"wrote the Load section of {args.write}")
    if not all(result["goals"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
