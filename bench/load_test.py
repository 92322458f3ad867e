"""Load test: 1,000 concurrent users against gunicorn over 1,000,000 movies.

What it does (from the project root):

1. starts a Redis Stack whose data lives in `var/bench/load-<N>/redis` (gitignored) and,
   the first time only, fills it with N synthetic movies (`manage.py generate_movies`,
   several minutes at 1,000,000); later runs reload the saved data. `--reuse` leaves the
   server running at the end and picks it up again next time (no reload, no re-indexing);
2. builds the query log from a sample of the movies loaded (bench/load/querylog.py:
   `--queries` distinct queries drawn Zipf with `--zipf-s`, plus `--one-off-share` of
   queries made fresh per draw) and starts from an empty result cache (a new cache
   generation; `--warm-cache` keeps the earlier runs' answers);
3. starts gunicorn against it as `manage.py serve` does (its `gunicorn_command`; worker
   class, workers, threads: serve's unless the options say otherwise) with insights
   tracking on, plus the metrics collector;
4. runs locust headless in one process (`bench/load/locustfile.py`): search-as-you-type,
   filter clicks, search pages, movie pages, staff users polling the dashboards;
5. reads locust's CSV stats (requests, failures, p50/p95/p99, requests/s), the cache
   answers the `Server-Timing` header gave, the CPU time locust, gunicorn and Redis used
   and Redis's command time (per request: the goals 3 ms and 1.5 ms);
6. waits for the insights recorders to flush and checks that the page views recorded
   (the `page_views:daily:<date>` hashes, per page) grew by exactly the page views
   locust sent (its own count of 2xx HTML page responses, per page);
7. prints a Markdown report; `--write docs/BENCHMARKS.md` puts it in the "## Load" section.

    .venv/bin/python bench/load_test.py --movies 1000000 --users 1000 --run-time 5m \
        --reuse --write docs/BENCHMARKS.md

Goals: 0 failures, p99 <= 200 ms, page views recorded == page views sent, <= 3 ms of
gunicorn CPU and <= 1.5 ms of Redis command time per request.

`--find-capacity 50,100,200,400,700,1000` runs short steps instead (`--step-time` each
after its ramp-up, from an empty result cache) and reports the largest user count with
p99 <= 200 ms and no failures ("## Load: capacity" with `--write`).
"""

import argparse
import csv
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import kept_password, process_env, stop, write_section  # noqa: E402
from load import report  # noqa: E402
from load.querylog import Source, build_log, without_commonest  # noqa: E402
from run_all import header_lines  # noqa: E402

PYTHON = sys.executable
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"
STAFF_USERNAME = "loadstaff"
STAFF_PASSWORD = "load-test-staff-password"  # noqa: S105 - a throwaway bench database
FIRST_ID = 1_000_001  # generate_movies' default --start-id
ONE_OFF_SOURCES = 3000  # sampled movies the one-off queries are made from
LOCUST_START_S = 10  # locust's start-up (the plan read) before it spawns anyone
# The locustfile's PROBES (importing it needs a plan and starts gevent)
PROBE_CLASSES = ("suggest", "fragment", "search page", "filters", "api", "movie page")


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


