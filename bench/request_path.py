"""Request-path benchmark: what one request costs over loopback HTTP, beside its floors.

Starts a Redis Stack of its own in a temporary directory and imports the bundled
catalogue (`data/movies.jsonl.gz`) with the project's importer, or with `--port` uses a
Redis Stack already running and holding a catalogue. Then it starts gunicorn as
`manage.py serve` does (`serve_options`, `gunicorn_command`; one worker by default, so
the CPU per request is one process's) with insights tracking on and its background
recorder, as in production; the metrics collector is not started. One client thread
sends requests over one keep-alive connection with a browser's User-Agent, and measures:

1. cached paths (issue #14, goal 2): the search page, its live-typing fragment,
   `/api/search`, a movie page and suggestions, each URL warmed twice (pages are kept from
   their second view on) and then cycled over distinct queries, ids and prefixes drawn
   from the catalogue; beside the floor of
   the stack (a static file through WhiteNoise) and a Django view with no app work
   (`/favicon.ico`, a redirect through every middleware);
2. uncached `/api/search` against the engine (goal 1): per query class of the search
   bench's `typical_queries()`, the bare FT.SEARCH of the same query as the search bench
   sends it, alternated with `/api/search` over HTTP whose search cache entries
   (`search_cache:<generation>:*`) are deleted before each request, outside the timing;
3. cost per request (goal 3), per endpoint class: gunicorn CPU (master and workers,
   psutil) and Redis command time (INFO commandstats, less the bench's own INFO, SCAN
   and UNLINK) per request, with the dearest commands.

Cached and uncached paths are measured in alternating rounds (ABBA), so a noisy
neighbour on the machine costs each of them alike.

    .venv/bin/python bench/request_path.py                      # bundled catalogue
    .venv/bin/python bench/request_path.py --port 6391 \\
        --password-file var/bench/load-1000000/redis-password --write docs/BENCHMARKS.md
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, urlencode

from common import (
    ROOT,
    bare_ft_search,
    percentile,
    process_env,
    setup_django,
    start_redis_and_django,
    stop,
    write_section,
)
from load.server_timing import cache_answer
from run_all import header_lines
from search_bench import query_dict, typical_queries

BUNDLED = ROOT / "data" / "movies.jsonl.gz"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# What static/js/search.js sends while typing; fetch() accepts anything by default.
FETCH = {"X-Requested-With": "fetch", "Accept": "*/*"}
SCRIPT = {"Accept": "*/*"}
# Goals of issue #14: p50 over loopback HTTP (ms), and per request on average.
CACHED_GOALS_MS = {
    "search page": 3,
    "fragment": 2.5,
    "api search": 2,
    "movie page": 3,
    "suggest": 1.5,
}
RATIO_GOAL = 1.3
CPU_GOAL_MS = 3.0
REDIS_GOAL_MS = 1.5
# Commands only the bench sends on these paths: left out of the request's Redis time.
BENCH_COMMANDS = {"info", "scan", "unlink"}
FLUSH_WAIT_S = 0.35  # the insights recorder writes every 0.25 s
FILTER_KEYS = {"genre", "language", "country", "year_min", "year_max"}


# --- HTTP -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    ms: float
    cache: str  # "hit", "miss", or "" when the server says nothing (Server-Timing)
    location: str = ""


class Browser:
    """One keep-alive connection that keeps cookies, as one browser tab would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connections = 1
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, url: str, headers: dict | None = None) -> Answer:
        try:
            return self._get(url, headers or {})
        except (http.client.RemoteDisconnected, ConnectionError):
            # gunicorn closes an idle keep-alive connection: reconnect, and time it again
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connections += 1
            return self._get(url, headers or {})

    def _get(self, url: str, headers: dict) -> Answer:
        sent = {
            "User-Agent": USER_AGENT,
            "Accept": HTML,
            "Accept-Encoding": "gzip, deflate",
            "Accept-Language": "en-GB,en;q=0.9",
            **headers,
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        self.connection.request("GET", url, headers=sent)
        response = self.connection.getresponse()
        response.read()
        ms = (time.perf_counter() - started) * 1000
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        cache = cache_answer(response.getheader("Server-Timing"))
        cache = "" if cache == "absent" else cache
        return Answer(response.status, ms, cache, response.getheader("Location", ""))

    def ok(self, url: str, headers: dict | None = None, status: int = 200) -> Answer:
        answer = self.get(url, headers)
        if answer.status != status:
            raise SystemExit(f"GET {url} answered {answer.status}")
        return answer

    def close(self) -> None:
        self.connection.close()


def wait_for_server(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/favicon.ico")
            if connection.getresponse().status < 400:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn on port {port} did not answer within {timeout:.0f} s")


# --- what a request costs ---------------------------------------------------------------


@dataclass
class Usage:
    """gunicorn's CPU seconds so far and Redis's commandstats, at one moment."""

    cpu_s: float
    commands: dict[str, tuple[int, int]]  # command -> (usec, calls)


@dataclass
class Cost:
    """What the timed requests of one endpoint class used, summed over its rounds."""

    requests: int = 0
    cpu_s: float = 0.0
    commands: dict[str, list[int]] = field(default_factory=dict)  # command -> [usec, calls]

    def add(self, before: Usage, after: Usage, requests: int, idle_cpu_s: float = 0.0) -> None:
        self.requests += requests
        self.cpu_s += after.cpu_s - before.cpu_s - idle_cpu_s
        for name, (usec, calls) in after.commands.items():
            old_usec, old_calls = before.commands.get(name, (0, 0))
            if name not in BENCH_COMMANDS and calls > old_calls:
                row = self.commands.setdefault(name, [0, 0])
                row[0] += usec - old_usec
                row[1] += calls - old_calls

    def summary(self) -> dict:
        n = max(self.requests, 1)
        top = sorted(self.commands.items(), key=lambda item: -item[1][0])
        return {
            "requests": self.requests,
            "cpu_ms": round(self.cpu_s * 1000 / n, 3),
            "redis_ms": round(sum(u for u, _ in self.commands.values()) / 1000 / n, 3),
            "top": [
                {"command": name, "ms": round(usec / 1000 / n, 3), "calls": round(calls / n, 2)}
                for name, (usec, calls) in top[:4]
            ],
        }


class Meter:
    def __init__(self, gunicorn_pid: int, redis_client) -> None:
        import psutil

        self.root = psutil.Process(gunicorn_pid)
        self.redis = redis_client
        self.idle_cpu_per_s = 0.0

    def cpu_s(self) -> float:
        total = 0.0
        for proc in (self.root, *self.root.children(recursive=True)):
            times = proc.cpu_times()
            total += times.user + times.system
        return total

    def usage(self) -> Usage:
        stats = self.redis.info("commandstats")
        commands = {
            name.removeprefix("cmdstat_").lower(): (int(s["usec"]), int(s["calls"]))
            for name, s in stats.items()
        }
        return Usage(self.cpu_s(), commands)

    def measure_idle(self, seconds: float = 2.0) -> float:
        """gunicorn's CPU while no request comes (its recorders wake every 50-250 ms),
        taken out of each timed loop's flush wait."""
        before = self.cpu_s()
        time.sleep(seconds)
        self.idle_cpu_per_s = (self.cpu_s() - before) / seconds
        return self.idle_cpu_per_s

    def settle(self) -> float:
        """Let the background recorders write what the loop queued; the idle CPU of it."""
        time.sleep(FLUSH_WAIT_S)
        return self.idle_cpu_per_s * FLUSH_WAIT_S


# --- what is requested ------------------------------------------------------------------


@dataclass
class Sample:
    """Distinct things a visitor asks for, drawn from the catalogue being served."""

    queries: list[str]
    movie_ids: list[str]
    prefixes: list[str]


def catalogue_sample(count: int, seed: int) -> Sample:
    """Title words, people and two-word title starts; movie ids; prefixes of 2-6 letters."""
    from search import keys, store
    from search.queries.text import is_stop_word

    client = store.client()
    found = []
    for key in client.scan_iter(match=keys.movie_key_pattern(), count=1000):
        found.append(key)
        if len(found) >= 40 * count:
            break
    rng = random.Random(seed)
    rng.shuffle(found)
    pipe = client.pipeline(transaction=False)
    for key in found:
        pipe.hmget(key, "title", "director", "cast")
    movies = [(keys.movie_id_of(k), *row) for k, row in zip(found, pipe.execute(), strict=True)]
    words, people, starts = [], [], []
    for _, title, director, cast in movies:
        title_words = [w for w in (title or "").lower().split() if w.isalpha()]
        words += [w for w in title_words if len(w) >= 4 and not is_stop_word(w)]
        if len(title_words) >= 2:
            starts.append(" ".join(title_words[:2]))
        people += [p for p in (director, (cast or "").split("|")[0]) if p]
    words, people, starts = (list(dict.fromkeys(x)) for x in (words, people, starts))
    thirds = (count + 2) // 3
    queries = list(dict.fromkeys(words[:thirds] + people[:thirds] + starts[:thirds]))[:count]
    long_words = [w for w in words if len(w) >= 6]
    prefixes = list(dict.fromkeys(w[: 2 + n % 5] for n, w in enumerate(long_words)))[:count]
    ids = [movie_id for movie_id, *_ in movies[:count]]
    return Sample(queries, ids, prefixes)


def cached_paths(sample: Sample, static_url: str) -> dict[str, list[tuple[str, dict, int]]]:
    """Each path's URLs with the headers a browser sends and the status expected."""
    q = lambda text: quote(text)  # noqa: E731
    return {
        "static file (WhiteNoise)": [(static_url, {}, 200)],
        "/favicon.ico (a redirect: every middleware, no app work)": [("/favicon.ico", {}, 302)],
        "search page": [(f"/?q={q(t)}", {}, 200) for t in sample.queries],
        "fragment": [(f"/?q={q(t)}&partial=1", FETCH, 200) for t in sample.queries],
        "api search": [(f"/api/search?q={q(t)}", SCRIPT, 200) for t in sample.queries],
        "movie page": [(f"/movies/{i}/", {}, 200) for i in sample.movie_ids],
        "suggest": [(f"/api/search/suggest?q={q(p)}", SCRIPT, 200) for p in sample.prefixes],
    }


def query_class(spec: dict, vocabulary: set[str]) -> str:
    """The class of one of `typical_queries()`, from what it asks."""
    if FILTER_KEYS & spec.keys():
        return "filtered"
    if "sort" in spec:
        return "sorted"
    words = spec["q"].split()
    if len(words) > 1:
        return "several words"
    if words[0] in vocabulary:
        return "one word"
    if any(word.startswith(words[0]) for word in vocabulary):
        return "prefix"
    return "typo"


def fit_to_catalogue(spec: dict, facets: dict) -> tuple[dict, str]:
    """`spec` with each facet value the catalogue lacks replaced by its commonest value of
    that facet, or the filter dropped when it has none (the bundled catalogue has no
    languages, one country); and what was changed, for the report."""
    fitted, changes = {}, []
    for key, value in spec.items():
        if key not in facets or not isinstance(value, list):
            fitted[key] = value
            continue
        known = {v.lower() for v, _ in facets[key]}
        if all(v.lower() in known for v in value):
            fitted[key] = value
        elif facets[key]:
            fitted[key] = [facets[key][0][0]]
            changes.append(f"{key} {', '.join(value)} → {facets[key][0][0]}")
        else:
            changes.append(f"{key} {', '.join(value)} dropped")
    return fitted, "; ".join(changes)


def bare_query(spec: dict, options):
    """The FT.SEARCH the search bench times for `spec`: the same words the search used,
    with typo variants only if it did."""
    from search.params import parse_params
    from search.queries.builder import build_query
    from search.queries.ft import FtQuery
    from search.queries.text import parse_text
    from search.results import search_uncached
    from search.values import RETURN_FIELDS

    params = parse_params(query_dict(spec), options)
    result = search_uncached(params)
    built = build_query(
        replace(parse_text(params.q), typos=result.typos_included), params.filters, params.ranges
    )
    return FtQuery(built.query, built.params, limit=params.size, return_fields=RETURN_FIELDS)


class CacheBypass:
    """Deletes every entry of the current generation's search cache (results, and any
    rendered HTML kept under the same family) with SCAN and UNLINK."""

    def __init__(self) -> None:
        from django.core.cache import cache

        from search import keys, store

        self.client = cache.client.get_client(write=True)
        self.pattern = cache.client.make_pattern(keys.search_cache_key(store.generation(), "*"))

    def __call__(self) -> None:
        found = list(self.client.scan_iter(match=self.pattern, count=1000))
        if found:
            self.client.unlink(*found)


# --- the measures -----------------------------------------------------------------------


def summarise(values: list[float]) -> dict:
    return {
        "p50": round(percentile(values, 50), 3),
        "p90": round(percentile(values, 90), 3),
        "p99": round(percentile(values, 99), 3),
        "n": len(values),
    }


def measure_cached(browser, meter, paths, rounds, requests):
    """Every path warmed (twice: pages are kept from their second view), then `requests`
    per path per round, the paths' order reversed every other round."""
    times = {name: [] for name in paths}
    caches = {name: {} for name in paths}
    costs = {name: Cost() for name in paths}
    for _ in range(2):  # rendered pages are kept from their second view on
        for urls in paths.values():
            for url in urls:
                browser.ok(*url)
    meter.settle()
    names = list(paths)
    for round_number in range(rounds):
        for name in names if round_number % 2 == 0 else names[::-1]:
            urls = paths[name]
            before = meter.usage()
            for n in range(requests):
                answer = browser.ok(*urls[n % len(urls)])
                times[name].append(answer.ms)
                caches[name][answer.cache] = caches[name].get(answer.cache, 0) + 1
            idle = meter.settle()
            costs[name].add(before, meter.usage(), requests, idle)
    return times, caches, costs


def measure_uncached(browser, meter, specs, repeats, bypass):
    """Per query: the bare FT.SEARCH and `/api/search` without its cache, alternating
    which goes first; then the cost of uncached `/api/search` and search pages alone."""

    times = {"bare": {}, "http": {}, "search page": {}}
    caches = {}
    for repeat in range(repeats):
        for n, (label, query, url) in enumerate(specs):
            order = ("bare", "http") if (repeat + n) % 2 == 0 else ("http", "bare")
            for kind in order:
                if kind == "bare":
                    started = time.perf_counter()
                    bare_ft_search(query)
                    ms = (time.perf_counter() - started) * 1000
                else:
                    bypass()
                    answer = browser.ok("/api/search?" + url, SCRIPT)
                    ms = answer.ms
                    caches[answer.cache] = caches.get(answer.cache, 0) + 1
                times[kind].setdefault(label, []).append(ms)
    costs = {}
    uncached_paths = (
        ("api search, uncached", "/api/search?", SCRIPT),
        ("search page, uncached", "/?", {}),
    )
    for name, prefix, headers in uncached_paths:
        before = meter.usage()
        for _ in range(repeats):
            for label, _, url in specs:
                bypass()  # SCAN and UNLINK: left out of the Redis time (BENCH_COMMANDS)
                answer = browser.ok(prefix + url, headers)
                if prefix == "/?":
                    times["search page"].setdefault(label, []).append(answer.ms)
        idle = meter.settle()
        costs[name] = Cost()
        costs[name].add(before, meter.usage(), repeats * len(specs), idle)
    return times, caches, costs


def compare(bare: list[float], over_http: list[float]) -> dict:
    ratio = percentile(over_http, 50) / max(percentile(bare, 50), 1e-6)
    return {
        "bare": summarise(bare),
        "http": summarise(over_http),
        "ratio_p50": round(ratio, 2),
        "met": ratio <= RATIO_GOAL,
    }


def measure(args, gunicorn_pid: int, web_port: int) -> dict:
    from search import store
    from search.facets import filter_options
    from search.synthetic import MovieFactory

    browser = Browser(web_port)
    load_at_start = os.getloadavg()[0]
    try:
        meter = Meter(gunicorn_pid, store.client())
        static_url = browser.get("/favicon.ico").location  # the hashed name collectstatic made
        sample = catalogue_sample(args.distinct, args.seed)
        paths = cached_paths(sample, static_url)
        options = filter_options()
        vocabulary = set(MovieFactory().vocabulary)
        specs, fitted = [], []
        for spec in typical_queries():
            spec, change = fit_to_catalogue(spec, options.facets)
            label = query_class(spec, vocabulary)
            specs.append((label, bare_query(spec, options), urlencode(spec, doseq=True)))
            if change:
                fitted.append(f"`{spec['q']}` ({label}): {change}")
        bypass = CacheBypass()
        idle = meter.measure_idle()
        print("cached paths…", flush=True)
        times, caches, costs = measure_cached(browser, meter, paths, args.rounds, args.requests)
        print("uncached /api/search against the bare FT.SEARCH…", flush=True)
        raw, uncached_caches, uncached_costs = measure_uncached(
            browser, meter, specs, args.repeats, bypass
        )
    finally:
        browser.close()
    connections, cookies = browser.connections, sorted(browser.cookies)
    classes = {label: compare(raw["bare"][label], raw["http"][label]) for label in raw["bare"]}
    everything = lambda kind: [t for ts in raw[kind].values() for t in ts]  # noqa: E731
    return {
        "movies": store.movie_count(),
        "connections": connections,
        "load": [load_at_start, os.getloadavg()[0]],
        "cookies": cookies,
        "idle_cpu_ms_per_s": round(idle * 1000, 2),
        "fitted": fitted,
        "sample": {
            "queries": sample.queries,
            "movie_ids": sample.movie_ids,
            "prefixes": sample.prefixes,
            "static": static_url,
        },
        "cached": {
            name: {
                "latency": summarise(times[name]),
                "rounds_p50": [
                    round(percentile(times[name][i : i + args.requests], 50), 3)
                    for i in range(0, len(times[name]), args.requests)
                ],
                "goal_ms": CACHED_GOALS_MS.get(name),
                "server_timing": caches[name],
                "cost": costs[name].summary(),
            }
            for name in paths
        },
        "uncached": {
            "classes": classes,
            "overall": compare(everything("bare"), everything("http")),
            "server_timing": uncached_caches,
            "search_page": summarise(everything("search page")),
            "costs": {name: cost.summary() for name, cost in uncached_costs.items()},
        },
        "raw_ms": {"cached": times, "uncached": raw},
    }


# --- the report -------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def met(flag: bool) -> str:
    return "met" if flag else "**NOT met**"


def timing_note(counts: dict) -> str:
    shown = ", ".join(f"{n:,} {k}" for k, n in sorted(counts.items()) if k)
    return shown or "not reported by the server"


def cost_cells(cost: dict) -> str:
    top = "; ".join(
        f"`{row['command']}` {row['ms']:.3f} ms ({row['calls']:g}×)" for row in cost["top"]
    )
    return (
        f"{ms(cost['cpu_ms'])} | {ms(cost['redis_ms'])} | {top or '—'} | "
        f"{met(cost['cpu_ms'] <= CPU_GOAL_MS)} / {met(cost['redis_ms'] <= REDIS_GOAL_MS)}"
    )


def render(r: dict) -> str:
    # the HTTP floor of this stack: the cheaper of the two requests without app work
    floor = min(row["latency"]["p50"] for row in r["cached"].values() if not row["goal_ms"])
    modules = ", ".join(f"{name} {ver}" for name, ver in sorted(r["redis"]["modules"].items()))
    lines = [
        "## Request path",
        "",
        *r["header"],
        f"Redis {r['redis']['version']} ({modules}); catalogue: {r['movies']:,} movies "
        f"({r['catalogue']}).  ",
        f"Server: gunicorn `{r['server']}` as `manage.py serve` starts it, insights tracking on "
        "with its background recorder, request metrics on (background); the metrics collector "
        "not running. Client: one thread, one keep-alive loopback connection, a browser's "
        f"User-Agent, cookies kept; {r['rounds']} rounds alternating the paths' order (ABBA). "
        f"Load average (1 min) at the start and the end: {r['load'][0]:.1f}, {r['load'][1]:.1f} "
        "(latencies are wall time and move with it; CPU per request moves much less).",
        "",
        "### Cached paths (goal 2)",
        "",
        f"Each URL warmed twice, then {r['rounds']} × {r['requests']} requests per path cycling "
        f"over {len(r['sample']['queries'])} queries, {len(r['sample']['movie_ids'])} movie ids "
        f"and {len(r['sample']['prefixes'])} prefixes drawn from the catalogue; the HTTP floor "
        f"is the cheaper of the two baselines ({ms(floor)}); connections opened: "
        f"{r['connections']}; cookies the site set: {', '.join(r['cookies']) or 'none'}.",
        "",
        "| path | p50 | p90 | p99 | goal at p50 | p50 ÷ HTTP floor | p50 per round | "
        "Server-Timing cache |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in r["cached"].items():
        lat, goal = row["latency"], row["goal_ms"]
        verdict = f"≤ {goal} ms: {met(lat['p50'] <= goal)}" if goal else "baseline"
        lines.append(
            f"| {name} | {ms(lat['p50'])} | {ms(lat['p90'])} | {ms(lat['p99'])} | "
            f"{verdict} | {lat['p50'] / max(floor, 1e-6):.1f}× | "
            f"{', '.join(f'{v:.1f}' for v in row['rounds_p50'])} | "
            f"{timing_note(row['server_timing'])} |"
        )
    u = r["uncached"]
    lines += [
        "",
        "### Uncached `/api/search` against the bare FT.SEARCH (goal 1)",
        "",
        f"The search bench's `typical_queries()`, {r['repeats']} times each; per query, the bare "
        "FT.SEARCH as the search bench sends it (in-process redis-py) and `/api/search` over "
        "HTTP, alternating which goes first; before each HTTP request, outside its timing, every "
        f"`search_cache:<generation>:*` entry is deleted (Server-Timing seen: "
        f"{timing_note(u['server_timing'])}).",
        "",
        "| query class | bare FT.SEARCH p50 / p99 | `/api/search` uncached p50 / p99 | "
        f"ratio at p50 | goal ≤ {RATIO_GOAL}× |",
        "|---|---|---|---|---|",
    ]
    for label, row in [*sorted(u["classes"].items()), ("**overall**", u["overall"])]:
        lines.append(
            f"| {label} ({row['bare']['n']}) | {ms(row['bare']['p50'])} / "
            f"{ms(row['bare']['p99'])} | {ms(row['http']['p50'])} / "
            f"{ms(row['http']['p99'])} | {row['ratio_p50']:.2f}× | {met(row['met'])} |"
        )
    page = u["search_page"]
    if r["fitted"]:
        lines += ["", "Filters fitted to this catalogue: " + "; ".join(r["fitted"]) + "."]
    lines += [
        "",
        f"The search page uncached (same queries, same deletion): p50 {ms(page['p50'])}, "
        f"p99 {ms(page['p99'])}.",
        "",
        "### Cost per request (goal 3)",
        "",
        "gunicorn CPU: master and workers (psutil), over each timed loop and the recorders' "
        f"flush after it, less gunicorn's idle CPU ({r['idle_cpu_ms_per_s']:.2f} ms per second, "
        "measured before); Redis: INFO commandstats `usec` over the same span, less the bench's "
        "own INFO, SCAN and UNLINK. The goals (≤ 3 ms CPU, ≤ 1.5 ms Redis) hold for the load "
        "test's mix on average; here each class on its own.",
        "",
        "| endpoint | requests | gunicorn CPU | Redis command time | dearest commands "
        "(per request) | goals CPU / Redis |",
        "|---|---|---|---|---|---|",
    ]
    rows = [(n, row["cost"]) for n, row in r["cached"].items()] + list(u["costs"].items())
    for name, cost in rows:
        lines.append(f"| {name} | {cost['requests']:,} | {cost_cells(cost)} |")
    lines.append("")
    return "\n".join(lines)


# --- the servers ------------------------------------------------------------------------


def start_store(args, workdir: Path):
    """Django set up against the Redis Stack to measure: (our own server or None, password)."""
    if args.port:
        password = os.environ.get("REDIS_PASSWORD", "")
        if args.password_file:
            password = Path(args.password_file).read_text().strip()
        setup_django(args.port, workdir, password)
        return None, password, args.port
    server = start_redis_and_django(workdir, args.maxmemory)
    return server, server.password, server.port


def prepare_site(own_server: bool) -> str:
    """Django's tables and static files, and (on our own server) the bundled catalogue."""
    from django.core.management import call_command

    from search import facets, indexing, keys, store

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if own_server:
        indexing.ensure_indexes()
        print(f"importing {BUNDLED.name}…", flush=True)
        call_command("import_movies", str(BUNDLED), verbosity=0)
        store.wait_until_indexed(keys.index_alias())
    facets.filter_options()  # warm, as `manage.py serve` does
    return f"the bundled {BUNDLED.name}" if own_server else "an existing server"


def start_web(args, workdir: Path, redis_port: int, password: str):
    """gunicorn as `manage.py serve` runs it: (process, its port, its options as text)."""
    from config.embedded_redis import free_port
    from config.management.commands import serve

    overrides = {"host": "127.0.0.1", "port": args.web_port or free_port(), "workers": args.workers}
    if args.worker_class:
        overrides["worker_class"] = args.worker_class
    if args.threads:
        overrides["threads"] = args.threads
    options = serve.serve_options(**overrides)
    env = process_env(
        redis_port,
        workdir,
        password,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        INSIGHTS_TRACKING_ENABLED="true",
        INSIGHTS_RECORD_IN_BACKGROUND="true",
    )
    command = serve.gunicorn_command(options, access_log=str(workdir / "access.log"))
    with open(workdir / "gunicorn.log", "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    text = f"--worker-class {options['worker_class']} --workers {options['workers']}"
    if options["worker_class"] != "asgi":
        text += f" --threads {options['threads']}"
    return process, options["port"], text


def redis_versions() -> dict:
    from search import store

    client = store.client()
    modules = {m["name"]: m["ver"] for m in client.module_list()}
    return {"version": client.info("server")["redis_version"], "modules": modules}


def run(args, command: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="request-path-") as tmp:
        workdir = Path(tmp)
        os.environ["STATIC_ROOT"] = str(workdir / "static")
        server = gunicorn = None
        try:
            server, password, redis_port = start_store(args, workdir)
            catalogue = prepare_site(own_server=server is not None)
            gunicorn, web_port, server_text = start_web(args, workdir, redis_port, password)
            wait_for_server(web_port)
            results = measure(args, gunicorn.pid, web_port)
            results["redis"] = redis_versions()
        finally:
            if gunicorn is not None:
                stop(gunicorn)
            if server is not None:
                server.stop(save=False)
    return results | {
        "header": header_lines(command),
        "catalogue": catalogue,
        "server": server_text,
        "rounds": args.rounds,
        "requests": args.requests,
        "repeats": args.repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--port",
        type=int,
        help="measure against the Redis Stack on this port, holding a catalogue, "
        "instead of starting one with the bundled catalogue",
    )
    parser.add_argument(
        "--password-file",
        help="with --port: the file holding its password (the load test keeps "
        "it in var/bench/load-<movies>/redis-password); default $REDIS_PASSWORD",
    )
    parser.add_argument("--maxmemory", default="2gb", help="of our own Redis Stack")
    parser.add_argument("--web-port", type=int, help="gunicorn's port (default: a free one)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--worker-class", choices=("gevent", "gthread", "asgi"), help="default: manage.py serve's"
    )
    parser.add_argument("--threads", type=int, help="default: manage.py serve's")
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds of the cached paths")
    parser.add_argument("--requests", type=int, default=100, help="per cached path per round")
    parser.add_argument("--repeats", type=int, default=10, help="of each uncached query")
    parser.add_argument(
        "--distinct",
        type=int,
        default=20,
        help="queries, movie ids and prefixes drawn for the cached paths",
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--write", help="put the report in this Markdown file's section")
    parser.add_argument("--json", help="write the raw figures to this file")
    args = parser.parse_args()
    command = ".venv/bin/python bench/request_path.py " + " ".join(sys.argv[1:])
    # stopped with SIGTERM: still stop gunicorn and our Redis Stack
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = run(args, command)
    text = render(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.write:
        write_section(args.write, "request-path", text.rstrip())
        print(f"wrote the request-path section of {args.write}")


if __name__ == "__main__":
    main()
