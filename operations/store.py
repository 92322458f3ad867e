"""The metrics store (db 4) and every command on it: the `system_metrics:*` and
`app_metrics:*` time series, their compactions, the per-minute latency t-digests and the
Prometheus totals. (The operations store, db 2, is `alert_store`'s, its keys `keys`'.)

Compactions: in the bundled RedisTimeSeries 1.12 a TS.CREATERULE rule outside DB 0 is
silently deleted by the first duplicate or out-of-order sample written to its source
(tests/insights/test_timeseries_db_bug.py). Every series that receives those (the request
counters, the rewritten latency minutes) has its 5m/1h buckets written by the app in the
same pipeline as the raw sample; rules remain only on series with one writer and one
rising sample per pass (the collector's system figures and error rate).
"""

import math
import time
from dataclasses import dataclass, field

import redis

from config.redis_stores import get_pool, get_redis

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def _metrics():
    return get_redis("metrics")


# --- metrics store (db 4): the series --------------------------------------------


@dataclass(frozen=True)
class Compaction:
    aggregation: str  # avg, sum, max
    bucket_ms: int
    retention_ms: int
    suffix: str  # "5m", "1h"
    # None: a TS.CREATERULE rule fills the buckets. Otherwise the app writes each bucket
    # itself, with this ON_DUPLICATE (SUM adds a batch's count to its bucket; LAST for a
    # value the writer recomputes whole).
    app_written: str | None = None

    def key(self, source):
        return f"{source}:{self.aggregation}_{self.suffix}"

    def bucket(self, ms):
        return ms - ms % self.bucket_ms


@dataclass(frozen=True)
class Series:
    key: str
    retention_ms: int
    labels: dict
    duplicate_policy: str
    compactions: tuple = field(default=())

    def compaction(self, suffix):
        return next(c for c in self.compactions if c.suffix == suffix)

    def destination(self, compaction):
        """The compaction's own series: labels, retention and duplicate policy."""
        return Series(
            key=compaction.key(self.key),
            retention_ms=compaction.retention_ms,
            labels={
                **self.labels,
                "aggregation": compaction.aggregation,
                "resolution": compaction.suffix,
            },
            duplicate_policy=compaction.app_written or "LAST",
        )


def _system(metric, unit):
    return Series(
        key=f"system_metrics:{metric}",
        retention_ms=7 * DAY_MS,
        labels={"group": "system_metrics", "metric": metric, "unit": unit, "resolution": "raw"},
        # One sample per collector pass. The rules stay: one collector writes a rising
        # timestamp per pass and skips a pass whose clock went back (collector.py), so no
        # duplicate or out-of-order sample reaches these series to delete them.
        duplicate_policy="LAST",
        compactions=(
            Compaction("avg", 5 * MINUTE_MS, 30 * DAY_MS, "5m"),
            Compaction("avg", HOUR_MS, 90 * DAY_MS, "1h"),
        ),
    )


SYSTEM_SERIES = {
    "cpu_usage": _system("cpu_usage", "percent"),
    "memory_usage": _system("memory_usage", "percent"),
    "redis_memory": _system("redis_memory", "percent"),
    "redis_ops_per_sec": _system("redis_ops_per_sec", "ops"),
    "redis_clients": _system("redis_clients", "count"),
    "cache_hit_ratio": _system("cache_hit_ratio", "percent"),
}

REQUEST_BUCKET_MS = 10_000  # request and 5xx counts are kept per 10-second interval


def _counter(metric):
    return Series(
        key=f"app_metrics:{metric}",
        retention_ms=7 * DAY_MS,
        labels={"group": "app_metrics", "metric": metric, "unit": "count", "resolution": "raw"},
        # Every request adds 1 at its bucket's timestamp: SUM turns writes into a count.
        # Those duplicates would delete rules, so each batch adds its counts to the 5m/1h
        # buckets too.
        duplicate_policy="SUM",
        compactions=(
            Compaction("sum", 5 * MINUTE_MS, 30 * DAY_MS, "5m", app_written="SUM"),
            Compaction("sum", HOUR_MS, 90 * DAY_MS, "1h", app_written="SUM"),
        ),
    )


