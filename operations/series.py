"""The operations app's time series (store `metrics`, DB 4) and its dashboard windows.

System figures and the error rate get one rising sample per collector pass from one
writer, so TS.CREATERULE rules fill their 5m/1h buckets. The request counters (a
duplicate at every second request of an interval) and the latency minutes (rewritten as a
minute fills up) would delete such rules outside DB 0: the app writes their buckets.
"""

from telemetry.timeseries import Compaction, Series, Window
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS


def compaction(
    aggregation: str, bucket_ms: int, retention_ms: int, suffix: str, app_written: str | None = None
) -> Compaction:
    """A `<source>:<aggregation>_<suffix>` bucket series, labelled with both."""
    return Compaction(
        aggregation, bucket_ms, retention_ms, suffix, app_written,
        labels={"aggregation": aggregation, "resolution": suffix},
    )  # fmt: skip


def _system(metric, unit, group="system_metrics", key=None, **extra):
    return Series(
        key=key or f"{group}:{metric}",
        retention_ms=7 * DAY_MS,
        labels={"group": group, "metric": metric, **extra, "unit": unit, "resolution": "raw"},
        # One sample per collector pass, rising (a pass whose clock went back skips these).
        duplicate_policy="LAST",
        compactions=(
            compaction("avg", 5 * MINUTE_MS, 30 * DAY_MS, "5m"),
            compaction("avg", HOUR_MS, 90 * DAY_MS, "1h"),
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

# The figures each web host measures of itself. Every host writes its own series
# (`host_metrics:<host>:<metric>`, labelled `host`); the evaluating host writes the
# system series above from them (the highest of the hosts still reporting).
HOST_METRICS = ("cpu_usage", "memory_usage")
HOST_GROUP = "host_metrics"


def host_series(host: str) -> dict[str, Series]:
    """One host's own series, by metric."""
    return {
        metric: _system(metric, "percent", HOST_GROUP, f"{HOST_GROUP}:{host}:{metric}", host=host)
        for metric in HOST_METRICS
    }


REQUEST_BUCKET_MS = 10_000  # request and 5xx counts are kept per 10-second interval


def _app(key_name, metric, unit, retention_ms, duplicate_policy, compactions=(), **extra):
    return Series(
        key=f"app_metrics:{key_name}",
        retention_ms=retention_ms,
        labels={
            "group": "app_metrics",
            "metric": metric,
            **extra,
            "unit": unit,
            "resolution": "raw",
        },
        duplicate_policy=duplicate_policy,
        compactions=compactions,
    )


def _counter(metric):
    # Every batch adds its count at its interval's timestamp: SUM turns writes into a count.
    return _app(metric, metric, "count", 7 * DAY_MS, "SUM", (
        compaction("sum", 5 * MINUTE_MS, 30 * DAY_MS, "5m", app_written="SUM"),
        compaction("sum", HOUR_MS, 90 * DAY_MS, "1h", app_written="SUM"),
    ))  # fmt: skip


def _latency(quantile):
    # The collector rewrites the current minute as it fills up, and the hour's max from
    # the minutes as they stand (LAST: MAX would keep a half-filled minute's figure).
    return _app(f"latency_{quantile}", "latency", "ms", 3 * DAY_MS, "LAST", (
        compaction("max", HOUR_MS, 90 * DAY_MS, "1h", app_written="LAST"),
    ), quantile=quantile)  # fmt: skip


APP_SERIES = {
    "requests": _counter("requests"),
    "errors": _counter("errors"),
    # Raw per-request durations (3 days); percentiles come from the t-digests. MAX: two
    # requests in one millisecond keep the slower.
    "response_time": _app("response_time", "response_time", "ms", 3 * DAY_MS, "MAX"),
    # A rule, as for the system series: one rising sample per collector pass.
    "error_rate": _app(
        "error_rate",
        "error_rate",
        "percent",
        7 * DAY_MS,
        "LAST",
        (compaction("avg", HOUR_MS, 90 * DAY_MS, "1h"),),
    ),
    "latency_p50": _latency("p50"),
    "latency_p95": _latency("p95"),
    "latency_p99": _latency("p99"),
}

ALL_SERIES = {**{f"system.{k}": s for k, s in SYSTEM_SERIES.items()},
              **{f"app.{k}": s for k, s in APP_SERIES.items()}}  # fmt: skip

# Every series and bucket series by key: what an app-written bucket is created with.
SERIES_BY_KEY = {
    target.key: target
    for series in ALL_SERIES.values()
    for target in (series, *series.destinations)
}

WINDOWS = {
    "1h": Window("1h", HOUR_MS, MINUTE_MS, None),
    "24h": Window("24h", DAY_MS, 5 * MINUTE_MS, "5m"),
    "7d": Window("7d", 7 * DAY_MS, HOUR_MS, "1h"),
}
