"""Every command on the metrics store (DB 4): its series (operations.series), the
per-minute latency t-digests `app_metrics:latency:<minute ms>` and the Prometheus totals
hash `app_metrics:totals`; written by the request middleware and the collector, read by
the dashboard and /metrics.
"""

import math
import time
from collections.abc import Callable

import redis

from config.redis_stores import get_pool, get_redis
from operations.series import (
    ALL_SERIES,
    APP_SERIES,
    HOST_GROUP,
    REQUEST_BUCKET_MS,
    SERIES_BY_KEY,
    SYSTEM_SERIES,
    host_series,
)
from telemetry import timeseries
from telemetry.timeseries import Samples, Series, Window
from telemetry.units import MINUTE_MS, bucket_start

LATENCY_DIGEST_PREFIX = "app_metrics:latency:"
LATENCY_DIGEST_TTL_SECONDS = 2 * 24 * 3600
TOTALS_KEY = "app_metrics:totals"  # monotonic counters for Prometheus
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def latency_digest_key(minute_ms: int) -> str:
    """The t-digest of every request duration (ms) that ended in this minute."""
    return f"{LATENCY_DIGEST_PREFIX}{minute_ms}"


def totals_key() -> str:
    return TOTALS_KEY


def minute_of(ms: int) -> int:
    return bucket_start(ms, MINUTE_MS)


def _metrics():
    return get_redis("metrics")


def ensure_series(
    client: redis.Redis | None = None, check_rules: bool = False, host: str | None = None
) -> int:
    """Create every series (and `host`'s own), its bucket series and rules where missing:
    checked on every call (one EXISTS round trip when all exist), so the next collector
    pass notices a flushed store. Returns how many series were created (and, with
    `check_rules`, how many rules were fixed)."""
    series = [*ALL_SERIES.values(), *(host_series(host).values() if host else ())]
    return timeseries.ensure_series(
        client or _metrics(), series, remember=False, check_rules=check_rules
    )


def series_info(key: str) -> dict:
    """TS.INFO as a plain dict (labels, retention, rules) for tests and the dashboard."""
    info = _metrics().ts().info(key)
    return {
        "labels": info.labels,
        "retention_msecs": info.retention_msecs,
        "duplicate_policy": info.duplicate_policy,
        "rules": info.rules,
        "total_samples": info.total_samples,
    }


def ts_add(target: redis.Redis, series: Series, timestamp_ms: int, value: float) -> object:
    """Queue (or send) one TS.ADD with the series' ON_DUPLICATE and creation arguments."""
    return target.execute_command("TS.ADD", series.key, int(timestamp_ms), value, *series.add_args)


# --- request metrics (written by the middleware) ----------------------------------

_created_digests: set[int] = set()
_cached = {}


def forget_created_digests() -> None:
    """Forget which minute digests this process created (the store was emptied)."""
    _created_digests.clear()


def _hot_client():
    """The metrics client for the per-request path, reused while its pool is current:
    building a client per request cost more than the round trip itself."""
    pool = get_pool("metrics")
    client = _cached.get("metrics")
    if client is None or client.connection_pool is not pool:
        client = _cached["metrics"] = get_redis("metrics")
    return client


def record_request(
    duration_ms: float, is_error: bool, now_ms: int | None = None, client: redis.Redis | None = None
) -> list:
    """One request's figures in one pipeline (one round trip)."""
    now_ms = int(now_ms if now_ms is not None else time.time() * 1000)
    return record_requests([(now_ms, duration_ms, is_error)], client=client)


def record_requests(
    samples: list[tuple[int, float, bool]], client: redis.Redis | None = None
) -> list:
    """Requests' figures, [(ended_ms, duration_ms, is_error)], in one pipeline: each
    interval's request and 5xx counts (and their app-written 5m/1h buckets), the raw
    durations, each minute's t-digest and the Prometheus totals. Returns the replies."""
    client = client or _hot_client()
    requests, errors, response_time = (
        APP_SERIES["requests"],
        APP_SERIES["errors"],
        APP_SERIES["response_time"],
    )
    response_args = response_time.add_args
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
        pipe.execute_command("TS.ADD", response_time.key, now_ms, duration_ms, *response_args)
    sums = Samples()
    for bucket, count in counts.items():
        sums.add(requests, bucket, count)
    for bucket, count in error_counts.items():
        sums.add(errors, bucket, count)
    sums.queue_adds(pipe, SERIES_BY_KEY)
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