def prepare_site():
    """Django's tables and the staff account."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as `manage.py serve` does
    user, _ = get_user_model().objects.get_or_create(username=STAFF_USERNAME)
    user.is_staff = True
    user.set_password(STAFF_PASSWORD)
    user.save()


def sample_sources(args, rng):
    """A sample of the loaded movies (title, people, plot), read once: what queries are
    made of."""
    from search import keys, store

    pipe = store.client().pipeline(transaction=False)
    for movie_id in rng.sample(
        range(FIRST_ID, FIRST_ID + args.movies), min(args.movies, args.sample)
    ):
        pipe.hmget(keys.movie_key(movie_id), "title", "director", "cast", "plot")
    return without_commonest([Source.of(*row) for row in pipe.execute() if row[0]])


def write_plan(args, rundir):
    """The load plan (plan.json) the locustfile reads: the query log, the movies one-off
    queries come from, facet values, movie ids, the staff login."""
    from search import facets

    rng = random.Random(7)
    sources = sample_sources(args, rng)
    log = build_log(sources, args.queries, rng)
    plan = {
        "queries": log,
        "zipf_s": args.zipf_s,
        "one_off_share": args.one_off_share,
        "sources": [s.to_json() for s in rng.sample(sources, min(len(sources), ONE_OFF_SOURCES))],
        "sampled": len(sources),
        "warm_cache": args.warm_cache,
        "facets": {k: [value for value, _ in facets.filter_options().facets[k]][:15]
                   for k in ("genre", "language")},
        "first_id": FIRST_ID,
        "last_id": FIRST_ID + args.movies - 1,
        "staff_username": STAFF_USERNAME,
        "staff_password": STAFF_PASSWORD,
    }  # fmt: skip
    print(f"query log: {len(log):,} distinct queries from {len(sources):,} sampled movies")
    path = rundir / "plan.json"
    path.write_text(json.dumps(plan))
    return path, plan


def fresh_cache(args):
    """Start from an empty result cache (a new generation, as an import makes) unless
    --warm-cache: queries left cached by an earlier run would count as hits. Then warm
    the whole-catalogue filter options (filter_cache, 30 min), as a site in service has
    them: the first request would otherwise pay for the match-all aggregations."""
    from search import facets, store

    if not args.warm_cache:
        store.bump_generation()
    facets.filter_options()


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
    """gunicorn as `manage.py serve` runs it (serve's defaults where no option says
    otherwise), and the metrics collector beside it."""
    from config.management.commands import serve

    chosen = {"worker_class": args.worker_class, "workers": args.workers,
              "threads": args.threads, "worker_connections": args.worker_connections}  # fmt: skip
    options = serve.serve_options(
        host="127.0.0.1",
        port=args.web_port,
        **{name: value for name, value in chosen.items() if value is not None},
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
    return gunicorn, collector, server_settings(options)


def server_settings(options):
    """The worker class and its settings, as gunicorn's command line names them."""
    text = f"--worker-class {options['worker_class']} --workers {options['workers']}"
    if options["worker_class"] != "asgi":
        text += f" --threads {options['threads']}"
    if options["worker_class"] != "gthread":
        text += f" --worker-connections {options['worker_connections']}"
    return text + f" --keep-alive {options['keep_alive']}"


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
        """(cores busy per group, cores busy on the machine, seconds measured)."""
        elapsed = time.monotonic() - self.started
        per_group = {}
        for pid, (name, seconds) in self.seen.items():
            per_group[name] = per_group.get(name, 0) + seconds - self.baseline[pid]
        end = self.psutil.cpu_times()
        busy = sum(end) - end.idle - (sum(self.machine_start) - self.machine_start.idle)
        cores = {name: seconds / elapsed for name, seconds in per_group.items()}
        return cores, busy / elapsed, elapsed


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