def _latency(quantile):
    return Series(
        key=f"app_metrics:latency_{quantile}",
        retention_ms=3 * DAY_MS,
        labels={
            "group": "app_metrics",
            "metric": "latency",
            "quantile": quantile,
            "unit": "ms",
            "resolution": "raw",
        },
        # The collector rewrites the current minute as it fills up: keep the newest value.
        # It writes the hour's max itself too (recomputed from the minutes as they stand,
        # hence LAST: MAX would keep a half-filled minute's early figure).
        duplicate_policy="LAST",
        compactions=(Compaction("max", HOUR_MS, 90 * DAY_MS, "1h", app_written="LAST"),),
    )


APP_SERIES = {
    "requests": _counter("requests"),
    "errors": _counter("errors"),
    # Raw per-request durations, as the plan asks (3 days); percentiles come from t-digests.
    "response_time": Series(
        key="app_metrics:response_time",
        retention_ms=3 * DAY_MS,
        labels={
            "group": "app_metrics",
            "metric": "response_time",
            "unit": "ms",
            "resolution": "raw",
        },
        duplicate_policy="MAX",  # two requests in one millisecond: keep the slower
    ),
    "error_rate": Series(
        key="app_metrics:error_rate",
        retention_ms=7 * DAY_MS,
        labels={
            "group": "app_metrics",
            "metric": "error_rate",
            "unit": "percent",
            "resolution": "raw",
        },
        duplicate_policy="LAST",
        # A rule, as for the system series: one rising sample per collector pass.
        compactions=(Compaction("avg", HOUR_MS, 90 * DAY_MS, "1h"),),
    ),
    "latency_p50": _latency("p50"),
    "latency_p95": _latency("p95"),
    "latency_p99": _latency("p99"),
}

ALL_SERIES = {**{f"system.{k}": s for k, s in SYSTEM_SERIES.items()},
              **{f"app.{k}": s for k, s in APP_SERIES.items()}}  # fmt: skip

LATENCY_DIGEST_PREFIX = "app_metrics:latency:"
LATENCY_DIGEST_TTL_SECONDS = 2 * 24 * 3600
TOTALS_KEY = "app_metrics:totals"  # monotonic counters for Prometheus
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def latency_digest_key(minute_ms):
    """The t-digest of every request duration (ms) that ended in this minute."""
    return f"{LATENCY_DIGEST_PREFIX}{minute_ms}"


def totals_key():
    return TOTALS_KEY


def minute_of(ms):
    return ms - ms % MINUTE_MS


def _creation_args(series):
    """TS.ADD's creation arguments: should a write ever create the series (a flushed
    store), it gets its labels, retention and duplicate policy anyway."""
    return {
        "retention_msecs": series.retention_ms,
        "labels": series.labels,
        "duplicate_policy": series.duplicate_policy,
    }


def ts_add(target, series, timestamp_ms, value):
    return target.ts().add(
        series.key, int(timestamp_ms), value,
        on_duplicate=series.duplicate_policy, **_creation_args(series),
    )  # fmt: skip


DESTINATIONS = {
    (series.key, compaction.suffix): series.destination(compaction)
    for series in ALL_SERIES.values()
    for compaction in series.compactions
}


