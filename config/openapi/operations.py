"""The operations part of the OpenAPI document: the five staff-only operations APIs
(metrics, alerts, Redis, configuration), with the schemas of their answers."""

from typing import Any

from django.urls import reverse

from config.openapi.paths import api_get, query
from config.openapi.schemas import (
    BOOLEAN,
    COUNT,
    DATE_TIME,
    INTEGER,
    NUMBER,
    STRING,
    array,
    closed_object,
    nullable,
    ref,
)
from config.redis_stores import STORES
from operations.rules import RULES, SEVERITIES
from operations.series import HOST_METRICS, SYSTEM_SERIES, WINDOWS

# Literals of views that keep them inline; the schemathesis run rejects a document whose
# bounds the views do not enforce.
OPERATIONS_DEFAULT_RANGE = "1h"  # operations.reports.window
ALERTS_LIMIT_MAX, ALERTS_LIMIT_DEFAULT = 1000, 50  # operations.views.api_alerts


def operations_components() -> dict[str, Any]:
    """The schemas of the five operations answers (and the alert they share), by name."""
    system = list(SYSTEM_SERIES)
    series = array(nullable(NUMBER), "One value per bucket; null where nothing was recorded.")
    grid = {
        "range": {"type": "string", "enum": list(WINDOWS)},
        "bucket_seconds": {"type": "integer", "minimum": 1},
        "timestamps": array(INTEGER, "Bucket starts, in milliseconds since the epoch."),
        "labels": array(STRING, "Bucket starts as chart labels (UTC)."),
    }
    count_or_null = nullable(COUNT)
    string_or_null = nullable(STRING)
    number_or_null = nullable(NUMBER)
    return {
        "SystemMetrics": closed_object(
            {
                **grid,
                "series": closed_object({name: series for name in system}),
                "latest": closed_object(
                    {name: number_or_null for name in system}, "The newest sample of each series."
                ),
                "units": closed_object({name: STRING for name in system}),
                "hosts": {
                    "type": "object",
                    "description": "Each web host's own CPU and memory, by host name.",
                    "additionalProperties": closed_object({n: series for n in HOST_METRICS}),
                },
            }
        ),
        "PerformanceMetrics": closed_object(
            {
                **grid,
                "requests_per_second": array({"type": "number", "minimum": 0}),
                "error_rate": array(
                    nullable({"type": "number", "minimum": 0, "maximum": 100}),
                    "5xx share of the bucket's requests, in percent.",
                ),
                "latency_ms": closed_object({q: series for q in ("p50", "p95", "p99")}),
                "totals": closed_object({"requests": COUNT, "errors": COUNT}),
            }
        ),
        "Alert": {
            **closed_object(
                {
                    "id": {
                        **STRING,
                        "description": "Acknowledge with POST "
                        "/operations/alerts/<id>/acknowledge (staff, CSRF).",
                    },
                    "type": {"type": "string", "enum": list(RULES), "description": "The rule."},
                    "message": STRING,
                    "timestamp": {**DATE_TIME, "description": "When the alert fired."},
                    "timestamp_ms": INTEGER,
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "value": {**number_or_null, "description": "The value that moved the alert."},
                    "threshold": NUMBER,
                    "state": {
                        "type": "string",
                        "enum": ["active", "acknowledged", "resolved"],
                        "description": "An acknowledged alert is still active; it resolves "
                        "once the value is below the threshold minus the hysteresis.",
                    },
                    "acknowledged_by": string_or_null,
                    "acknowledged_at": nullable(DATE_TIME),
                    "resolved_at": nullable(DATE_TIME),
                    "recorded_at": {
                        **DATE_TIME,
                        "description": "When this history entry was written (`timestamp` "
                        "is when the alert fired).",
                    },
                    "recorded_ms": INTEGER,
                }
            ),
            # Only history entries say when they were written.
            "required": [
                "id",
                "type",
                "message",
                "timestamp",
                "timestamp_ms",
                "severity",
                "value",
                "threshold",
                "state",
                "acknowledged_by",
                "acknowledged_at",
            ],
        },
        "Alerts": closed_object(
            {
                "active": array(ref("Alert"), "Active and acknowledged alerts, newest first."),
                "history": array(
                    ref("Alert"),
                    "Every transition, newest first; entries are kept 90 days, at most 1000.",
                ),
            }
        ),
        "RedisInfo": closed_object(
            {
                "version": string_or_null,
                "mode": string_or_null,
                "uptime_seconds": count_or_null,
                "modules": array(STRING, "Each module's name and version."),
                "memory": closed_object(
                    {
                        "used_bytes": COUNT,
                        "used_human": string_or_null,
                        "peak_human": string_or_null,
                        "maxmemory_bytes": {**COUNT, "description": "0: no limit."},
                        "maxmemory_human": string_or_null,
                        "used_percent": number_or_null,
                        "policy": string_or_null,
                        "fragmentation_ratio": number_or_null,
                    }
                ),
                "clients": closed_object({"connected": count_or_null, "blocked": count_or_null}),
                "stats": closed_object(
                    {
                        "ops_per_sec": {
                            **number_or_null,
                            "description": "Commands per second between the collector's "
                            "last two passes; null before it has measured.",
                        },
                        "ops_per_sec_measured_at": nullable(DATE_TIME),
                        "keyspace_hits": COUNT,
                        "keyspace_misses": COUNT,
                        "hit_ratio_percent": number_or_null,
                        "evicted_keys": count_or_null,
                        "expired_keys": count_or_null,
                    }
                ),
                "keys_per_store": closed_object(
                    {name: count_or_null for name in STORES},
                    "Keys in each store; null for a store that did not answer.",
                ),
                "persistence": closed_object(
                    {
                        "aof_enabled": BOOLEAN,
                        "aof_last_write_status": string_or_null,
                        "aof_last_bgrewrite_status": string_or_null,
                        "rdb_last_save_time": count_or_null,
                        "rdb_last_bgsave_status": string_or_null,
                        "rdb_changes_since_last_save": count_or_null,
                        "loading": BOOLEAN,
                    }
                ),
            }
        ),
        "Configuration": closed_object(
            {
                "rules": array(
                    closed_object(
                        {
                            "rule": {"type": "string", "enum": list(RULES)},
                            "label": STRING,
                            "unit": {
                                "type": "string",
                                "enum": sorted({r.unit for r in RULES.values()}),
                            },
                            "threshold": NUMBER,
                            "duration_seconds": {
                                "type": "integer",
                                "minimum": 1,
                                "description": "How long the value must hold at or above "
                                "the threshold before the alert fires.",
                            },
                            "hysteresis": {"type": "number", "minimum": 0},
                            "resolves_below": {
                                **NUMBER,
                                "description": "The threshold minus the hysteresis.",
                            },
                            "severity": {"type": "string", "enum": list(SEVERITIES)},
                            "enabled": BOOLEAN,
                        }
                    )
                ),
                "updated_at": nullable(STRING),
                "source": {
                    "type": "string",
                    "enum": ["operations:configuration", "defaults"],
                    "description": "Where the rules in force were read: the Redis hash the "
                    "admin writes, or the built-in defaults.",
                },
                "admin_url": {**STRING, "description": "Where staff edit the thresholds."},
                "collector": closed_object(
                    {
                        "last_pass": nullable(DATE_TIME),
                        "last_duration_ms": number_or_null,
                        "evaluator_host": {
                            **string_or_null,
                            "description": "The web host whose collector evaluates the rules "
                            "now; null when none holds the lease.",
                        },
                    }
                ),
            }
        ),
    }


