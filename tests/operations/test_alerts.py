"""Alert rules: hold time, no repeats, hysteresis, acknowledgement, admin-edited thresholds."""

import pytest

from config.events import recent_events
from operations import alerts, store
from operations.alerts import FIRING, OK, PENDING, Evaluator, RuleConfig, decide
from operations.models import AlertThreshold

pytestmark = pytest.mark.django_db

CPU = RuleConfig("cpu_usage", 80.0, 60, 5.0, "warning")


def quiet(cpu):
    """Every other rule far below its threshold."""
    return {"cpu_usage": cpu, "memory_usage": 10.0, "redis_memory": 1.0, "error_rate": 0.0,
            "response_time": 50.0}  # fmt: skip


# --- the pure state machine ----------------------------------------------------------


def test_decide_needs_the_breach_to_hold():
    state, action = decide({}, 85.0, CPU, 0)
    assert (state["status"], action) == (PENDING, None)
    state, action = decide(state, 90.0, CPU, 59_999)
    assert (state["status"], action) == (PENDING, None)
    state, action = decide(state, 90.0, CPU, 60_000)
    assert (state["status"], action) == (FIRING, "fire")


def test_decide_a_dip_restarts_the_hold():
    state, _ = decide({}, 85.0, CPU, 0)
    state, _ = decide(state, 79.0, CPU, 30_000)
    assert state["status"] == OK
    state, action = decide(state, 85.0, CPU, 61_000)
    assert (state["status"], action) == (PENDING, None)


def test_decide_hysteresis_and_no_data():
    firing = {"status": FIRING, "since_ms": 0, "alert_id": "x"}
    assert decide(firing, 77.0, CPU, 1)[1] is None  # below 80 but not below 75
    assert decide(firing, None, CPU, 1)[1] is None  # no data proves nothing
    assert decide(firing, 74.9, CPU, 1)[1] == "resolve"
    pending = {"status": PENDING, "since_ms": 0, "alert_id": None}
    assert decide(pending, None, CPU, 1)[0]["status"] == OK


def test_decide_disabling_resolves():
    disabled = RuleConfig("cpu_usage", 80.0, 60, 5.0, "warning", enabled=False)
    firing = {"status": FIRING, "since_ms": 0, "alert_id": "x"}
    assert decide(firing, 99.0, disabled, 1)[1] == "resolve"
    assert decide({}, 99.0, disabled, 1)[1] is None


# --- the evaluator against Redis ----------------------------------------------------


def test_a_held_breach_fires_exactly_one_alert_and_resolves_with_hysteresis(clock):
    alerts.sync_configuration()
    evaluator = Evaluator(clock=clock)
    fired = []
    for _ in range(20):  # 190 s above the threshold, evaluated every 10 s
        fired += [t for t in evaluator.evaluate(quiet(92.0)) if t[1] == "fire"]
        clock.advance(10)
    assert len(fired) == 1
    alert = fired[0][2]
    assert alert["type"] == "cpu_usage" and alert["threshold"] == 80.0 and alert["value"] == 92.0
    assert alert["severity"] == "warning" and alert["state"] == "active"
    assert [a["id"] for a in store.active_alerts()] == [alert["id"]]

    assert evaluator.evaluate(quiet(77.0)) == []  # inside the hysteresis band: still active
    assert store.active_alerts()
    transitions = evaluator.evaluate(quiet(74.0))
    assert [(rule, action) for rule, action, _ in transitions] == [("cpu_usage", "resolve")]
    assert store.active_alerts() == []
    history = store.alert_history()
    assert [entry["state"] for entry in history] == ["resolved", "active"]
    assert history[0]["id"] == alert["id"] and history[0]["resolved_at"]
    kinds = [event["kind"] for event in recent_events(10)]
    assert kinds == ["alert.resolved", "alert.fired"]


def test_a_fresh_breach_after_resolution_fires_a_new_alert(clock):
    evaluator = Evaluator(clock=clock)
    for value in (95, 95, 95, 95, 95, 95, 95, 10, 95, 95, 95, 95, 95, 95, 95):
        evaluator.evaluate(quiet(float(value)))
        clock.advance(10)
    history = store.alert_history()
    assert [entry["state"] for entry in history] == ["active", "resolved", "active"]
    assert history[0]["id"] != history[2]["id"]


def test_the_history_list_is_capped_and_expires():
    alert = {"id": "a" * 16, "type": "cpu_usage", "timestamp_ms": 1}
    for _ in range(store.ALERTS_MAX + 5):
        store.open_alert(alert, {"status": FIRING})
    ops = store._ops()
    assert ops.llen(store.alerts_key()) == store.ALERTS_MAX
    assert 0 < ops.ttl(store.alerts_key()) <= store.ALERTS_TTL_SECONDS