def ensure_series(client=None, check_rules=False):
    """Create every series, its compaction series and the rules of the rule-kept ones if
    missing; one round trip when all exist. Rules only aggregate samples written after
    them, so this runs before writing.

    With `check_rules` (the collector's start) it also compares each source's rules with
    the plan: a rule that went is restored, and a rule on an app-written compaction (left
    by an older version; where rules work, in DB 0, it would count twice) is deleted.
    Returns how many series were created and rules restored or deleted."""
    client = client or _metrics()
    keys = []
    for series in ALL_SERIES.values():
        keys.append(series.key)
        keys.extend(c.key(series.key) for c in series.compactions)
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.exists(key)
    present = dict(zip(keys, pipe.execute(), strict=True))
    if all(present.values()) and not check_rules:
        return 0
    created = 0
    ts = client.ts()
    for series in ALL_SERIES.values():
        if not present[series.key]:
            _create(ts, series.key, series.retention_ms, series.labels, series.duplicate_policy)
            created += 1
        for compaction in series.compactions:
            dest = DESTINATIONS[series.key, compaction.suffix]
            if not present[dest.key]:
                _create(ts, dest.key, dest.retention_ms, dest.labels, dest.duplicate_policy)
                created += 1
            if compaction.app_written is None and not (present[dest.key] and present[series.key]):
                _create_rule(ts, series, compaction)
    if check_rules:
        created += _check_rules(client)
    return created


def _create_rule(ts, series, compaction):
    try:
        ts.createrule(series.key, compaction.key(series.key), compaction.aggregation,
                      compaction.bucket_ms)  # fmt: skip
    except redis.ResponseError as exc:
        if "already" not in str(exc).lower():  # a rule that exists is fine
            raise


def _check_rules(client):
    sources = [series for series in ALL_SERIES.values() if series.compactions]
    pipe = client.pipeline(transaction=False)
    for series in sources:
        pipe.ts().info(series.key)
    fixed = 0
    ts = client.ts()
    for series, info in zip(sources, pipe.execute(), strict=True):
        rules = info.rules or {}
        present = set(rules) if isinstance(rules, dict) else {rule[0] for rule in rules}
        for compaction in series.compactions:
            dest = compaction.key(series.key)
            if compaction.app_written is None and dest not in present:
                _create_rule(ts, series, compaction)
                fixed += 1
            elif compaction.app_written is not None and dest in present:
                ts.deleterule(series.key, dest)
                fixed += 1
    return fixed


def _create(ts, key, retention_ms, labels, duplicate_policy):
    try:
        ts.create(
            key,
            retention_msecs=retention_ms,
            labels={**labels, "resolution": labels.get("resolution", "raw")},
            duplicate_policy=duplicate_policy,
        )
    except redis.ResponseError as exc:
        if "already exists" not in str(exc):
            raise


def series_info(key):
    """TS.INFO as a plain dict (labels, retention, rules) for tests and the dashboard."""
    info = _metrics().ts().info(key)
    return {
        "labels": info.labels,
        "retention_msecs": info.retention_msecs,
        "duplicate_policy": info.duplicate_policy,
        "rules": info.rules,
        "total_samples": info.total_samples,
    }


# --- request metrics (written by the middleware) ----------------------------------

_created_digests: set[int] = set()
_cached = {}


def _hot_client():
    """The metrics client for the per-request path, reused while its pool is current:
    building a client per request cost more than the round trip itself."""
    pool = get_pool("metrics")
    client = _cached.get("metrics")
    if client is None or client.connection_pool is not pool:
        client = _cached["metrics"] = get_redis("metrics")
    return client


def _add_args(series):
    """TS.ADD's trailing arguments, built once per series (the per-request path packs
    them as they are). The creation arguments only act if the write has to create the
    series (a flushed store): it then still gets its labels, retention and policy."""
    args = _cached.get(series.key)
    if args is None:
        args = ["RETENTION", series.retention_ms, "DUPLICATE_POLICY", series.duplicate_policy,
                "ON_DUPLICATE", series.duplicate_policy, "LABELS"]  # fmt: skip
        for name, value in series.labels.items():
            args += [name, value]
        args = _cached[series.key] = tuple(args)
    return args


def record_request(duration_ms, is_error, now_ms=None, client=None):
    """One request's figures in one pipeline (one round trip)."""
    now_ms = int(now_ms if now_ms is not None else time.time() * 1000)
    return record_requests([(now_ms, duration_ms, is_error)], client=client)


