"""Insights speed goals, measured against a throwaway real Redis Stack.

1. Tracking middleware overhead: the same pages through Django's full middleware stack
   with tracking on and off (INSIGHTS_TRACKING_ENABLED), interleaved in blocks in one
   run so both see the same machine; p50/p99 and their difference (goal: p99 <= +1 ms).
   Tracking on includes the background recorder thread of that process writing the hits.
2. Recording throughput: the recorder's write path (`insights.middleware.recorder.write_now`
   on batches of 500 hits, as the background thread writes them: one analytics pipeline
   summed per key + the page-activity XADDs; a quarter of the hits are searches) from N
   processes for a fixed time; counted from the store (goal: >= 5,000 page views/s).
3. Dashboard render time per range (the staff view, template included) over a store
   loaded with --events page views spread over 90 days (goal: <= 100 ms every range).
   Baseline first: the first render of each range with no search union prepared (the
   render builds it, as every first render of a day did before the background
   recorder prepared them). Then, as at the start of a new day: the unions are dropped,
   `search_store.prepare_search_unions()` builds them as the recorder thread does (timed, off
   the request path), and each range's first render and the renders after it are timed.

The load writes exactly what recording would have written, in bulk: every event's raw
sample (TS.MADD), the minute/hour/day buckets as per-bucket totals (what ON_DUPLICATE SUM
sums to), daily hashes, monthly countries, per-day HyperLogLogs and the search sets of
the last 30 days (older ones would already have expired), and the last 20,000 events of
the stream.

Run: .venv/bin/python bench/insights_bench.py [--events 10000000] [--requests 3000]
     [--seconds 10] [--processes 2] [--renders 30]
"""

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import percentile, start_redis_and_django  # noqa: E402

from insights import series as insights_series  # noqa: E402
from telemetry import timeseries  # noqa: E402
from telemetry.units import HOUR_MS, MINUTE_MS  # noqa: E402

DAY = 86_400_000
PAGES = {"search": 40, "movie-detail": 45, "home": 8, "about": 2, "login": 5}
COUNTRIES = {
    "US": 30, "GB": 10, "DE": 8, "FR": 7, "IN": 6, "BR": 5, "CA": 5, "JP": 4, "NL": 3,
    "ES": 3, "IT": 3, "AU": 3, "SE": 2, "PL": 2, "MX": 2, "KR": 2, "ZZ": 5,
}  # fmt: skip
SEARCH_SHARE = 0.25
ZERO_SHARE = 0.08
QUERIES = [f"movie title {n}" for n in range(20_000)]
QUERY_WEIGHTS = [1 / (n + 1) for n in range(len(QUERIES))]  # Zipf-like


def summary(values_ms):
    return {
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "p99": percentile(values_ms, 99),
        "max": max(values_ms),
        "mean": statistics.fmean(values_ms),
    }


def fmt(s):
    return " ".join(f"{k} {v:.2f}" for k, v in s.items())