def run_locust(args, rundir, plan, host, users, run_time, reset_stats=False, seen=None,
               probe=None):  # fmt: skip
    """Locust headless as this process's child (its CSVs and counts go to `rundir`): the
    site's users, or with `probe` one endpoint class alone."""
    env = dict(os.environ, LOAD_PLAN=str(plan), LOAD_PAGE_VIEWS_OUT=str(rundir / "sent.json"),
               LOAD_SPAWNED_OUT=str(rundir / "spawned"),
               LOAD_ONEOFFS_SEEN=str(seen or ""), LOAD_PROBE=probe or "",
               LOAD_RESET_STATS="1" if reset_stats else "")  # fmt: skip
    users_run = ["Probe"] if probe else ["Visitor", "Crawler", "Staff"]
    command = [
        PYTHON, "-m", "locust", "-f", str(LOCUSTFILE), *users_run, "--headless",
        "--host", host, "--users", str(users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", run_time, "--stop-timeout", "90",
        "--csv", str(rundir / "locust"), "--only-summary", "--loglevel", "WARNING",
        "--logfile", str(rundir / "locust.log"),
    ]  # fmt: skip
    if reset_stats:
        command.append("--reset-stats")  # the figures start once every user is spawned
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


@dataclass
class Site:
    """The site under load: what each measured run needs."""

    host: str
    redis: object  # a client of the bench Redis (INFO, SLOWLOG)
    pids: dict  # "gunicorn", "redis" -> pid
    plan_path: Path
    plan: dict
    server: str  # gunicorn's settings


def locust_failures(rundir):
    path = rundir / "locust_failures.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return [f"{row['Method']} {row['Name']}: {row['Error']} ×{row['Occurrences']}"
                for row in csv.DictReader(handle)]  # fmt: skip


def seconds_of(duration):
    """Locust's duration syntax ("90s", "5m", "1h30m", "300") in seconds."""
    parts = re.findall(r"(\d+)\s*([hms]?)", duration)
    return sum(int(n) * {"h": 3600, "m": 60}.get(unit, 1) for n, unit in parts)


def measure(args, site, users, run_time, rundir, step_time=None, seen=None, probe=None):
    """One locust run of `users`; with `step_time`, the figures start once every user is
    spawned (locust --reset-stats, the CPU and Redis command time likewise); with `probe`,
    one endpoint class alone."""
    from insights import store as insights_store

    rundir.mkdir(parents=True, exist_ok=True)
    site.redis.slowlog_reset()
    start_ms = insights_store.now_ms()
    before = recorded_page_views(start_ms)
    spawned = rundir / "spawned"
    meter = commands_before = None

    def begin(pids):
        started = CpuMeter()
        started.sample(pids)  # the baselines
        return started, site.redis.info("commandstats")

    if step_time is None:
        meter, commands_before = begin(site.pids)
    locust = run_locust(args, rundir, site.plan_path, site.host, users, run_time,
                        reset_stats=step_time is not None, seen=seen, probe=probe)  # fmt: skip
    pids = {**site.pids, "locust": locust.pid}
    locust_peak, last_locust = 0.0, None
    while locust.poll() is None:
        time.sleep(2 if meter else 0.25)
        if meter is None:
            if spawned.exists():
                meter, commands_before = begin(pids)
            continue
        meter.sample(pids)
        locust_seconds = sum(s for n, s in meter.seen.values() if n == "locust")
        now = time.monotonic()
        if last_locust:
            locust_peak = max(
                locust_peak, (locust_seconds - last_locust[1]) / (now - last_locust[0])
            )
        last_locust = (now, locust_seconds)
    if meter is None:
        raise SystemExit(f"locust ended before every user was spawned: see {rundir}/locust.log")
    commands_after = site.redis.info("commandstats")
    cpu_groups, cpu_machine, elapsed = meter.totals()
    delta = wait_for_flush(before, start_ms)
    series_total = series_page_views(start_ms)
    redis_time = command_time(commands_before, commands_after)
    rows = read_stats(rundir / "locust")
    sent_data = json.loads((rundir / "sent.json").read_text())
    agg = next(row for row in rows if row["Name"] == "Aggregated")
    requests = max(int(agg["Request Count"]), 1)
    per_request = lambda seconds: seconds * 1000 / requests  # noqa: E731
    sent = sent_data["page_views"]
    result = {
        "server": site.server,
        "movies": args.movies,
        "redis_memory": site.redis.info("memory")["used_memory_human"],
        "users": users,
        "spawn_rate": args.spawn_rate,
        "run_time": run_time,
        "step_time": step_time,
        "measured_s": round(elapsed),
        "aggregated": agg,
        "rows": rows,
        "sent": sent,
        "unanswered": sent_data["unanswered"],
        "recorded": delta,
        "sent_total": sum(sent.values()),
        "recorded_total": sum(delta.values()),
        "series_total": series_total,
        "failures": locust_failures(rundir),
        "slowlog": len(site.redis.slowlog_get(128)),
        "redis_time": redis_time,
        "cpu": {"groups": cpu_groups, "machine": cpu_machine, "locust_peak": locust_peak},
        "cost": {
            "gunicorn_ms": per_request(cpu_groups.get("gunicorn", 0) * elapsed),
            "redis_ms": per_request(sum(seconds for _, seconds, _ in redis_time)),
            "locust_ms": per_request(cpu_groups.get("locust", 0) * elapsed),
        },
        "cache": sent_data["cache"],
        "queries": sent_data["queries"],
        "top_queries": sent_data["top_queries"],
        "prefixes": sent_data["prefixes"],
        "plan": {k: site.plan[k] for k in ("sampled", "warm_cache", "zipf_s", "one_off_share")},
    }
    result["goals"] = {
        "errors": int(agg["Failure Count"]) == 0 and int(agg["Request Count"]) > 0,
        "p99": number(agg["99%"]) <= report.P99_GOAL_MS,
        "page_views": sent == delta and sum(sent.values()) == series_total,
        "gunicorn_cpu": result["cost"]["gunicorn_ms"] <= report.GUNICORN_MS_GOAL,
        "redis_time": result["cost"]["redis_ms"] <= report.REDIS_MS_GOAL,
    }
    (rundir / "oneoffs.json").write_text(json.dumps(sent_data["one_offs_made"]))
    (rundir / "summary.json").write_text(json.dumps(result, indent=1, default=str))
    return result