def record_requests(samples, client=None):
    """Requests' figures, [(ended_ms, duration_ms, is_error)], in one pipeline: each
    interval's request and 5xx counts, the raw durations, each minute's t-digest and the
    Prometheus totals. Counts are summed here, so a batch costs one write per interval."""
    client = client or _hot_client()
    requests, errors, response_time = (
        APP_SERIES["requests"],
        APP_SERIES["errors"],
        APP_SERIES["response_time"],
    )
    counts, error_counts, by_minute = {}, {}, {}
    total_seconds = 0.0
    pipe = client.pipeline(transaction=False)
    for now_ms, duration_ms, is_error in samples:
        duration_ms = round(duration_ms, 3)
        bucket = now_ms - now_ms % REQUEST_BUCKET_MS
        counts[bucket] = counts.get(bucket, 0) + 1
        if is_error:
            error_counts[bucket] = error_counts.get(bucket, 0) + 1
        by_minute.setdefault(now_ms - now_ms % MINUTE_MS, []).append(duration_ms)
        total_seconds += duration_ms / 1000
        pipe.execute_command(
            "TS.ADD", response_time.key, now_ms, duration_ms, *_add_args(response_time)
        )
    for bucket, count in counts.items():
        pipe.execute_command("TS.ADD", requests.key, bucket, count, *_add_args(requests))
    for bucket, count in error_counts.items():
        pipe.execute_command("TS.ADD", errors.key, bucket, count, *_add_args(errors))
    _add_to_compactions(pipe, requests, counts)
    _add_to_compactions(pipe, errors, error_counts)
    digest_at = {}
    new_minutes = [minute for minute in by_minute if minute not in _created_digests]
    for minute, durations in by_minute.items():
        digest = LATENCY_DIGEST_PREFIX + str(minute)
        if minute in new_minutes:
            # First request of this minute in this process: create the digest (an error
            # if another process already did, which is fine) and let it expire.
            pipe.execute_command("TDIGEST.CREATE", digest, "COMPRESSION", 100)
            pipe.expire(digest, LATENCY_DIGEST_TTL_SECONDS)
        digest_at[minute] = len(pipe.command_stack)
        pipe.execute_command("TDIGEST.ADD", digest, *durations)
    pipe.hincrby(TOTALS_KEY, "requests", len(samples))
    pipe.hincrbyfloat(TOTALS_KEY, "duration_seconds_sum", total_seconds)
    if error_counts:
        pipe.hincrby(TOTALS_KEY, "errors", sum(error_counts.values()))
    results = pipe.execute(raise_on_error=False)
    for minute in new_minutes:
        _created_digests.add(minute)
    for old in [m for m in _created_digests if m < max(by_minute) - 5 * MINUTE_MS]:
        _created_digests.discard(old)
    for result in results:
        if isinstance(result, redis.ConnectionError | redis.TimeoutError):
            raise result
    for minute, index in digest_at.items():
        if isinstance(results[index], redis.ResponseError):
            # The digest vanished (flushed store, expired): create it and add again.
            digest = LATENCY_DIGEST_PREFIX + str(minute)
            retry = client.pipeline(transaction=False)
            retry.execute_command("TDIGEST.CREATE", digest, "COMPRESSION", 100)
            retry.expire(digest, LATENCY_DIGEST_TTL_SECONDS)
            retry.execute_command("TDIGEST.ADD", digest, *by_minute[minute])
            retry_results = retry.execute(raise_on_error=False)
            if isinstance(retry_results[-1], Exception):
                raise retry_results[-1]
    return results


def _add_to_compactions(pipe, series, counts):
    """Add interval counts, {interval_ms: n}, to the series' 5m/1h buckets (ON_DUPLICATE
    SUM): the app's own compaction, since duplicates would delete a TS.CREATERULE rule."""
    for compaction in series.compactions:
        dest = DESTINATIONS[series.key, compaction.suffix]
        sums = {}
        for interval, count in counts.items():
            bucket = interval - interval % compaction.bucket_ms
            sums[bucket] = sums.get(bucket, 0) + count
        for bucket, total in sums.items():
            pipe.execute_command("TS.ADD", dest.key, bucket, total, *_add_args(dest))


