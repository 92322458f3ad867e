"""What the dashboard and the APIs show, as plain dicts built from the store.

Chart.js runs without a date adapter here, so every series comes on one bucket grid
with labels already formatted on the server.
"""

import time
from datetime import UTC, datetime

from django.urls import reverse

from operations import metrics_store, store
from operations.alerts import current_configuration
from operations.rules import RULES
from operations.series import APP_SERIES, SYSTEM_SERIES, WINDOWS


class BadRange(ValueError):
    pass


def window(name):
    try:
        return WINDOWS[name or "1h"]
    except KeyError:
        raise BadRange(f"range must be one of {', '.join(WINDOWS)}") from None


def _labels(grid, window):
    fmt = "%a %H:%M" if window.name == "7d" else "%H:%M"
    return [datetime.fromtimestamp(ms / 1000, tz=UTC).strftime(fmt) for ms in grid]


def _now_ms(now_ms):
    return int(now_ms if now_ms is not None else time.time() * 1000)


def system_metrics(range_name="1h", now_ms=None):
    win = window(range_name)
    now_ms = _now_ms(now_ms)
    grid, found = metrics_store.read_window(SYSTEM_SERIES, win, now_ms, lambda _: "avg")
    series = {name: [_round(found[name].get(t)) for t in grid] for name in SYSTEM_SERIES}
    latest = latest_system()
    return {
        "range": win.name,
        "bucket_seconds": win.bucket_ms // 1000,
        "timestamps": grid,
        "labels": _labels(grid, win),
        "series": series,
        "latest": latest,
        "units": {name: s.labels["unit"] for name, s in SYSTEM_SERIES.items()},
    }


def latest_system():
    """The newest sample of every system series, {name: value or None}: what the tiles show,
    and the Redis table's ops/s and clients with them."""
    return {
        name: (None if value is None else value[1])
        for name, value in metrics_store.latest_values().items()
        if name in SYSTEM_SERIES
    }


def redis_overview():
    """The Redis server's figures, with commands per second as the collector measured them
    (the same sample as the system series' latest): one figure of ops/s, wherever shown."""
    info = store.redis_info()
    sample = metrics_store.latest_values()["redis_ops_per_sec"]
    info["stats"]["ops_per_sec"] = None if sample is None else sample[1]
    info["stats"]["ops_per_sec_measured_at"] = None if sample is None else store.iso_utc(sample[0])
    return info


def performance_metrics(range_name="1h", now_ms=None):
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


def alerts(limit=50):
    return {"active": store.active_alerts(), "history": store.alert_history(limit)}


def configuration():
    configs = current_configuration()
    fields = store.read_configuration()
    collector = store.collector_state()
    last_pass = int(collector["last_pass_ms"]) if collector.get("last_pass_ms") else None
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
            for name, config in configs.items()
        ],
        "updated_at": fields.get("updated_at") or None,
        "source": "operations:configuration" if fields else "defaults",
        "admin_url": reverse("admin:operations_alertthreshold_changelist"),
        "collector": {
            "last_pass": (
                datetime.fromtimestamp(last_pass / 1000, tz=UTC).isoformat() if last_pass else None
            ),
            "last_duration_ms": float(collector["last_duration_ms"])
            if collector.get("last_duration_ms")
            else None,
        },
    }
