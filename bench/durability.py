"""Durability: kill -9 Redis mid-import and mid-tracking, restart it, measure what was lost.

From the project root:

    .venv/bin/python bench/durability.py --movies 1000000 --write docs/RELIABILITY.md

1. starts its own Redis Stack (the project's redis.conf: AOF, fsync every second) in
   `var/bench/durability/redis` (emptied first), and writes N synthetic movies to a JSONL
   file (kept between runs for the same N and seed);
2. imports the file with the project's importer in this process, recording for every
   pipeline batch Redis acknowledged its movie ids and the time of the acknowledgement;
3. at a random point of the import, `kill -9`s redis-server, restarts it on the same data
   directory (AOF replay) and waits until the indexes are rebuilt;
4. checks: every movie acknowledged more than one second before the crash is there; how
   many acknowledged in the last second are missing; FT.INFO num_docs equals the number
   of `movie:` keys (SCAN); every movie hash keeps its autocomplete strings, the
   phonetic index holds every movie and the autocomplete dictionary exactly their entries;
5. re-runs the whole import: no duplicates (movies == distinct ids in the file, updated ==
   the movies that survived the crash), created_at kept for the movies written before it;
6. tracking under load: gunicorn (gthread, insights recording in background batches as in
   production) serves movie pages to a paced HTTP load; Redis is killed mid-load and
   restarted; the page views recorded (the `user_activity:page_views` series) and the
   request totals (operations) are compared with the responses the clients received.

Prints a Markdown report; `--write FILE` puts it between the durability markers of FILE.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import process_env, write_section  # noqa: E402

AOF_WINDOW_SECONDS = 1.0  # appendfsync everysec: what a crash may take, at most about
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
CHUNK = 10_000


# --- the import under a crash (used by tests/reliability/test_durability.py too) ---------


@dataclass
class ImportRun:
    acks: list = field(default_factory=list)  # [(acknowledged at, [movie ids])]
    crash_time: float | None = None
    error: str | None = None
    seconds: float = 0.0

    def acked(self, until=None, since=None):
        return [
            movie_id
            for at, ids in self.acks
            if (until is None or at <= until) and (since is None or at > since)
            for movie_id in ids
        ]


def import_and_kill(path, kill, kill_when, batch_size=None, poll=0.002):
    """Import `path` in a thread, recording each acknowledged batch; call `kill()` as soon
    as `kill_when(number of acknowledged movies)` is true. The import then fails on its
    next round trip; its error is kept in the result."""
    from search import importer

    run = ImportRun()
    original = importer.MovieWriter.flush

    def recording_flush(writer):
        ids = list(writer.pending)
        original(writer)
        if ids:  # returned: Redis answered every command of the batch
            run.acks.append((time.time(), ids))

    def target():
        try:
            importer.import_file(path, batch_size=batch_size or importer.BATCH_SIZE)
        except Exception as exc:  # the expected ConnectionError once Redis is gone
            run.error = f"{type(exc).__name__}: {exc}"

    importer.MovieWriter.flush = recording_flush
    started = time.perf_counter()
    try:
        thread = threading.Thread(target=target, name="import-under-crash", daemon=True)
        thread.start()
        while thread.is_alive():
            if kill_when(sum(len(ids) for _, ids in run.acks)):
                run.crash_time = time.time()
                kill()
                break
            time.sleep(poll)
        thread.join(120)
    finally:
        importer.MovieWriter.flush = original
    run.seconds = time.perf_counter() - started
    return run


def _scan_ids(pattern):
    from search import store

    prefix_length = len(pattern) - 1
    return {int(key[prefix_length:]) for key in store.client().scan_iter(match=pattern, count=5000)}


def wait_for_indexes():
    """After a restart RediSearch rebuilds both indexes from the loaded hashes."""
    from search import keys, store

    store.wait_until_indexed(store.live_index_name())
    store.wait_until_indexed(keys.SUGGESTIONS_INDEX)


def consistency():
    """Index against data: movie keys, indexed documents, the movies keeping their
    autocomplete strings and the phonetic index, the autocomplete dictionary against the
    entries the movies call for."""
    from search import keys, ranking, store

    r = store.client()
    movies = _scan_ids(f"{keys.movie_prefix()}*")
    suggestions, wanted = set(), set()
    ordered = sorted(movies)
    for start in range(0, len(ordered), CHUNK):
        pipe = r.pipeline(transaction=False)
        chunk = ordered[start : start + CHUNK]
        for movie_id in chunk:
            pipe.hmget(keys.movie_key(movie_id), "title", "year", "autocomplete")
        for movie_id, (title, year, strings) in zip(chunk, pipe.execute(), strict=True):
            wanted.update(ranking.autocomplete_strings(title, year))
            if strings is not None:
                suggestions.add(movie_id)
    return {
        "movie_keys": len(movies),
        "num_docs": store.movie_count(),
        "suggestion_keys": len(suggestions),
        "suggestion_docs": int(r.ft(keys.SUGGESTIONS_INDEX).info()["num_docs"]),
        "suggestions_match_movies": suggestions == movies,
        "autocomplete_entries": int(r.execute_command("FT.SUGLEN", keys.AUTOCOMPLETE_KEY)),
        "autocomplete_expected": len(wanted),
        "movie_ids": movies,
    }


def missing(ids):
    from search import keys, store

    r = store.client()
    absent = 0
    for start in range(0, len(ids), CHUNK):
        pipe = r.pipeline(transaction=False)
        for movie_id in ids[start : start + CHUNK]:
            pipe.exists(keys.movie_key(movie_id))
        absent += sum(1 for found in pipe.execute() if not found)
    return absent


def created_at(ids):
    from search import keys, store

    pipe = store.client().pipeline(transaction=False)
    for movie_id in ids:
        pipe.hget(keys.movie_key(movie_id), "created_at")
    return dict(zip(ids, pipe.execute(), strict=True))


def crash_figures(run):
    """What the crash took: acknowledged movies missing, split at one second before it."""
    window_start = run.crash_time - AOF_WINDOW_SECONDS
    old, recent = run.acked(until=window_start), run.acked(since=window_start)
    return {
        "acked": len(old) + len(recent),
        "acked_in_last_second": len(recent),
        "lost_before_last_second": missing(old),
        "lost_in_last_second": missing(recent),
    }


def file_ids(path):
    with open(path, encoding="utf-8") as lines:
        return {json.loads(line)["id"] for line in lines if line.strip()}


# --- tracking under load -------------------------------------------------------------


class PacedLoad:
    """`threads` keep-alive HTTP clients sharing a steady request rate; each response is
    recorded with the time it arrived."""

    def __init__(self, port, paths, rate, threads=8):
        self.port, self.paths, self.rate, self.threads = port, paths, rate, threads
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.responses = []  # (received at, status)
        self.workers = []

    def start(self):
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self.workers.append(worker)

    def _run(self, n):
        rng = random.Random(n)
        interval = self.threads / self.rate
        due = time.monotonic() + n * interval / self.threads
        conn = None
        while not self.stop.is_set():
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            due += interval
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", rng.choice(self.paths), headers={"User-Agent": BROWSER_UA})
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn = None
                status = None
            with self.lock:
                self.responses.append((time.time(), status))

    def finish(self):
        self.stop.set()
        for worker in self.workers:
            worker.join(15)


def web_env(server, workdir):
    return process_env(
        server.port,
        workdir,
        password=server.password,
        SECRET_KEY="durability-bench-" + secrets.token_hex(24),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATIC_ROOT=str(workdir / "static"),
        LOG_LEVEL="ERROR",
    )


def wait_for_http(port, path="/health/redis", timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn on {port} did not become healthy in {timeout} s")


def page_views_recorded(start_ms, end_ms):
    from insights import store as insights_store
    from insights.series import page_views_series

    samples = insights_store.client().ts().range(page_views_series().key, start_ms, end_ms)
    return int(sum(value for _, value in samples))


def tracking_under_load(server, workdir, movie_ids, args):
    from config.embedded_redis import free_port
    from config.redis_stores import reset_pools
    from operations import metrics_store

    env = web_env(server, workdir)
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT,
                   env=env, check=True)  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity",
                    "0"], cwd=ROOT, env=env, check=True)  # fmt: skip
    port = free_port()
    log_file = open(workdir / "gunicorn-stderr.log", "w")  # noqa: SIM115 - closed by the OS at exit
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--worker-class", "gthread", "--workers", "2", "--threads", "8",
         "--error-logfile", str(workdir / "gunicorn.log")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
    )  # fmt: skip
    try:
        wait_for_http(port)
        paths = [f"/movies/{i}/" for i in random.Random(3).sample(sorted(movie_ids), 2000)]
        for path in paths[:20]:  # warm both workers' series and connections
            wait_for_http(port, path)
        time.sleep(1.0)
        requests_before = metrics_store.request_totals()["requests"]
        start_ms = int(time.time() * 1000)
        load = PacedLoad(port, paths, args.rate, threads=16)
        load.start()
        time.sleep(args.tracking_seconds * random.Random(args.seed).uniform(0.5, 0.8))
        crash_time = time.time()
        server.kill()
        time.sleep(0.5)  # a few requests meet the outage (503s), as real clients would
        load.finish()
        down_seconds = time.time() - crash_time
        restart_started = time.perf_counter()
        server.start(timeout=3600)  # replaying the AOF of a million movies takes minutes
        reset_pools()
        restart_seconds = time.perf_counter() - restart_started
        time.sleep(1.0)  # let the workers' writers reconnect (they write nothing new)
        ok = [at for at, status in load.responses if status == 200 and at <= crash_time]
        window = crash_time - AOF_WINDOW_SECONDS
        acked_old = sum(1 for at in ok if at <= window)
        before_crash = [at for at, _status in load.responses if at <= crash_time]
        # Request figures are queued and written every 50 ms; those of requests answered
        # after the kill cannot be written at all (and are counted as not recorded).
        answered = [at for at, status in load.responses if status is not None and at <= crash_time]
        end_ms = int(crash_time * 1000) + 5_000
        recorded_old = page_views_recorded(start_ms, int(window * 1000))
        recorded_all = page_views_recorded(start_ms, end_ms)
        requests_recorded = metrics_store.request_totals()["requests"] - requests_before
        seconds = crash_time - start_ms / 1000
        return {
            "seconds_before_kill": seconds,
            "rate": len(before_crash) / seconds,
            "page_views_acked": len(ok),
            "page_views_acked_in_last_second": len(ok) - acked_old,
            "page_views_recorded": recorded_all,
            # Server stamps a hit before the client gets its response, so with nothing
            # lost the series holds at least every hit answered by (crash - 1 s).
            "lost_before_last_second": max(0, acked_old - recorded_old),
            "page_views_lost": max(0, len(ok) - recorded_all),
            "requests_answered": len(answered),
            "requests_answered_in_last_second": sum(1 for at in answered if at > window),
            "requests_recorded": requests_recorded,
            "requests_lost": max(0, len(answered) - requests_recorded),
            "down_seconds": down_seconds,
            "restart_seconds": restart_seconds,
        }
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()


# --- the run -------------------------------------------------------------------------


def generate_file(path, count, seed):
    if path.exists():
        return
    partial = path.with_suffix(".partial")
    subprocess.run(
        [sys.executable, "manage.py", "generate_movies", "--count", str(count), "--seed",
         str(seed), "--output", str(partial)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    partial.rename(path)


def start_server(workdir, maxmemory):
    from config.embedded_redis import EmbeddedRedis, free_port

    data = workdir / "redis"
    shutil.rmtree(data, ignore_errors=True)
    server = EmbeddedRedis(port=free_port(), data_dir=data, password=secrets.token_hex(16),
                           maxmemory=maxmemory)  # fmt: skip
    server.start()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(server.port),
        REDIS_PASSWORD=server.password,
        REDIS_EMBEDDED="false",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        LOG_LEVEL="ERROR",
    )
    os.environ.setdefault("SECRET_KEY", "durability-bench-" + secrets.token_hex(24))
    import django

    django.setup()
    return server


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args):
    workdir = ROOT / "var" / "bench" / "durability"
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"movies-{args.movies}-seed{args.seed}.jsonl"
    log(f"generating {args.movies:,} movies into {path.name} (kept for later runs)")
    generate_file(path, args.movies, args.seed)
    server = start_server(workdir, args.maxmemory)
    from config.redis_stores import reset_pools
    from search import importer, indexing

    config = server.client().config_get("append*")
    log(f"Redis {server.port}: appendonly={config['appendonly']}, "
        f"appendfsync={config['appendfsync']}")  # fmt: skip
    indexing.ensure_indexes()
    results = {"movies": args.movies, "appendfsync": config["appendfsync"]}
    try:
        rng = random.Random(args.seed)
        kill_at = int(args.movies * rng.uniform(0.3, 0.7))
        log(f"importing; kill -9 once {kill_at:,} movies are acknowledged")
        crash = import_and_kill(path, server.kill, lambda acked: acked >= kill_at)
        if crash.crash_time is None:
            raise SystemExit(f"the import ended before the kill point: {crash.error}")
        log(f"killed after {crash.seconds:.0f} s; import thread: {crash.error}")
        started = time.perf_counter()
        server.start(timeout=3600)
        reset_pools()
        results["restart_seconds"] = time.perf_counter() - started
        wait_for_indexes()
        results["reindex_seconds"] = time.perf_counter() - started
        log(f"restarted in {results['restart_seconds']:.1f} s, indexes rebuilt after "
            f"{results['reindex_seconds']:.0f} s")  # fmt: skip
        results["import_rate"] = crash.acked().__len__() / max(crash.seconds, 1e-9)
        results.update(crash_figures(crash))
        after_crash = consistency()
        survivors = after_crash.pop("movie_ids")
        results["after_crash"] = after_crash
        sample = rng.sample(crash.acked(), min(20_000, len(crash.acked())))
        created_before = created_at(sample)

        log("re-running the whole import")
        summary = importer.import_file(path)
        wait_for_indexes()
        after_rerun = consistency()
        present = after_rerun.pop("movie_ids")
        distinct = file_ids(path)
        created_after = created_at(sample)
        results["rerun"] = after_rerun | {
            "read": summary.read,
            "imported": summary.imported,
            "updated": summary.updated,
            "rejected": len(summary.rejected),
            "survivors": len(survivors),
            "distinct_ids_in_file": len(distinct),
            "movies_equal_file": present == distinct,
            "created_at_checked": len(sample),
            "created_at_changed": sum(1 for i in sample if created_before[i] != created_after[i]),
            "seconds": summary.seconds,
        }
        if args.json:  # kept even if the tracking phase fails
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        log(f"import phase: {json.dumps(results, default=str)}")
        if not args.skip_tracking:
            log(f"tracking under load: {args.rate}/s for about {args.tracking_seconds} s")
            results["tracking"] = tracking_under_load(server, workdir, present, args)
    finally:
        server.stop(save=False)
    return results


def yes(flag):
    return "yes" if flag else "**NO**"


def report(r):
    a, b = r["after_crash"], r["rerun"]
    lines = [
        f"Measured by `bench/durability.py --movies {r['movies']}` on "
        f"{time.strftime('%Y-%m-%d')} (2 shared cores; appendfsync {r['appendfsync']}).",
        "",
        "| kill -9 during the import | figure |",
        "|---|---|",
        f"| movies acknowledged before the kill | {r['acked']:,} |",
        f"| import rate until then | {r['import_rate']:,.0f} movies/s |",
        f"| acknowledged more than 1 s before the kill, missing after restart (must be 0) "
        f"| **{r['lost_before_last_second']}** |",
        f"| acknowledged in the last second | {r['acked_in_last_second']:,} |",
        f"| of those, missing after restart | **{r['lost_in_last_second']}** |",
        f"| restart (AOF replay) / indexes rebuilt | {r['restart_seconds']:.1f} s / "
        f"{r['reindex_seconds']:.0f} s |",
        f"| `movie:` keys (SCAN) / FT.INFO num_docs | {a['movie_keys']:,} / {a['num_docs']:,} |",
        f"| movies keeping their autocomplete strings / phonetic index / all movies | "
        f"{a['suggestion_keys']:,} / "
        f"{a['suggestion_docs']:,} / {yes(a['suggestions_match_movies'])} |",
        f"| autocomplete entries / expected from the movies | {a['autocomplete_entries']:,} / "
        f"{a['autocomplete_expected']:,} |",
        "",
        "| re-running the whole import | figure |",
        "|---|---|",
        f"| read / imported (new) / updated / rejected | {b['read']:,} / {b['imported']:,} / "
        f"{b['updated']:,} / {b['rejected']} |",
        f"| movies that survived the crash / updated by the re-run | {b['survivors']:,} / "
        f"{b['updated']:,} |",
        f"| `movie:` keys / num_docs / distinct ids in the file | {b['movie_keys']:,} / "
        f"{b['num_docs']:,} / {b['distinct_ids_in_file']:,} |",
        f"| the movies are exactly the file's ids (no duplicates, none missing) | "
        f"{yes(b['movies_equal_file'])} |",
        f"| suggestions: movies with strings / indexed / all | {b['suggestion_keys']:,} / "
        f"{b['suggestion_docs']:,} / {yes(b['suggestions_match_movies'])} |",
        f"| autocomplete entries / expected | {b['autocomplete_entries']:,} / "
        f"{b['autocomplete_expected']:,} |",
        f"| created_at changed, of {b['created_at_checked']:,} pre-crash movies sampled "
        f"| {b['created_at_changed']} |",
        f"| re-run time | {b['seconds']:.0f} s |",
    ]
    t = r.get("tracking")
    if t:
        lines += [
            "",
            "| kill -9 during tracking under load (HTTP to gunicorn, 2 workers × 8 threads) "
            "| figure |",
            "|---|---|",
            f"| load before the kill | {t['rate']:,.0f} requests/s for "
            f"{t['seconds_before_kill']:.0f} s |",
            f"| page views answered 200 before the kill | {t['page_views_acked']:,} |",
            f"| answered more than 1 s before the kill, not recorded (must be 0) | "
            f"**{t['lost_before_last_second']}** |",
            f"| answered in the last second | {t['page_views_acked_in_last_second']:,} |",
            f"| page views recorded / lost in all | {t['page_views_recorded']:,} / "
            f"**{t['page_views_lost']}** |",
            f"| requests answered before the kill / in the request metrics / missing | "
            f"{t['requests_answered']:,} / {t['requests_recorded']:,} / "
            f"**{t['requests_lost']}** (answered in its last second: "
            f"{t['requests_answered_in_last_second']:,}) |",
            f"| Redis down / restart | {t['down_seconds']:.1f} s / {t['restart_seconds']:.1f} s |",
        ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movies", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--maxmemory", default="8gb", help="of the bench's own server")
    parser.add_argument("--rate", type=int, default=200, help="page views per second")
    parser.add_argument("--tracking-seconds", type=float, default=30.0)
    parser.add_argument("--skip-tracking", action="store_true")
    parser.add_argument("--write", help="put the report into this Markdown file's section")
    parser.add_argument("--json", help="also save the raw figures here")
    args = parser.parse_args()
    results = run(args)
    text = report(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if args.write:
        write_section(args.write, "durability", text)


if __name__ == "__main__":
    main()