def digest_quantiles(minutes):
    """{minute_ms: {"p50":…, "p95":…, "p99":…, "count": n}} for the minutes whose
    digest exists and holds samples."""
    client = _metrics()
    pipe = client.pipeline(transaction=False)
    for minute in minutes:
        pipe.tdigest().quantile(latency_digest_key(minute), *(q for _, q in QUANTILES))
        pipe.tdigest().info(latency_digest_key(minute))
        pipe.tdigest().max(latency_digest_key(minute))
    results = pipe.execute(raise_on_error=False)
    found = {}
    for index, minute in enumerate(minutes):
        values, info, largest = results[3 * index : 3 * index + 3]
        if any(isinstance(r, Exception) for r in (values, info, largest)):
            continue
        count = int(float(info.merged_weight or 0) + float(info.unmerged_weight or 0))
        if count == 0:
            continue  # an empty digest answers nan
        numbers = [float(v) for v in values]
        if any(math.isnan(v) for v in numbers):
            # RedisBloom 2.8 answers nan for a digest holding a single sample; every
            # quantile of one sample is that sample (its max).
            numbers = [float(largest)] * len(numbers)
        found[minute] = {name: round(v, 2) for (name, _), v in zip(QUANTILES, numbers, strict=True)}
        found[minute]["count"] = count
    return found


def request_totals():
    raw = _metrics().hgetall(TOTALS_KEY)
    return {
        "requests": int(raw.get("requests", 0)),
        "errors": int(raw.get("errors", 0)),
        "duration_seconds_sum": float(raw.get("duration_seconds_sum", 0.0)),
    }


def request_counts_since(since_ms):
    """(requests, errors) counted in the intervals starting at or after `since_ms`."""
    pipe = _metrics().pipeline(transaction=False)
    pipe.ts().range(APP_SERIES["requests"].key, since_ms, "+")
    pipe.ts().range(APP_SERIES["errors"].key, since_ms, "+")
    requests, errors = pipe.execute(raise_on_error=False)
    count = lambda rows: 0 if isinstance(rows, Exception) else int(sum(v for _, v in rows))  # noqa: E731
    return count(requests), count(errors)


# --- the collector's writes ------------------------------------------------------


def write_samples(now_ms, system_values, error_rate, latency_by_minute):
    """One pipeline for a collector pass: the system figures, the error rate, and the
    latency percentiles of the recent minutes (rewritten as a minute fills up) with the
    max of their hours."""
    client = _metrics()
    hourly = _latency_hour_maxima(client, latency_by_minute)
    pipe = client.pipeline(transaction=False)
    for name, value in system_values.items():
        if value is not None:
            ts_add(pipe, SYSTEM_SERIES[name], now_ms, round(value, 3))
    if error_rate is not None:
        ts_add(pipe, APP_SERIES["error_rate"], now_ms, round(error_rate, 3))
    for minute, quantiles in latency_by_minute.items():
        for name, _ in QUANTILES:
            ts_add(pipe, APP_SERIES[f"latency_{name}"], minute, quantiles[name])
    for (key, suffix), maxima in hourly.items():
        for hour, value in maxima.items():
            ts_add(pipe, DESTINATIONS[key, suffix], hour, value)
    pipe.execute()


