"""The collector and the request-metrics store against the real Redis Stack."""

import dataclasses
import logging

import pytest

from config.redis_stores import get_redis
from operations import alert_store, metrics_store, redis_server
from operations.collector import Collector
from operations.management.commands.collect_metrics import Command
from operations.series import ALL_SERIES, REQUEST_BUCKET_MS, SYSTEM_SERIES
from telemetry.units import MINUTE_MS
from tests.conftest import empty_store
from tests.operations.helpers import fixed_system

pytestmark = pytest.mark.django_db


def test_a_pass_writes_every_series_with_labels_retention_and_compactions(clock):
    Collector(clock=clock, **fixed_system()).run_pass()
    metrics = get_redis("metrics")
    for series in ALL_SERIES.values():
        info = metrics_store.series_info(series.key)
        assert info["labels"]["group"] == series.key.split(":")[0]
        assert info["retention_msecs"] == series.retention_ms
        # Rules only where no duplicate can reach the source (store.py); the app writes
        # the other compactions, which exist from the start with their own labels.
        assert [rule[0] for rule in info["rules"]] == [
            c.key(series.key) for c in series.compactions if c.app_written is None
        ]
        for compaction in series.compactions:
            dest = metrics_store.series_info(compaction.key(series.key))
            assert dest["labels"]["resolution"] == compaction.suffix
            assert dest["retention_msecs"] == compaction.retention_ms
            assert dest["duplicate_policy"].upper() == (compaction.app_written or "LAST")
    now_ms = int(clock() * 1000)
    assert metrics.ts().get("system_metrics:cpu_usage") == (now_ms, 12.5)
    assert metrics.ts().get("system_metrics:memory_usage") == (now_ms, 40.0)
    redis_memory = metrics.ts().get("system_metrics:redis_memory")[1]
    assert 0 < redis_memory < 100
    assert metrics.ts().get("system_metrics:redis_clients")[1] >= 1
    assert metrics.ts().get("app_metrics:error_rate") == (now_ms, 0.0)
    # Labels make the series findable by filter, which an auto-created series never is.
    found = metrics.ts().mrange("-", "+", ["group=system_metrics", "resolution=raw"])
    assert len(found) == len(SYSTEM_SERIES)


def test_each_series_keeps_its_retention():
    metrics_store.ensure_series()
    day = 24 * 3600 * 1000
    assert metrics_store.series_info("system_metrics:cpu_usage")["retention_msecs"] == 7 * day
    assert metrics_store.series_info("app_metrics:response_time")["retention_msecs"] == 3 * day
    assert metrics_store.series_info("app_metrics:error_rate")["retention_msecs"] == 7 * day


def test_ensure_series_is_idempotent_and_restores_a_lost_rule():
    assert metrics_store.ensure_series() > 0
    assert metrics_store.ensure_series() == 0
    get_redis("metrics").delete("system_metrics:cpu_usage:avg_1h")
    assert metrics_store.ensure_series() == 1
    rules = metrics_store.series_info("system_metrics:cpu_usage")["rules"]
    assert "system_metrics:cpu_usage:avg_1h" in [rule[0] for rule in rules]


def test_compactions_serve_the_seven_day_window(clock):
    """Samples over three hours land in the hourly compaction the 7d chart reads."""
    collector = Collector(clock=clock, **fixed_system(cpu=50.0))
    for _ in range(3 * 12 + 1):  # every 5 minutes for 3 hours
        collector.run_pass()
        clock.advance(300)
    metrics = get_redis("metrics")
    hourly = metrics.ts().range("system_metrics:cpu_usage:avg_1h", "-", "+")
    assert len(hourly) >= 2 and all(value == 50.0 for _, value in hourly)
    from operations.reports import system_metrics

    report = system_metrics("7d", now_ms=int(clock() * 1000))
    assert len(report["labels"]) == 168
    assert [v for v in report["series"]["cpu_usage"] if v is not None] == [50.0] * len(hourly)


def test_record_request_counts_requests_errors_and_latency(clock):
    now_ms = int(clock() * 1000)
    for index in range(20):
        metrics_store.record_request(10.0 + index, is_error=index % 10 == 0, now_ms=now_ms + index)
    metrics = get_redis("metrics")
    bucket = now_ms - now_ms % REQUEST_BUCKET_MS
    assert metrics.ts().range("app_metrics:requests", "-", "+") == [(bucket, 20.0)]
    assert metrics.ts().range("app_metrics:errors", "-", "+") == [(bucket, 2.0)]
    assert len(metrics.ts().range("app_metrics:response_time", "-", "+")) == 20
    minute = metrics_store.minute_of(now_ms)
    quantiles = metrics_store.digest_quantiles([minute])[minute]
    assert quantiles["count"] == 20
    assert 18 <= quantiles["p50"] <= 21 and quantiles["p99"] >= 28
    assert (
        0
        < metrics.ttl(metrics_store.latency_digest_key(minute))
        <= metrics_store.LATENCY_DIGEST_TTL_SECONDS
    )
    assert metrics_store.request_totals()["requests"] == 20
    assert metrics_store.request_totals()["errors"] == 2


