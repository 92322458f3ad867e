"""What the dashboard and the APIs show, as plain dicts built from the store.

Chart.js runs without a date adapter here, so every series comes on one bucket grid
with labels already formatted on the server.
"""

import time

from django.urls import reverse

from operations import alert_store, metrics_store, redis_server
from operations.alert_types import iso_utc
from operations.configuration import read_configuration
from operations.fleet import evaluator_host
from operations.rules import RULES
from operations.series import APP_SERIES, HOST_METRICS, SYSTEM_SERIES, WINDOWS
from telemetry.units import utc


class BadRange(ValueError):
    pass


def window(name):
    try:
        return WINDOWS[name or "1h"]
    except KeyError:
        raise BadRange(f"range must be one of {', '.join(WINDOWS)}") from None


def _labels(grid, window):
    fmt = "%a %H:%M" if window.name == "7d" else "%H:%M"
    return [utc(ms).strftime(fmt) for ms in grid]


def _now_ms(now_ms):
    return int(now_ms if now_ms is not None else time.time() * 1000)


def system_metrics(range_name: str | None = "1h", now_ms: int | None = None) -> dict:
    win = window(range_name)
    now_ms = _now_ms(now_ms)
    grid, found = metrics_store.read_window(SYSTEM_SERIES, win, now_ms, lambda _: "avg")
    series = {name: [_round(found[name].get(t)) for t in grid] for name in SYSTEM_SERIES}
    latest = latest_system()
    # Each web host's own CPU and memory (the series above hold the highest of them).
    hosts = {
        host: {name: [_round(values.get(name, {}).get(t)) for t in grid] for name in HOST_METRICS}
        for host, values in sorted(metrics_store.read_host_window(win, now_ms).items())
    }
    return {
        "range": win.name,
        "bucket_seconds": win.bucket_ms // 1000,
        "timestamps": grid,
        "labels": _labels(grid, win),
        "series": series,
        "latest": latest,
        "units": {name: s.labels["unit"] for name, s in SYSTEM_SERIES.items()},
        "hosts": hosts,
    }


def latest_system() -> dict[str, float | None]:
    """The newest sample of every system series, {name: value or None}: what the tiles show,
    and the Redis table's ops/s and clients with them."""
    return {
        name: (None if value is None else value[1])
        for name, value in metrics_store.latest_values().items()
        if name in SYSTEM_SERIES
    }


def redis_overview() -> dict:
    """The Redis server's figures, with commands per second as the collector measured them
    (the same sample as the system series' latest): one figure of ops/s, wherever shown."""
    info = redis_server.overview(redis_server.read_server_info())
    sample = metrics_store.latest_values()["redis_ops_per_sec"]
    info["stats"]["ops_per_sec"] = None if sample is None else sample[1]
    info["stats"]["ops_per_sec_measured_at"] = None if sample is None else iso_utc(sample[0])
    return info


def performance_metrics(range_name: str | None = "1h", now_ms: int | None = None) -> dict:
    win = window(range_name)
    now_ms = _now_ms(now_ms)
    named = {
        "requests": APP_SERIES["requests"],
        "errors": APP_SERIES["errors"],
        "p50": APP_SERIES["latency_p50"],
        "p95": APP_SERIES["latency_p95"],
        "p99": APP_SERIES["latency_p99"],
    }
    # Counts add up per bucket; for percentiles a bucket shows its worst minute.
    grid, found = metrics_store.read_window(
        named, win, now_ms, lambda name: "sum" if name in ("requests", "errors") else "max"
    )
    seconds = win.bucket_ms / 1000
    requests = [found["requests"].get(t, 0.0) for t in grid]
    errors = [found["errors"].get(t, 0.0) for t in grid]
    return {
        "range": win.name,
        "bucket_seconds": int(seconds),
        "timestamps": grid,
        "labels": _labels(grid, win),
        "requests_per_second": [round(r / seconds, 3) for r in requests],
        "error_rate": [
            round(e / r * 100, 2) if r else None for r, e in zip(requests, errors, strict=True)
        ],
        "latency_ms": {q: [_round(found[q].get(t)) for t in grid] for q in ("p50", "p95", "p99")},
        "totals": {"requests": int(sum(requests)), "errors": int(sum(errors))},
    }


def _round(value):
    return None if value is None else round(value, 2)


def alerts(limit: int = 50) -> dict:
    return {
        "active": [alert.to_dict() for alert in alert_store.active_alerts()],
        "history": [entry.to_dict() for entry in alert_store.alert_history(limit)],
    }


def configuration() -> dict:
    published = read_configuration()
    collector = alert_store.collector_state()
    last_pass = collector.last_pass_ms
    return {
        "rules": [
            {
                "rule": name,
                "label": RULES[name].label,
                "unit": RULES[name].unit,
                "threshold": config.threshold,
                "duration_seconds": config.duration_seconds,
                "hysteresis": config.hysteresis,
                "resolves_below": config.resolve_below,
                "severity": config.severity,
                "enabled": config.enabled,
            }
            for name, config in published.rules.items()
        ],
        "updated_at": published.updated_at,
        "source": "operations:configuration" if published.published else "defaults",
        "admin_url": reverse("admin:operations_alertthreshold_changelist"),
        "collector": {
            "last_pass": (utc(last_pass).isoformat() if last_pass else None),
            "last_duration_ms": collector.last_duration_ms,
            "evaluator_host": evaluator_host(),
        },
    }
