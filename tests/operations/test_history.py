"""The alert history in Redis: capped, 90 days kept, every entry a complete JSON object."""

from datetime import datetime, timedelta

import pytest

from config.redis_stores import get_redis
from operations import alert_store, alerts
from operations.alert_types import Alert, AlertState, RuleState, iso_utc
from operations.alerts import Evaluator
from operations.collector import Collector
from operations.history import ALERTS_MAX, ALERTS_RETENTION_MS
from tests.operations.helpers import fixed_system, hold, quiet, raw_history

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


def test_the_history_list_is_capped_and_expires():
    alert = Alert("a" * 16, "cpu_usage", timestamp_ms=1)
    now_ms = 1_800_000_000_000
    for _ in range(ALERTS_MAX + 5):
        alert_store.open_alert(alert, RuleState(AlertState.FIRING), now_ms)
    ops = get_redis("operations")
    assert ops.llen("operations:alerts") == ALERTS_MAX
    assert 0 < ops.pttl("operations:alerts") <= ALERTS_RETENTION_MS


def assert_complete_entry(entry):
    for name in ("type", "message", "timestamp", "severity"):
        assert entry.get(name), (name, entry)
    for name in ("timestamp", "recorded_at"):
        moment = datetime.fromisoformat(entry[name])
        assert moment.utcoffset() == timedelta(0), entry[name]  # ISO-8601, in UTC


def test_every_transition_leaves_an_entry_with_type_message_timestamp_and_severity(clock):
    evaluator = Evaluator(clock=clock)
    hold(evaluator, clock, quiet(99.0))
    fired_at = alert_store.active_alerts()[0].timestamp
    alerts.acknowledge(alert_store.active_alerts()[0].id, "alice", clock=clock)
    clock.advance(10)
    evaluator.evaluate(quiet(10.0))
    entries = raw_history()
    assert [e["state"] for e in entries] == ["resolved", "acknowledged", "active"]
    for entry in entries:
        assert_complete_entry(entry)
        assert entry["type"] == "cpu_usage" and entry["severity"] == "warning"
        assert entry["timestamp"] == fired_at  # the alert's time; recorded_at, the entry's
    assert entries[0]["recorded_at"] == iso_utc(int(clock() * 1000))


def test_an_alert_resolved_after_its_active_entry_was_lost_gets_a_full_entry(clock):
    evaluator = Evaluator(clock=clock)
    hold(evaluator, clock, quiet(99.0))
    get_redis("operations").delete("operations:alerts:active")
    evaluator.evaluate(quiet(10.0))
    assert_complete_entry(raw_history()[0])
    assert raw_history()[0]["timestamp"] == raw_history()[1]["timestamp"]


@pytest.fixture
def resolved_on_day_60(clock):
    """An alert fired on day 0 and resolved on day 60: two entries."""
    evaluator = Evaluator(clock=clock)
    hold(evaluator, clock, quiet(99.0))
    clock.advance(60 * DAY)
    evaluator.evaluate(quiet(10.0))
    assert [e["state"] for e in raw_history()] == ["resolved", "active"]
    return evaluator


def test_a_collector_pass_drops_entries_older_than_90_days(resolved_on_day_60, clock):
    clock.advance(31 * DAY)  # day 91, and no alert since day 60
    Collector(**fixed_system(), clock=clock).run_pass()
    assert [e["state"] for e in raw_history()] == ["resolved"]  # day 0 went


def test_an_entry_written_around_the_app_is_skipped(resolved_on_day_60):
    get_redis("operations").rpush("operations:alerts", "not json")
    assert [e.alert.state for e in alert_store.alert_history()] == ["resolved", "active"]


def test_a_new_alert_pushes_out_entries_past_the_retention(resolved_on_day_60, clock):
    clock.advance(91 * DAY)  # day 151: the day-0 and day-60 entries are past the retention
    hold(resolved_on_day_60, clock, quiet(99.0))
    assert [e["state"] for e in raw_history()] == ["active"]
    assert 0 < get_redis("operations").pttl("operations:alerts") <= ALERTS_RETENTION_MS


def test_trimming_the_last_expired_entry_deletes_the_list(resolved_on_day_60, clock):
    clock.advance(91 * DAY)
    hold(resolved_on_day_60, clock, quiet(99.0))  # day 151: one entry left
    clock.advance(91 * DAY)
    assert alert_store.trim_alert_history(int(clock() * 1000)) == 1
    assert not get_redis("operations").exists("operations:alerts")