def setup_environment(workdir):
    server = start_redis_and_django(workdir, maxmemory="6gb")
    from django.test.utils import override_settings

    override_settings(
        ROOT_URLCONF="__main__",
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()
    # AOF off for the load: this measures the analytics code, not the disk.
    from config.redis_stores import get_redis

    get_redis("analytics").config_set("appendonly", "no")
    get_redis("analytics").config_set("save", "")
    return server


# --- a URLconf for the overhead run (ROOT_URLCONF="__main__") -----------------------


def _page(request, **kwargs):
    from django.http import HttpResponse

    return HttpResponse("<!doctype html><title>bench</title><p>" + "x" * 2000)


def _search(request):
    from insights.searches import record_search

    record_search(
        request,
        query=request.GET.get("q", ""),
        result_count=int(request.GET.get("n", "5")),
        server_ms=3.2,
    )
    return _page(request)


def _urlpatterns():
    from django.contrib.auth import views as auth_views
    from django.urls import include, path

    return [
        path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
        path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
        path("insights/", include("insights.urls")),
        path("api/analytics/", include("insights.api_urls")),
        path("movies/<int:pk>/", _page, name="movie-detail"),
        path("search/", _search, name="search"),
        path("", _page, name="home"),
    ]


urlpatterns = []


# --- 1. middleware overhead ---------------------------------------------------------


def middleware_overhead(requests, block=100):
    from django.test import Client
    from django.test.utils import override_settings

    client = Client()
    ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
    paths = ["/", "/movies/42/", "/search/?q=star+wars&n=3", "/movies/7/"]
    timings = {True: [], False: []}
    for warm in range(200):  # warm both paths (imports, pools, series creation)
        for enabled in (True, False):
            with override_settings(INSIGHTS_TRACKING_ENABLED=enabled):
                client.get(paths[warm % 4], HTTP_USER_AGENT=ua, REMOTE_ADDR="10.0.0.1")
    done = 0
    while done < requests:
        for enabled in (True, False):
            with override_settings(INSIGHTS_TRACKING_ENABLED=enabled):
                for i in range(block):
                    path = paths[i % len(paths)]
                    ip = f"10.{i % 250}.{done % 250}.{i % 7}"
                    started = time.perf_counter()
                    response = client.get(path, HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)
                    timings[enabled].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
        done += block
    on, off = summary(timings[True]), summary(timings[False])
    return on, off


# --- 2. recording throughput --------------------------------------------------------


def _record_worker(args):
    """The recorder's write path as its thread runs it: batches of hits (as requests
    queue them) written with `middleware.recorder.write_now`, for `seconds`; returns
    (hits written, hits lost, seconds)."""
    seconds, seed = args
    from insights import middleware, store

    rng = random.Random(seed)
    pages = list(PAGES)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        batch = []
        for _ in range(middleware.BATCH_SIZE):
            search = None
            if rng.random() < SEARCH_SHARE:
                query = f"movie title {rng.randrange(2000)}"
                search = store.SearchHit(query, rng.randrange(4), 3.0)
            batch.append(
                store.Hit(
                    timestamp_ms=store.now_ms(),
                    page=rng.choice(pages),
                    country_code="US",
                    country_name="United States",
                    visitor=f"{rng.getrandbits(64):x}",
                    search=search,
                )
            )
        middleware.recorder.write_now(batch)
        count += len(batch)
    return count, middleware.recorder.losses.total, time.perf_counter() - started


def recording_throughput(seconds, processes):
    from config.redis_stores import reset_pools

    reset_pools()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        results = pool.map(_record_worker, [(seconds, n) for n in range(processes)])
    submitted = sum(r[0] for r in results)
    lost = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    return submitted, lost, elapsed


# --- 3. bulk load and dashboard -----------------------------------------------------


def _flush_madd(client, samples, chunk=6000):
    """samples: flat [key, ts, value, key, ts, value, ...]; pipelined TS.MADD calls."""
    pipe = client.pipeline(transaction=False)
    step = chunk * 3
    for i in range(0, len(samples), step):
        pipe.execute_command("TS.MADD", *samples[i : i + step])
        if len(pipe) >= 20:
            _check(pipe.execute(raise_on_error=False))
    _check(pipe.execute(raise_on_error=False))


def _check(results):
    for result in results:
        if isinstance(result, Exception):
            raise result
        for item in result if isinstance(result, list) else []:
            if isinstance(item, Exception) and "older than retention" not in str(item):
                raise item


def _series_samples(key_for, times, values=None, now=0):
    """Flat TS.MADD arguments for one series: raw samples and minute/hour/day buckets
    (per-bucket totals: what ON_DUPLICATE SUM adds up to)."""

    key = key_for(None)
    if values is None:
        flat = [x for t in times for x in (key, t, 1)]
    else:
        flat = [x for t, v in zip(times, values, strict=True) for x in (key, t, v)]
    for granularity, size in insights_series.GRANULARITIES.items():
        if granularity == "minute":  # minute buckets are kept 3 hours
            cut = [i for i, t in enumerate(times) if now - t < 3 * HOUR_MS]
            sub_times = [times[i] for i in cut]
            sub_values = None if values is None else [values[i] for i in cut]
        else:
            sub_times, sub_values = times, values
        if not sub_times:
            continue
        if sub_values is None:
            sums = Counter(t - t % size for t in sub_times)
        else:
            sums = Counter()
            for t, v in zip(sub_times, sub_values, strict=True):
                sums[t - t % size] += v
        bucket_key = key_for(granularity)
        flat += [x for bucket, v in sorted(sums.items()) for x in (bucket_key, bucket, v)]
    return flat


def load(events, now):
    """`events` page views over the 90 days before `now`, written day by day in order."""
    from config.events import EVENTS_MAXLEN, PAGE_VIEW, event_fields
    from config.redis_stores import get_redis
    from insights import keys, store
    from insights.countries import COUNTRY_NAMES

    analytics, stream = get_redis("analytics"), get_redis("events")
    rng = random.Random(42)
    names = {code: COUNTRY_NAMES.get(code, "Unknown") for code in COUNTRIES}
    page_list, page_weights = list(PAGES), list(PAGES.values())
    country_list, country_weights = list(COUNTRIES), list(COUNTRIES.values())
    query_cum = list(accumulate(QUERY_WEIGHTS))
    search_metrics = {m: insights_series.search_series(m) for m in insights_series.SEARCH_METRICS}
    all_series = [insights_series.page_views_series(), insights_series.search_queries_series()]
    all_series += [insights_series.page_series(p) for p in PAGES]
    all_series += [insights_series.country_series(c, names[c]) for c in COUNTRIES]
    all_series += search_metrics.values()
    timeseries.ensure_series(store.client(), all_series)
    first_day = now - now % DAY - 89 * DAY
    per_day = events // 90
    search_from = now - 30 * DAY
    for day_index in range(90):
        day = first_day + day_index * DAY
        n = per_day + (events - per_day * 90 if day_index == 89 else 0)
        end = min(day + DAY, now) if day_index == 89 else day + DAY
        times = sorted(rng.randrange(day, end) for _ in range(n))
        pages = rng.choices(page_list, page_weights, k=n)
        countries = rng.choices(country_list, country_weights, k=n)
        by_page, by_country = defaultdict(list), defaultdict(list)
        for t, page, country in zip(times, pages, countries, strict=True):
            by_page[page].append(t)
            by_country[country].append(t)
        flat = _series_samples(insights_series.page_views_series().key_for, times, now=now)
        for page, page_times in by_page.items():
            flat += _series_samples(insights_series.page_series(page).key_for, page_times, now=now)
        for code, country_times in by_country.items():
            series = insights_series.country_series(code, names[code])
            flat += _series_samples(series.key_for, country_times, now=now)
        pipe = analytics.pipeline(transaction=False)
        if day + DAY > search_from:  # searches are kept 30 days
            share = SEARCH_SHARE / (PAGES["search"] / sum(page_weights))
            search_times = [
                t for t in by_page["search"] if t >= search_from and rng.random() < share
            ]
            m = len(search_times)
            queries = rng.choices(QUERIES, cum_weights=query_cum, k=m)
            results = [0 if rng.random() < ZERO_SHARE else rng.randrange(1, 40) for _ in range(m)]
            zero_idx = [i for i, r in enumerate(results) if r == 0]
            zero_times = [search_times[i] for i in zero_idx]
            timings = [round(rng.uniform(1, 25), 2) for _ in range(m)]
            for series, values, ts in (
                (insights_series.search_queries_series(), None, search_times),
                (search_metrics["query_frequency"], None, search_times),
                (search_metrics["result_counts"], results, search_times),
                (search_metrics["response_times"], timings, search_times),
                (search_metrics["zero_results"], None, zero_times),
            ):
                flat += _series_samples(series.key_for, ts, values, now=now)
            for kind, idx in (("all", range(m)), ("zero_results", zero_idx)):
                counts = Counter(queries[i] for i in idx)
                if counts:
                    key = keys.search_activities_key("daily", day, kind)
                    pipe.zadd(key, dict(counts))
                    pipe.pexpireat(key, day + DAY + insights_series.SEARCH_RETENTION_MS)
                for granularity, size, age in (
                    ("hourly", HOUR_MS, 2 * DAY),
                    ("minute", MINUTE_MS, HOUR_MS),
                ):
                    recent = defaultdict(Counter)
                    for i in idx:
                        if now - search_times[i] < age:
                            t = search_times[i]
                            recent[t - t % size][queries[i]] += 1
                    for bucket, bucket_counts in recent.items():
                        key = keys.search_activities_key(granularity, bucket, kind)
                        pipe.zadd(key, dict(bucket_counts))
                        pipe.pexpire(key, age + size)
        _flush_madd(analytics, flat)
        # visitors: about three page views each per day
        visitors = [f"v{v}" for v in rng.choices(range(max(1, n // 3)), k=n)]
        daily = keys.unique_visitors_key("daily", day)
        unique = list(set(visitors))
        for i in range(0, len(unique), 5000):
            pipe.pfadd(daily, *unique[i : i + 5000])
        pipe.pexpire(daily, 91 * DAY)
        recent_hll = defaultdict(set)
        for t, visitor in zip(times, visitors, strict=True):
            if now - t < 2 * DAY:
                recent_hll[keys.unique_visitors_key("hourly", t)].add(visitor)
            if now - t < HOUR_MS:
                recent_hll[keys.unique_visitors_key("minute", t)].add(visitor)
        for key, members in recent_hll.items():
            pipe.pfadd(key, *members)
            pipe.pexpire(key, 2 * DAY)
        day_key = keys.page_views_daily_key(day)
        pipe.hset(day_key, mapping={page: len(ts) for page, ts in by_page.items()})
        pipe.pexpireat(day_key, day + DAY + insights_series.PAGE_VIEWS_RETENTION_MS)
        month_key = keys.user_countries_monthly_key(day)
        for code, country_times in by_country.items():
            pipe.hincrby(month_key, names[code], len(country_times))
        pipe.pexpire(month_key, 181 * DAY)
        pipe.execute()
        print(f"  day {day_index + 1}/90 loaded ({n:,} events)", end="\r", flush=True)
        if day_index == 89:
            last = list(zip(times, pages, countries, strict=True))[-20_000:]
    print()
    pipe = stream.pipeline(transaction=False)
    for t, page, country in last:
        fields = event_fields(PAGE_VIEW, page=page, country=names[country])
        fields["ts"] = str(t)
        pipe.xadd("events:stream", fields, maxlen=EVENTS_MAXLEN, approximate=True)
    pipe.execute()


def dashboard_times(renders, names=None):
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.cache import SessionStore
    from django.test import RequestFactory

    from insights import views
    from insights.ranges import RANGES

    user = get_user_model()(username="bench", is_staff=True)  # unsaved: no DB needed
    factory = RequestFactory()
    results = {}
    for name in names or RANGES:
        times = []
        for _ in range(renders):
            request = factory.get(f"/insights/?range={name}")
            request.user = user
            request.session = SessionStore()
            started = time.perf_counter()
            response = views.dashboard(request)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            assert b"Analytics store unavailable" not in response.content
        results[name] = (times[0], summary(times[1:] or times))
    return results


def drop_search_unions():
    """Forget every prepared or cached search union, as if a new day had just begun."""
    from config.redis_stores import get_redis

    analytics = get_redis("analytics")
    keys = [
        key
        for pattern in ("search_activities*:live:*", "search_activities:union:*")
        for key in analytics.scan_iter(match=pattern, count=1000)
    ]
    if keys:
        analytics.delete(*keys)
    return len(keys)


def memory_used():
    from config.redis_stores import get_redis

    return get_redis("analytics").info("memory")["used_memory_human"]


def overhead_and_throughput(args):
    from config.redis_stores import get_redis

    print("1. middleware overhead (Django test client, full middleware stack)")
    on, off = middleware_overhead(args.requests)
    print(f"   tracking on : {fmt(on)} ms")
    print(f"   tracking off: {fmt(off)} ms")
    print(
        f"   added: p50 {on['p50'] - off['p50']:+.3f} ms, p99 {on['p99'] - off['p99']:+.3f}"
        f" ms, mean {on['mean'] - off['mean']:+.3f} ms; p99 ratio on/off "
        f"{on['p99'] / off['p99']:.2f}"
    )
    from insights import middleware

    middleware.recorder.flush()  # nothing of step 1 may land in step 2's count
    for store_name in ("analytics", "events"):
        get_redis(store_name).flushdb()
    timeseries.forget_ensured()  # the workers fork from here: no stale "series exist" cache

    print(f"2. recording throughput ({args.processes} processes, {args.seconds:.0f} s)")
    submitted, lost, elapsed = recording_throughput(args.seconds, args.processes)
    written = (
        get_redis("analytics")
        .ts()
        .range(
            "user_activity:page_views:daily",
            "-",
            "+",
            aggregation_type="sum",
            bucket_size_msec=10**13,
        )
    )
    stored = int(written[0][1]) if written else 0
    print(
        f"   {submitted:,} written in batches of 500, {lost:,} lost, {stored:,} in the store,"
        f" in {elapsed:.1f} s = {stored / elapsed:,.0f} page views/s recorded"
    )
    for store_name in ("analytics", "events"):
        get_redis(store_name).flushdb()

    timeseries.forget_ensured()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--only-dashboard", action="store_true", help="skip steps 1 and 2")
    parser.add_argument("--skip-dashboard", action="store_true", help="skip step 3")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}; events {args.events:,}")
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        server = setup_environment(Path(tmp))
        global urlpatterns
        urlpatterns = _urlpatterns()
        try:
            if not args.only_dashboard:
                overhead_and_throughput(args)
            if args.skip_dashboard:
                return
            from insights import search_store, store
            from insights.ranges import RANGES

            print(f"3. loading {args.events:,} page views over 90 days")
            started = time.perf_counter()
            load(args.events, store.now_ms())
            print(
                f"   loaded in {time.perf_counter() - started:.0f} s; analytics store "
                f"memory {memory_used()}"
            )
            print("   baseline: first render of each range, nothing prepared (the render builds)")
            baseline = {}
            for name in RANGES:  # each from nothing: 90d would reuse 30d's union
                drop_search_unions()
                baseline.update(dashboard_times(1, [name]))
                print(f"   {name:>8}: first {baseline[name][0]:.1f} ms")
            dropped = drop_search_unions()
            started = time.perf_counter()
            built = search_store.prepare_search_unions()
            print(
                f"   new day: {dropped} unions dropped; prepare_search_unions() built {built} in"
                f" {(time.perf_counter() - started) * 1000:.1f} ms (recorder thread, off the"
                " request path)"
            )
            print(f"   dashboard render ({args.renders} renders per range; first, then rest)")
            for name, (first, rest) in dashboard_times(args.renders).items():
                print(
                    f"   {name:>8}: first {first:.1f} ms (baseline {baseline[name][0]:.1f});"
                    f" {fmt(rest)} ms"
                )
        finally:
            server.stop(save=False)


if __name__ == "__main__":
    main()
