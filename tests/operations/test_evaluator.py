"""The evaluator against Redis: one alert per held breach, hysteresis, acknowledgement."""

import pytest

from config.events import ALERT_ACKNOWLEDGED, ALERT_FIRED, ALERT_RESOLVED, recent_events
from operations import alert_store, alerts
from operations.alerts import Evaluator
from operations.configuration import publish_thresholds
from tests.operations.helpers import hold, quiet

pytestmark = pytest.mark.django_db


@pytest.fixture
def fired(clock):
    """An evaluator whose CPU rule fired after 190 s above its threshold, and the
    transitions those 20 evaluations made."""
    publish_thresholds()
    evaluator = Evaluator(clock=clock)
    transitions = hold(evaluator, clock, quiet(92.0), passes=20)
    return evaluator, transitions


def test_a_held_breach_fires_exactly_one_alert(fired):
    _, transitions = fired
    assert [t.action for t in transitions] == ["fire"]
    alert = transitions[0].alert
    assert alert.type == "cpu_usage" and alert.threshold == 80.0 and alert.value == 92.0
    assert alert.severity == "warning" and alert.state == "active"
    assert [a.id for a in alert_store.active_alerts()] == [alert.id]


def test_inside_the_hysteresis_band_the_alert_stays_active(fired):
    evaluator, _ = fired
    assert evaluator.evaluate(quiet(77.0)) == []
    assert alert_store.active_alerts()


def test_below_the_hysteresis_band_the_alert_resolves(fired):
    evaluator, transitions = fired
    alert = transitions[0].alert
    resolved = evaluator.evaluate(quiet(74.0))
    assert [(t.rule, t.action) for t in resolved] == [("cpu_usage", "resolve")]
    assert alert_store.active_alerts() == []
    history = alert_store.alert_history()
    assert [entry.alert.state for entry in history] == ["resolved", "active"]
    assert history[0].alert.id == alert.id and history[0].alert.resolved_at
    kinds = [event["kind"] for event in recent_events(10)]
    assert kinds == [ALERT_RESOLVED, ALERT_FIRED] == ["alert.resolved", "alert.fired"]


def test_a_fresh_breach_after_resolution_fires_a_new_alert(clock):
    evaluator = Evaluator(clock=clock)
    for value in (95, 95, 95, 95, 95, 95, 95, 10, 95, 95, 95, 95, 95, 95, 95):
        evaluator.evaluate(quiet(float(value)))
        clock.advance(10)
    history = alert_store.alert_history()
    assert [entry.alert.state for entry in history] == ["active", "resolved", "active"]
    assert history[0].alert.id != history[2].alert.id


@pytest.fixture
def acknowledged(clock):
    evaluator = Evaluator(clock=clock)
    hold(evaluator, clock, quiet(99.0))
    alert_id = alert_store.active_alerts()[0].id
    acked = alerts.acknowledge(alert_id, "alice", clock=clock)
    return evaluator, alert_id, acked


def test_acknowledging_records_who_and_when(acknowledged):
    _, _, acked = acknowledged
    assert acked.acknowledged_by == "alice" and acked.state == "acknowledged"
    assert alert_store.alert_history()[0].alert.state == "acknowledged"
    assert recent_events(1)[0]["kind"] == ALERT_ACKNOWLEDGED == "alert.acknowledged"


def test_only_the_first_acknowledgement_is_kept(acknowledged, clock):
    _, alert_id, acked = acknowledged
    clock.advance(60)
    again = alerts.acknowledge(alert_id, "bob", clock=clock)
    assert again.acknowledged_by == "alice"
    assert again.acknowledged_at == acked.acknowledged_at


def test_an_acknowledged_alert_stays_active_without_repeating(acknowledged):
    evaluator, _, _ = acknowledged
    for _ in range(5):
        assert evaluator.evaluate(quiet(99.0)) == []


def test_acknowledging_an_alert_that_is_not_active_answers_none():
    assert alerts.acknowledge("f" * 16, "alice") is None
