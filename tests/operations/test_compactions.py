"""The 5m/1h bucket series the 24h and 7d views read, in the metrics store (DB 4).

Outside DB 0 a duplicate or out-of-order sample deletes a TS.CREATERULE rule
(tests/telemetry/test_compaction_rule_bug.py). The request counters get a duplicate on
every second request of a 10-second interval and the latency series are rewritten by
every collector pass, so the app writes their buckets; these tests go through the real
write paths and read what the reports show.
"""

from types import SimpleNamespace

import pytest

from config.redis_stores import get_redis
from operations import metrics_store, reports
from operations.collector import Collector
from operations.series import APP_SERIES, SYSTEM_SERIES
from telemetry.units import HOUR_MS, MINUTE_MS

pytestmark = pytest.mark.django_db

MINUTE = MINUTE_MS
HOUR = HOUR_MS


def fixed_system():
    return {
        "cpu_percent": lambda interval=None: 10.0,
        "virtual_memory": lambda: SimpleNamespace(percent=40.0, total=16 * 2**30),
    }


def rules_of(key):
    """The destinations of a series' rules (TS.INFO answers a list or a dict)."""
    rules = metrics_store.series_info(key)["rules"] or {}
    return set(rules) if isinstance(rules, dict) else {rule[0] for rule in rules}


@pytest.fixture
def hour(clock):
    start = int(clock() * 1000)
    assert start % HOUR == 0  # the fake clock starts on an hour
    return start


def test_request_counts_reach_the_5m_and_1h_compactions_and_the_long_reports(hour):
    metrics_store.ensure_series()  # as the collector does at start
    # Four requests in one 10-second interval, each its own pipeline (duplicate writes)...
    for offset in (1_000, 2_000, 3_000):
        metrics_store.record_request(5.0, False, now_ms=hour + offset)
    metrics_store.record_request(5.0, True, now_ms=hour + 4_000)
    # ...then a batch in a later 5-minute bucket, and one request in the next hour.
    metrics_store.record_requests([(hour + 7 * MINUTE + i, 5.0, i == 0) for i in range(5)])
    metrics_store.record_request(5.0, False, now_ms=hour + HOUR + 1_000)

    ts = get_redis("metrics").ts()
    assert ts.range("app_metrics:requests:sum_5m", "-", "+") == [
        (hour, 4.0),
        (hour + 5 * MINUTE, 5.0),
        (hour + HOUR, 1.0),  # the open bucket is there at once, not when it closes
    ]
    assert ts.range("app_metrics:requests:sum_1h", "-", "+") == [(hour, 9.0), (hour + HOUR, 1.0)]
    assert ts.range("app_metrics:errors:sum_5m", "-", "+") == [
        (hour, 1.0),
        (hour + 5 * MINUTE, 1.0),
    ]
    assert ts.range("app_metrics:errors:sum_1h", "-", "+") == [(hour, 2.0)]
    assert rules_of("app_metrics:requests") == set()  # nothing depends on TS.CREATERULE

    now_ms = hour + HOUR + 2_000
    day = reports.performance_metrics("24h", now_ms=now_ms)
    assert day["totals"] == {"requests": 10, "errors": 2}
    at = day["timestamps"].index(hour)
    assert day["requests_per_second"][at] == round(4 / 300, 3)
    assert day["error_rate"][at] == 25.0
    week = reports.performance_metrics("7d", now_ms=now_ms)
    assert week["totals"] == {"requests": 10, "errors": 2}
    at = week["timestamps"].index(hour)
    assert week["requests_per_second"][at] == round(9 / 3600, 3)
    assert week["error_rate"][at] == round(2 / 9 * 100, 2)


@pytest.mark.parametrize("range_name", ["24h", "7d"])
def test_the_performance_api_shows_the_long_ranges(staff_client, range_name):
    import time

    metrics_store.ensure_series()
    now_ms = int(time.time() * 1000)
    for offset in range(3):  # one interval: duplicates on app_metrics:requests
        metrics_store.record_request(5.0, offset == 0, now_ms=now_ms - 5_000 + offset)
    body = staff_client.get(f"/api/operations/performance-metrics?range={range_name}").json()
    # The API call itself was a request too (recorded after its answer).
    assert body["totals"] == {"requests": 3, "errors": 1}