def test_a_flushed_digest_is_recreated_on_the_next_request(clock):
    now_ms = int(clock() * 1000)
    metrics_store.record_request(5.0, False, now_ms=now_ms)
    empty_store("metrics")  # the process still believes the digest exists
    metrics_store.record_request(7.0, False, now_ms=now_ms + 1)
    minute = metrics_store.minute_of(now_ms)
    assert metrics_store.digest_quantiles([minute])[minute]["count"] == 1
    # TS.ADD's creation arguments kept the labels of the series it had to recreate.
    assert metrics_store.series_info("app_metrics:requests")["labels"]["group"] == "app_metrics"


def test_the_collector_turns_digests_and_counts_into_percentiles_and_error_rate(clock):
    now_ms = int(clock() * 1000)
    previous_minute = metrics_store.minute_of(now_ms) - MINUTE_MS
    for index in range(100):
        metrics_store.record_request(
            float(index + 1), index < 10, now_ms=previous_minute + 30_000 + index
        )
    result = Collector(clock=clock, **fixed_system()).run_pass()
    assert result.values["error_rate"] == pytest.approx(10.0)
    assert 94 <= result.values["response_time"] <= 97  # p95 of 1..100 ms
    metrics = get_redis("metrics")
    assert metrics.ts().get("app_metrics:latency_p95")[0] == previous_minute
    assert metrics.ts().get("app_metrics:latency_p99")[1] >= 98


def test_cache_hit_ratio_is_measured_between_passes(clock):
    collector = Collector(clock=clock, **fixed_system())
    collector.run_pass()
    cache = get_redis("cache")
    cache.set("k", "v")
    for _ in range(3):
        cache.get("k")
    cache.get("missing")
    clock.advance(10)
    result = collector.run_pass()
    # 3 hits, 1 miss, plus the collector's own lookups in between: well above zero.
    assert 0 < result.system["cache_hit_ratio"] < 100


def test_one_pass_of_the_command_writes_samples(capsys):
    command = Command()
    command.failing = False
    assert command.tick(Collector(**fixed_system())) is True
    assert get_redis("metrics").ts().get("system_metrics:cpu_usage")[1] == 12.5


def test_the_loop_stops_after_max_passes(clock):
    import threading

    command = Command()
    command.stop_event = threading.Event()
    command.failing = False
    command.loop(Collector(clock=clock, **fixed_system()), interval=0.01, max_passes=3)
    samples = get_redis("metrics").ts().range("system_metrics:cpu_usage", "-", "+")
    assert len(samples) == 1  # the fake clock stood still: three passes, one timestamp
    assert alert_store.collector_state().last_pass_ms == int(clock() * 1000)


def test_the_collector_survives_a_redis_restart_and_logs_once(stoppable_server, caplog):
    command = Command()
    command.failing = False
    collector = Collector(**fixed_system())
    assert command.tick(collector)
    stoppable_server.stop(save=False)
    with caplog.at_level(logging.ERROR, logger="operations.collector"):
        assert command.tick(collector) is False
        assert command.tick(collector) is False
        assert command.tick(collector) is False
    failures = [r for r in caplog.records if "metrics collection failed" in r.getMessage()]
    assert len(failures) == 1
    stoppable_server.start()  # comes back empty (no save)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="operations.collector"):
        assert command.tick(collector) is True
    assert any("recovered" in r.getMessage() for r in caplog.records)
    # The series were created again, with their labels, before writing.
    assert metrics_store.series_info("system_metrics:cpu_usage")["labels"]["metric"] == "cpu_usage"
    assert alert_store.read_configuration()["cpu_threshold"] == "80"


def test_redis_ops_per_sec_is_the_commands_counted_between_two_passes(clock, monkeypatch):
    totals = iter([1_000, 1_500, 1_600, 40])
    real = redis_server.read_figures

    def figures():
        return dataclasses.replace(real(), total_commands_processed=next(totals))

    monkeypatch.setattr(redis_server, "read_figures", figures)
    collector = Collector(clock=clock, **fixed_system())
    assert collector.run_pass().system["redis_ops_per_sec"] is None  # nothing to compare
    clock.advance(10)
    assert collector.run_pass().system["redis_ops_per_sec"] == 50.0  # 500 in 10 s
    clock.advance(20)
    assert collector.run_pass().system["redis_ops_per_sec"] == 5.0
    assert metrics_store.latest_values()["redis_ops_per_sec"][1] == 5.0
    clock.advance(10)  # the server restarted: its counter began again
    assert collector.run_pass().system["redis_ops_per_sec"] is None