def _latency_hour_maxima(client, latency_by_minute):
    """{(series key, "1h"): {hour_ms: max}}: each touched hour's worst minute, from the
    minutes already written with this pass's values in place of the ones it rewrites (a
    minute's early figure must not stay the hour's max once the minute is filled). The
    collector writes these hourly buckets itself, since rewriting a minute would delete a
    TS.CREATERULE rule. One read round trip."""
    if not latency_by_minute:
        return {}
    targets = []
    for name, _ in QUANTILES:
        series = APP_SERIES[f"latency_{name}"]
        targets.extend((name, series, c) for c in series.compactions)
    pipe = client.pipeline(transaction=False)
    for _, series, compaction in targets:
        first = compaction.bucket(min(latency_by_minute))
        last = compaction.bucket(max(latency_by_minute)) + compaction.bucket_ms - 1
        pipe.ts().range(series.key, first, last)
    found = {}
    for (name, series, compaction), rows in zip(
        targets, pipe.execute(raise_on_error=False), strict=True
    ):
        if isinstance(rows, redis.ConnectionError | redis.TimeoutError):
            raise rows
        values = {} if isinstance(rows, Exception) else {int(t): float(v) for t, v in rows}
        values.update({minute: q[name] for minute, q in latency_by_minute.items()})
        touched = {compaction.bucket(minute) for minute in latency_by_minute}
        maxima = {}
        for minute, value in values.items():
            bucket = compaction.bucket(minute)
            if bucket in touched:
                maxima[bucket] = max(value, maxima.get(bucket, value))
        found[series.key, compaction.suffix] = maxima
    return found


def latest_values():
    """The newest sample of every system series and of the error rate: {name: (ms, value)}."""
    names = [*SYSTEM_SERIES, "error_rate", "latency_p95"]
    keys = [SYSTEM_SERIES[n].key if n in SYSTEM_SERIES else APP_SERIES[n].key for n in names]
    pipe = _metrics().pipeline(transaction=False)
    for key in keys:
        pipe.ts().get(key)
    found = {}
    for name, result in zip(names, pipe.execute(raise_on_error=False), strict=True):
        if isinstance(result, redis.ConnectionError | redis.TimeoutError):
            raise result
        if isinstance(result, Exception) or not result:
            found[name] = None
        else:
            found[name] = (int(result[0]), float(result[1]))
    return found


# --- reading ranges for the dashboard ----------------------------------------------


@dataclass(frozen=True)
class Window:
    name: str
    span_ms: int
    bucket_ms: int
    resolution: str | None  # None: raw samples; else the compaction suffix


WINDOWS = {
    "1h": Window("1h", HOUR_MS, MINUTE_MS, None),
    "24h": Window("24h", DAY_MS, 5 * MINUTE_MS, "5m"),
    "7d": Window("7d", 7 * DAY_MS, HOUR_MS, "1h"),
}


def bucket_grid(window, now_ms):
    """The bucket start times of a window, oldest first, aligned to the epoch the way
    RedisTimeSeries aligns its aggregation buckets."""
    last = now_ms - now_ms % window.bucket_ms
    count = window.span_ms // window.bucket_ms
    return [last - (count - 1 - i) * window.bucket_ms for i in range(count)]


def _source(series, window, aggregation):
    """Which key serves this window: long windows read a compaction, never raw samples."""
    if window.resolution is None:
        return series.key
    for compaction in series.compactions:
        if compaction.suffix == window.resolution:
            return compaction.key(series.key)
    return series.key  # e.g. percentiles over 24h: raw per-minute values (retention 3d)


def read_windows(named_series, window, now_ms, aggregation_for):
    """{name: {bucket_ms: value}} for several series over one window, one round trip."""
    grid = bucket_grid(window, now_ms)
    pipe = _metrics().pipeline(transaction=False)
    names = list(named_series)
    for name in names:
        series = named_series[name]
        pipe.ts().range(
            _source(series, window, aggregation_for(name)),
            grid[0],
            now_ms,
            aggregation_type=aggregation_for(name),
            bucket_size_msec=window.bucket_ms,
        )
    found = {}
    for name, rows in zip(names, pipe.execute(raise_on_error=False), strict=True):
        if isinstance(rows, redis.ConnectionError | redis.TimeoutError):
            raise rows
        found[name] = {} if isinstance(rows, Exception) else {int(t): float(v) for t, v in rows}
    return grid, found