def test_latency_percentiles_reach_the_hourly_compaction(clock, hour):
    collector = Collector(clock=clock, **fixed_system())
    # Minute 0: one slow request, then a pass while the minute holds only that one...
    metrics_store.record_request(900.0, False, now_ms=hour + 1_000)
    clock.advance(10)
    collector.run_pass()
    # ...then 99 fast ones and a second pass in the same minute, which rewrites it.
    metrics_store.record_requests([(hour + 12_000 + i, 10.0, False) for i in range(99)])
    clock.advance(10)
    collector.run_pass()
    # Minute 1: 50 ms requests; the pass rewrites minutes 0 and 1 (duplicates again).
    metrics_store.record_requests([(hour + MINUTE + 1_000 + i, 50.0, False) for i in range(20)])
    clock.advance(50)
    collector.run_pass()
    # The next hour.
    metrics_store.record_request(20.0, False, now_ms=hour + HOUR + 1_000)
    clock.advance(3600)
    collector.run_pass()

    ts = get_redis("metrics").ts()
    week = reports.performance_metrics("7d", now_ms=int(clock() * 1000))
    at = week["timestamps"].index(hour)
    for name, _ in metrics_store.QUANTILES:
        key = f"app_metrics:latency_{name}"
        minutes = ts.range(key, hour, hour + HOUR - 1)
        assert [t for t, _ in minutes] == [hour, hour + MINUTE]
        expected = max(value for _, value in minutes)  # the worst minute, as finally written
        hourly = ts.range(f"{key}:max_1h", "-", "+")
        assert hourly == [(hour, expected), (hour + HOUR, 20.0)], name
        assert week["latency_ms"][name][at] == round(expected, 2)
        assert rules_of(key) == set()
    # The hour's p50 is its worst minute's final p50 (50 ms), not the 900 ms the first
    # pass saw while minute 0 held a single request.
    assert week["latency_ms"]["p50"][at] == 50.0


def test_a_pass_on_a_clock_that_went_back_keeps_the_system_rules(clock):
    """System series keep TS.CREATERULE (one writer, one rising sample per pass): a pass at
    or before the previous one's timestamp must not write them, or the rules would go."""
    collector = Collector(clock=clock, **fixed_system())
    collector.run_pass()
    clock.advance(-5)
    collector.run_pass()
    clock.advance(-5)  # the same millisecond as the first pass
    collector.run_pass()
    for series in [*SYSTEM_SERIES.values(), APP_SERIES["error_rate"]]:
        assert rules_of(series.key) == {c.key(series.key) for c in series.compactions}
    samples = get_redis("metrics").ts().range("system_metrics:cpu_usage", "-", "+")
    assert len(samples) == 1


def test_starting_the_collector_removes_old_rules_and_restores_lost_ones(clock):
    """An upgrade from a version that had rules on the request and latency series (in DB 0,
    where rules work, they would count every request twice) and a system rule that went."""
    metrics_store.ensure_series()
    ts = get_redis("metrics").ts()
    ts.createrule("app_metrics:requests", "app_metrics:requests:sum_5m", "sum", 5 * MINUTE)
    ts.createrule("app_metrics:latency_p95", "app_metrics:latency_p95:max_1h", "max", HOUR)
    ts.deleterule("system_metrics:cpu_usage", "system_metrics:cpu_usage:avg_1h")
    Collector(clock=clock, **fixed_system()).run_pass()
    assert rules_of("app_metrics:requests") == set()
    assert rules_of("app_metrics:latency_p95") == set()
    assert rules_of("system_metrics:cpu_usage") == {
        "system_metrics:cpu_usage:avg_5m",
        "system_metrics:cpu_usage:avg_1h",
    }