# What each operations operation's description adds to its summary.
OPERATIONS_NOTES = {
    "operationsSystemMetrics": "Written by the collector at every pass; `1h` is per minute, "
    "`24h` per 5 minutes and `7d` per hour. Redis memory is used_memory against maxmemory "
    "(the machine's RAM without one); ops/s is the commands processed between two passes.",
    "operationsPerformanceMetrics": "From the request-metrics middleware (every request "
    "but /static/): the request rate and 5xx share per bucket, and the p50/p95/p99 "
    "latency of each minute's t-digest.",
    "operationsAlerts": "An alert fires when its value has held at or above the threshold "
    "for the hold time, is not repeated while active, and resolves below the threshold "
    "minus the hysteresis; the first acknowledgement wins.",
    "operationsRedisInfo": "The search store's server, from INFO; `keys_per_store` "
    "counts every store.",
    "operationsConfiguration": "The thresholds are edited in the admin; a change applies "
    "from the collector's next pass.",
}


def operations_paths() -> dict[str, Any]:
    """The path items of the five operations APIs, by path."""
    window = query(
        "range",
        {
            "type": "string",
            "enum": list(WINDOWS),
            "default": OPERATIONS_DEFAULT_RANGE,
        },
        "The window charted.",
    )
    limit = query(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": ALERTS_LIMIT_MAX,
            "default": ALERTS_LIMIT_DEFAULT,
        },
        "How many history entries.",
        empty_is_default=False,
    )
    bad_range = "An unknown `range`; the reason is in `error`."
    operations = (
        # (url name, operation id, schema, summary, parameters, 400 text)
        (
            "system-metrics",
            "operationsSystemMetrics",
            "SystemMetrics",
            "CPU, memory and Redis figures over a window",
            [window],
            bad_range,
        ),
        (
            "performance-metrics",
            "operationsPerformanceMetrics",
            "PerformanceMetrics",
            "Request rate, latency percentiles and error rate over a window",
            [window],
            bad_range,
        ),
        (
            "alerts",
            "operationsAlerts",
            "Alerts",
            "Active alerts and the alert history",
            [limit],
            "A bad `limit`; the reason is in `error`.",
        ),
        ("redis-info", "operationsRedisInfo", "RedisInfo", "The Redis server's figures", [], None),
        (
            "configuration",
            "operationsConfiguration",
            "Configuration",
            "The alert rules in force and the collector's last pass",
            [],
            None,
        ),
    )
    paths = {}
    for name, operation_id, schema, summary, parameters, bad_request in operations:
        paths[reverse(f"operations_api:{name}")] = api_get(
            operation_id,
            "operations",
            summary,
            f"{summary}. Staff only. {OPERATIONS_NOTES[operation_id]}",
            parameters,
            schema=schema,
            ok_description=summary + ".",
            bad_request=bad_request,
            staff=True,
            outage="Redis is unavailable.",
        )
    return paths