def step_run_time(args, users, step_time):
    """Locust's --run-time for `step_time` measured after its start and ramp-up."""
    ramp = math.ceil(users / args.spawn_rate)
    return f"{ramp + seconds_of(step_time) + LOCUST_START_S}s"


def find_capacity(args, site, rundir):
    """Short runs at increasing user counts, each from an empty result cache; stops after
    two counts in a row miss p99 or have failures (one may be the machine's noise), unless
    --all-steps."""
    steps, seen = [], None
    for users in args.find_capacity:
        if steps:
            fresh_cache(args)
        run_time = step_run_time(args, users, args.step_time)
        print(f"capacity step: {users:,} users, {run_time} in all")
        step = measure(args, site, users, run_time, rundir / f"users-{users}",
                       step_time=args.step_time, seen=seen)  # fmt: skip
        seen = rundir / f"users-{users}" / "oneoffs.json"  # one-offs stay unique across steps
        steps.append(step)
        agg = step["aggregated"]
        print(f"  {number(agg['Requests/s']):.1f} requests/s, p99 {agg['99%']} ms, "
              f"{agg['Failure Count']} failures")  # fmt: skip
        missed = [not report.step_passes(s) for s in steps[-2:]]
        if len(missed) == 2 and all(missed) and not args.all_steps:
            break
    return steps


def cost_per_class(args, site, rundir, seen):
    """Each endpoint class alone for --cost-per-class, from the cache the run left: what
    one request of it costs in gunicorn CPU and Redis command time."""
    probes = {}
    for name in PROBE_CLASSES:
        print(f"cost of {name}: {args.probe_users} users, {args.cost_per_class}")
        slug = name.replace(" ", "-")
        run_time = step_run_time(args, args.probe_users, args.cost_per_class)
        probes[name] = measure(args, site, args.probe_users, run_time, rundir / f"probe-{slug}",
                               step_time=args.cost_per_class, seen=seen, probe=name)  # fmt: skip
        seen = rundir / f"probe-{slug}" / "oneoffs.json"
    return probes