def test_acknowledge_keeps_who_and_when_and_only_the_first(clock):
    evaluator = Evaluator(clock=clock)
    for _ in range(8):
        evaluator.evaluate(quiet(99.0))
        clock.advance(10)
    alert_id = store.active_alerts()[0]["id"]
    acked = alerts.acknowledge(alert_id, "alice", clock=clock)
    assert acked["acknowledged_by"] == "alice" and acked["state"] == "acknowledged"
    clock.advance(60)
    again = alerts.acknowledge(alert_id, "bob", clock=clock)
    assert again["acknowledged_by"] == "alice"
    assert again["acknowledged_at"] == acked["acknowledged_at"]
    assert store.alert_history()[0]["state"] == "acknowledged"
    assert recent_events(1)[0]["kind"] == "alert.acknowledged"
    # An acknowledged alert stays active (it is not repeated) until it resolves.
    for _ in range(5):
        assert evaluator.evaluate(quiet(99.0)) == []
    assert alerts.acknowledge("f" * 16, "alice") is None


def test_an_admin_edit_changes_the_next_evaluation(clock, admin_client):
    evaluator = Evaluator(clock=clock)
    row = AlertThreshold.objects.get(rule="cpu_usage")
    url = f"/admin/operations/alertthreshold/{row.pk}/change/"
    response = admin_client.post(url, {"threshold": "50", "duration_seconds": "10",
                                       "hysteresis": "5", "severity": "critical",
                                       "enabled": "on"})  # fmt: skip
    assert response.status_code == 302, response.content
    assert store.read_configuration()["cpu_usage:threshold"] == "50.0"
    evaluator.evaluate(quiet(60.0))
    clock.advance(10)
    transitions = evaluator.evaluate(quiet(60.0))  # 60 % was fine under the default 80
    assert [(rule, action) for rule, action, _ in transitions] == [("cpu_usage", "fire")]
    assert transitions[0][2]["severity"] == "critical"
    assert (
        recent_events(5, kinds={"operations.configuration_changed"})[0]["data"]["threshold"] == 50
    )


@pytest.mark.parametrize(
    ("rule", "data", "field", "message"),
    [
        ("cpu_usage", {"threshold": "120"}, "threshold", "between 0 and 100"),
        ("error_rate", {"threshold": "-1"}, "threshold", "between 0 and 100"),
        ("response_time", {"threshold": "0"}, "threshold", "must be positive"),
        ("cpu_usage", {"duration_seconds": "0"}, "duration_seconds", "positive number"),
        ("cpu_usage", {"duration_seconds": "-5"}, "duration_seconds", ""),
        ("cpu_usage", {"hysteresis": "90"}, "hysteresis", "smaller than the threshold"),
        ("cpu_usage", {"hysteresis": "-1"}, "hysteresis", "cannot be negative"),
        ("cpu_usage", {"threshold": "abc"}, "threshold", ""),
    ],
)
def test_the_admin_refuses_bad_thresholds(admin_client, rule, data, field, message):
    row = AlertThreshold.objects.get(rule=rule)
    form = {"threshold": str(row.threshold), "duration_seconds": str(row.duration_seconds),
            "hysteresis": str(row.hysteresis), "severity": row.severity, "enabled": "on",
            **data}  # fmt: skip
    response = admin_client.post(f"/admin/operations/alertthreshold/{row.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the error: never a 500
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert message in " ".join(errors[field])
    row.refresh_from_db()
    assert str(row.threshold) == str(AlertThreshold.objects.get(rule=rule).threshold)


def test_the_admin_lists_the_five_seeded_rules(admin_client):
    response = admin_client.get("/admin/operations/alertthreshold/")
    assert response.status_code == 200
    for label in ("CPU usage", "Memory usage", "Redis memory", "Response time p95", "Error rate"):
        assert label in response.content.decode()
    assert AlertThreshold.objects.count() == 5


def test_an_invalid_hash_falls_back_to_the_defaults():
    store.write_configuration({"cpu_usage:threshold": "500", "cpu_usage:duration_seconds": "1",
                               "cpu_usage:hysteresis": "1", "cpu_usage:severity": "warning",
                               "memory_usage:threshold": "oops"})  # fmt: skip
    configs = alerts.current_configuration()
    assert configs["cpu_usage"].threshold == 80.0
    assert configs["memory_usage"].threshold == 85.0


def test_a_stale_hash_is_detected_and_resynced():
    assert alerts.configuration_is_stale()  # nothing synced yet
    alerts.sync_configuration()
    assert not alerts.configuration_is_stale()
    AlertThreshold.objects.filter(rule="memory_usage").update(threshold=70.0)
    row = AlertThreshold.objects.get(rule="memory_usage")
    row.save(update_fields=["updated_at"])  # a save whose sync happened: stays fresh
    assert not alerts.configuration_is_stale()
    store._ops().hset(store.configuration_key(), "updated_at", "2000-01-01T00:00:00+00:00")
    assert alerts.configuration_is_stale()