def digest_quantiles(minutes: list[int]) -> dict[int, dict[str, float]]:
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


def request_totals() -> dict[str, float]:
    raw = _metrics().hgetall(TOTALS_KEY)
    return {
        "requests": int(raw.get("requests", 0)),
        "errors": int(raw.get("errors", 0)),
        "duration_seconds_sum": float(raw.get("duration_seconds_sum", 0.0)),
    }


def request_counts_since(since_ms: int) -> tuple[int, int]:
    """(requests, errors) counted in the intervals starting at or after `since_ms`."""
    pipe = _metrics().pipeline(transaction=False)
    pipe.ts().range(APP_SERIES["requests"].key, since_ms, "+")
    pipe.ts().range(APP_SERIES["errors"].key, since_ms, "+")
    requests, errors = pipe.execute(raise_on_error=False)
    count = lambda rows: 0 if isinstance(rows, Exception) else int(sum(v for _, v in rows))  # noqa: E731
    return count(requests), count(errors)


# --- the collector's writes ------------------------------------------------------


def write_samples(
    now_ms: int,
    system_values: dict[str, float | None],
    error_rate: float | None,
    latency_by_minute: dict[int, dict[str, float]],
) -> None:
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
    for key, maxima in hourly.items():
        for hour, value in maxima.items():
            ts_add(pipe, SERIES_BY_KEY[key], hour, value)
    pipe.execute()


def write_host_samples(host: str, now_ms: int, values: dict[str, float]) -> None:
    """One host's own figures (operations.series.host_series), one pipeline."""
    pipe = _metrics().pipeline(transaction=False)
    for name, series in host_series(host).items():
        if values.get(name) is not None:
            ts_add(pipe, series, now_ms, round(values[name], 3))
    pipe.execute()


def host_values(since_ms: int) -> dict[str, dict[str, float]]:
    """{host: {metric: value}}: each host's newest figures, of hosts that wrote them at or
    after `since_ms` (a stopped host drops out)."""
    rows = _metrics().ts().mget([f"group={HOST_GROUP}", "resolution=raw"],
                                select_labels=["host", "metric"])  # fmt: skip
    found: dict[str, dict[str, float]] = {}
    for row in rows:
        for labels, timestamp, value in row.values():
            if timestamp is not None and int(timestamp) >= since_ms:
                found.setdefault(labels["host"], {})[labels["metric"]] = float(value)
    return found


def read_host_window(window: Window, now_ms: int) -> dict[str, dict[str, dict[int, float]]]:
    """{host: {metric: {bucket_ms: average}}} of the hosts with samples in the window (a
    host gone for longer is left out), one TS.MRANGE found by label."""
    grid = window.grid(now_ms)
    rows = _metrics().ts().mrange(
        grid[0], now_ms, [f"group={HOST_GROUP}", f"resolution={window.source or 'raw'}"],
        aggregation_type="avg", bucket_size_msec=window.bucket_ms,
        select_labels=["host", "metric"],
    )  # fmt: skip
    found: dict[str, dict[str, dict[int, float]]] = {}
    for row in rows:
        for labels, samples in row.values():
            if samples:
                values = {int(t): float(v) for t, v in samples}
                found.setdefault(labels["host"], {})[labels["metric"]] = values
    return found


def _latency_hour_maxima(client, latency_by_minute):
    """{bucket series key: {hour_ms: max}}: each touched hour's worst minute, from the
    minutes already written with this pass's values in place of the ones it rewrites (a
    minute's early figure must not stay the hour's max once the minute is filled). One
    read round trip."""
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
        found[compaction.key(series.key)] = maxima
    return found


def latest_values() -> dict[str, tuple[int, float] | None]:
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


def read_window(
    named_series: dict[str, Series],
    window: Window,
    now_ms: int,
    aggregation_for: Callable[[str], str],
) -> tuple[list[int], dict[str, dict[int, float]]]:
    """(grid, {name: {bucket_ms: value}}) for several series over one window, one round trip."""
    return timeseries.read_window(_metrics(), named_series, window, now_ms, aggregation_for)