def run(args, command_line):
    """Serve the bench catalogue and load it: one run, or the capacity search."""
    server, how = start_server(args)
    print(f"bench Redis Stack on port {server.port}: {how}")
    workdir = workdir_for(args.movies)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    mode = "capacity" if args.find_capacity else f"{args.users}u"
    rundir = workdir / "runs" / f"{stamp}-{args.worker_class or 'serve'}-{mode}"
    env = django_env(server, workdir)
    gunicorn = collector = None
    try:
        setup_django(env)
        ensure_movies(args, env)
        if args.prepare_only:
            return None
        rundir.mkdir(parents=True, exist_ok=True)
        prepare_site()
        fresh_cache(args)
        plan_path, plan = write_plan(args, rundir)
        gunicorn, collector, settings_text = start_web(args, env, rundir)
        site = Site(host=f"http://127.0.0.1:{args.web_port}", redis=server.client(),
                    pids={"gunicorn": gunicorn.pid, "redis": server.pid()},
                    plan_path=plan_path, plan=plan, server=settings_text)  # fmt: skip
        header = header_lines(command_line)
        if args.find_capacity:
            steps = find_capacity(args, site, rundir)
            stopped = len(steps) < len(args.find_capacity)
            return {"capacity": steps, "header": header, "stopped_early": stopped}
        result = measure(args, site, args.users, args.run_time, rundir)
        if args.cost_per_class:
            result["probes"] = cost_per_class(args, site, rundir, rundir / "oneoffs.json")
        import locust as locust_module

        result.update(command=command_line, machine=machine(), header=header,
                      locust_version=locust_module.__version__,
                      date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))  # fmt: skip
        (rundir / "summary.json").write_text(json.dumps(result, indent=1, default=str))
        return result
    finally:
        for process in (gunicorn, collector):
            if process is not None:
                stop(process)
        if not args.reuse:
            print(f"bench Redis Stack: {server.stop(timeout=600)} (data kept in {workdir})")


def counts(text):
    return [int(n) for n in text.split(",") if n.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--movies", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--run-time", default="5m")
    # serve's WORKER_CLASSES (importing serve needs the settings, configured later); each
    # of these four defaults to what `manage.py serve` runs (its options and WEB_* variables)
    parser.add_argument("--worker-class", choices=("gthread", "gevent", "asgi"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--worker-connections", type=int)
    parser.add_argument("--web-port", type=int, default=8391)
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--maxmemory", default="8gb")
    parser.add_argument("--queries", type=int, default=30_000,
                        help="distinct queries in the log")  # fmt: skip
    parser.add_argument("--zipf-s", type=float, default=1.0,
                        help="the log's rank r is drawn with weight 1 / r**s")  # fmt: skip
    parser.add_argument("--one-off-share", type=float, default=0.12,
                        help="share of drawn queries made fresh, never repeated")  # fmt: skip
    parser.add_argument("--sample", type=int, default=10_000,
                        help="movies read to build the query log")  # fmt: skip
    parser.add_argument("--warm-cache", action="store_true",
                        help="keep earlier runs' cached results (default: none)")  # fmt: skip
    parser.add_argument("--find-capacity", type=counts, metavar="50,100,200",
                        help="short runs at these user counts instead of one run")  # fmt: skip
    parser.add_argument("--step-time", default="90s",
                        help="each capacity step's measured time, after its ramp-up")  # fmt: skip
    parser.add_argument("--all-steps", action="store_true",
                        help="run every capacity step, even after one misses")  # fmt: skip
    parser.add_argument("--cost-per-class", metavar="30s",
                        help="after the run, each endpoint class alone for this long")  # fmt: skip
    parser.add_argument("--probe-users", type=int, default=8,
                        help="users sending one endpoint class without pauses")  # fmt: skip
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
    if "capacity" in result:
        text = report.capacity_report(result["capacity"], result["header"], result["stopped_early"])
        section = "load-capacity"
    else:
        text, section = report.single_report(result), "load-test"
    print(text)
    if args.write:
        write_section(args.write, section, text)
        print(f"wrote the {section} section of {args.write}")
    if section == "load-test" and not all(result["goals"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
