"""Alert rules: hold time, no repeats, hysteresis, acknowledgement, admin-edited thresholds."""

import importlib
import json
import logging
from datetime import datetime, timedelta

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from config.events import recent_events
from config.redis_stores import get_redis
from operations import alerts, store
from operations.alerts import FIRING, OK, PENDING, Evaluator, RuleConfig, decide
from operations.collector import Collector
from operations.models import AlertThreshold
from operations.rules import RULES
from tests.operations.test_collector import fixed_system

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
    now_ms = 1_800_000_000_000
    for _ in range(store.ALERTS_MAX + 5):
        store.open_alert(alert, {"status": FIRING}, now_ms)
    ops = store._ops()
    assert ops.llen(store.alerts_key()) == store.ALERTS_MAX
    assert 0 < ops.pttl(store.alerts_key()) <= store.ALERTS_RETENTION_MS


def raw_history():
    """operations:alerts as Redis holds it, newest first, read without the app's helpers."""
    return [json.loads(raw) for raw in get_redis("operations").lrange("operations:alerts", 0, -1)]


def assert_plan_entry(entry):
    for name in ("type", "message", "timestamp", "severity"):
        assert entry.get(name), (name, entry)
    for name in ("timestamp", "recorded_at"):
        moment = datetime.fromisoformat(entry[name])
        assert moment.utcoffset() == timedelta(0), entry[name]  # ISO-8601, in UTC


def test_every_history_entry_is_json_with_type_message_timestamp_and_severity(clock):
    evaluator = Evaluator(clock=clock)
    for _ in range(8):
        evaluator.evaluate(quiet(99.0))
        clock.advance(10)
    fired_at = store.active_alerts()[0]["timestamp"]
    alerts.acknowledge(store.active_alerts()[0]["id"], "alice", clock=clock)
    clock.advance(10)
    evaluator.evaluate(quiet(10.0))
    entries = raw_history()
    assert [e["state"] for e in entries] == ["resolved", "acknowledged", "active"]
    for entry in entries:
        assert_plan_entry(entry)
        assert entry["type"] == "cpu_usage" and entry["severity"] == "warning"
        assert entry["timestamp"] == fired_at  # the alert's time; recorded_at, the entry's
    assert entries[0]["recorded_at"] == store.iso_utc(int(clock() * 1000))
    # An alert resolved after its active entry was lost still gets a full entry.
    for _ in range(8):
        evaluator.evaluate(quiet(99.0))
        clock.advance(10)
    get_redis("operations").delete("operations:alerts:active")
    evaluator.evaluate(quiet(10.0))
    assert_plan_entry(raw_history()[0])
    assert raw_history()[0]["timestamp"] == raw_history()[1]["timestamp"]


def test_history_entries_older_than_90_days_are_trimmed(clock):
    evaluator = Evaluator(clock=clock)
    day = 24 * 3600
    for _ in range(8):  # fires: an entry on day 0
        evaluator.evaluate(quiet(99.0))
        clock.advance(10)
    clock.advance(60 * day)
    evaluator.evaluate(quiet(10.0))  # resolves: an entry on day 60
    assert [e["state"] for e in raw_history()] == ["resolved", "active"]
    clock.advance(31 * day)  # day 91, and no alert since day 60
    Collector(**fixed_system(), clock=clock).run_pass()
    assert [e["state"] for e in raw_history()] == ["resolved"]  # day 0 went
    ops = get_redis("operations")
    ops.rpush("operations:alerts", "not json")  # written around the app
    assert [e["state"] for e in store.alert_history()] == ["resolved"]  # skipped, no 500
    clock.advance(60 * day)  # day 151: a new alert pushes out the day-60 entry
    for _ in range(8):
        evaluator.evaluate(quiet(99.0))
        clock.advance(10)
    assert [e["state"] for e in raw_history()] == ["active"]
    assert 0 < ops.pttl("operations:alerts") <= store.ALERTS_RETENTION_MS
    clock.advance(91 * day)
    assert store.trim_alert_history(int(clock() * 1000)) == 1
    assert not ops.exists("operations:alerts")


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
    assert store.read_configuration()["cpu_threshold"] == "50"
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
        ("cpu_usage", {"threshold": "120"}, "threshold", "above 0 and at most 100; got 120"),
        ("error_rate", {"threshold": "-1"}, "threshold", "above 0 and at most 100"),
        ("error_rate", {"threshold": "0"}, "threshold", "above 0 and at most 100"),
        ("response_time", {"threshold": "0"}, "threshold", "from 1 to 600,000 ms"),
        ("response_time", {"threshold": "1e300"}, "threshold", "(10 minutes); got 1e+300"),
        ("response_time", {"threshold": "600000.5"}, "threshold", "; got 600000.5."),
        ("cpu_usage", {"duration_seconds": "0"}, "duration_seconds", "from 1 to 86,400 seconds"),
        ("cpu_usage", {"duration_seconds": "86401"}, "duration_seconds", "from 1 to 86,400"),
        ("cpu_usage", {"duration_seconds": "9223372036854775807"}, "duration_seconds",
         "; got 9,223,372,036,854,775,807."),
        ("cpu_usage", {"duration_seconds": "-5"}, "duration_seconds", ""),
        ("cpu_usage", {"hysteresis": "90"}, "hysteresis", "smaller than the threshold, 80"),
        ("cpu_usage", {"hysteresis": "-1"}, "hysteresis", "cannot be negative"),
        ("cpu_usage", {"threshold": "abc"}, "threshold", ""),
        ("cpu_usage", {"threshold": "nan"}, "threshold", ""),
        ("cpu_usage", {"threshold": "inf"}, "threshold", ""),
    ],
)  # fmt: skip
def test_the_admin_refuses_bad_thresholds(admin_client, rule, data, field, message):
    row = AlertThreshold.objects.get(rule=rule)
    before = (row.threshold, row.duration_seconds, row.hysteresis)
    form = {"threshold": str(row.threshold), "duration_seconds": str(row.duration_seconds),
            "hysteresis": str(row.hysteresis), "severity": row.severity, "enabled": "on",
            **data}  # fmt: skip
    response = admin_client.post(f"/admin/operations/alertthreshold/{row.pk}/change/", form)
    assert response.status_code == 200  # the form again, with the error: never a 500
    errors = response.context["adminform"].form.errors
    assert field in errors
    assert message in " ".join(errors[field])
    row.refresh_from_db()
    assert (row.threshold, row.duration_seconds, row.hysteresis) == before
    assert response.context["subtitle"] == str(row)  # the saved row, not the refused values


def test_the_admin_accepts_the_bounds_themselves(admin_client):
    row = AlertThreshold.objects.get(rule="response_time")
    response = admin_client.post(
        f"/admin/operations/alertthreshold/{row.pk}/change/",
        {"threshold": "600000", "duration_seconds": "86400", "hysteresis": "0",
         "severity": "warning", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    raw = get_redis("operations").hgetall("operations:configuration")
    assert raw["response_time_threshold"] == "600000"
    assert raw["rule:response_time:hold_seconds"] == "86400"


def test_full_clean_names_every_field_out_of_bounds_and_its_range():
    row = AlertThreshold(rule="response_time", threshold=1e300,
                         duration_seconds=9223372036854775807, hysteresis=-2.0,
                         severity="warning")  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        row.full_clean(validate_unique=False)
    errors = caught.value.message_dict
    assert "Response time p95" in errors["threshold"][0]
    assert "from 1 to 600,000 ms" in errors["threshold"][0]
    assert "hold time must be from 1 to 86,400 seconds" in errors["duration_seconds"][0]
    assert "hysteresis margin cannot be negative" in errors["hysteresis"][0]
    assert len(errors["duration_seconds"]) == 1  # one message per field, not two
    AlertThreshold(rule="cpu_usage", threshold=100.0, duration_seconds=1, hysteresis=99.5,
                   severity="critical").full_clean(validate_unique=False)  # fmt: skip


def test_the_migration_resets_rows_saved_before_the_bounds():
    bounds = importlib.import_module("operations.migrations.0003_threshold_bounds")
    AlertThreshold.objects.filter(rule="response_time").update(
        threshold=1e300, duration_seconds=9223372036854775807
    )
    AlertThreshold.objects.filter(rule="cpu_usage").update(threshold=70.0, duration_seconds=30)
    bounds.reset_rows_out_of_bounds(django_apps, None)
    response_time = AlertThreshold.objects.get(rule="response_time")
    assert (response_time.threshold, response_time.duration_seconds) == (2000.0, 120)
    response_time.full_clean(validate_unique=False)
    cpu = AlertThreshold.objects.get(rule="cpu_usage")
    assert (cpu.threshold, cpu.duration_seconds) == (70.0, 30)  # in bounds: kept


def test_the_admin_lists_the_five_seeded_rules(admin_client):
    response = admin_client.get("/admin/operations/alertthreshold/")
    assert response.status_code == 200
    for label in ("CPU usage", "Memory usage", "Redis memory", "Response time p95", "Error rate"):
        assert label in response.content.decode()
    assert AlertThreshold.objects.count() == 5


# --- the configuration hash ----------------------------------------------------------


def raw_configuration():
    """The hash as Redis holds it, read without the app's helpers."""
    return get_redis("operations").hgetall("operations:configuration")


PLAN_FIELDS = {"cpu_threshold": "80", "memory_threshold": "85", "redis_threshold": "90",
               "response_time_threshold": "2000", "error_rate_threshold": "5"}  # fmt: skip


def test_the_hash_holds_the_plan_fields_with_their_live_values(admin_client):
    alerts.sync_configuration()
    raw = raw_configuration()
    assert {name: raw[name] for name in PLAN_FIELDS} == PLAN_FIELDS
    assert raw["rule:cpu_usage:hold_seconds"] == "60"
    assert raw["rule:response_time:hysteresis"] == "200"
    assert raw["rule:redis_memory:severity"] == "critical"
    assert raw["rule:error_rate:enabled"] == "1"
    settings = {f"rule:{rule}:{s}" for rule in RULES for s in alerts.RULE_SETTINGS}
    assert set(raw) == set(PLAN_FIELDS) | settings | {"updated_at"}
    # An admin edit changes the plain field the evaluator applies.
    row = AlertThreshold.objects.get(rule="memory_usage")
    response = admin_client.post(f"/admin/operations/alertthreshold/{row.pk}/change/",
                                 {"threshold": "72.5", "duration_seconds": "30",
                                  "hysteresis": "2.5", "severity": "warning"})  # fmt: skip
    assert response.status_code == 302, response.content
    raw = raw_configuration()
    assert raw["memory_threshold"] == "72.5" and raw["rule:memory_usage:hold_seconds"] == "30"
    assert raw["rule:memory_usage:enabled"] == "0"
    memory = alerts.current_configuration()["memory_usage"]
    assert (memory.threshold, memory.duration_seconds, memory.enabled) == (72.5, 30, False)
    assert alerts.configuration_problems() == []


def test_a_hash_in_the_old_layout_is_read_then_rewritten(clock, caplog):
    AlertThreshold.objects.filter(rule="cpu_usage").update(threshold=70.0)
    alerts.sync_configuration()
    stamp = raw_configuration()["updated_at"]
    legacy = {"updated_at": stamp}
    for name, config in alerts.current_configuration().items():
        legacy.update({f"{name}:threshold": repr(config.threshold),
                       f"{name}:duration_seconds": str(config.duration_seconds),
                       f"{name}:hysteresis": repr(config.hysteresis),
                       f"{name}:severity": config.severity, f"{name}:enabled": "1"})  # fmt: skip
    store.write_configuration(legacy)  # as the version before wrote it
    # Read as it stands: a running installation keeps its thresholds...
    assert alerts.current_configuration()["cpu_usage"].threshold == 70.0
    assert "cpu_usage: legacy layout" in alerts.configuration_problems()
    # ...and the collector's next pass rewrites it in the current layout.
    with caplog.at_level(logging.INFO, logger="operations.collector"):
        Collector(**fixed_system(), clock=clock).run_pass()
    raw = raw_configuration()
    assert raw["cpu_threshold"] == "70" and raw["memory_threshold"] == "85"
    assert not [field for field in raw if field.endswith(":duration_seconds")]
    assert alerts.configuration_problems() == []
    rewritten = [r for r in caplog.records if "legacy layout" in r.getMessage()]
    assert [r.levelno for r in rewritten] == [logging.INFO]  # an upgrade is routine


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("response_time_threshold", "1e300"),
        ("response_time_threshold", "inf"),
        ("cpu_threshold", "nan"),
        ("cpu_threshold", "0"),
        ("rule:cpu_usage:hold_seconds", "9223372036854775807"),
        ("rule:cpu_usage:hold_seconds", "60.5"),
        ("rule:cpu_usage:hysteresis", "95"),
        ("rule:cpu_usage:severity", "page-everyone"),
        ("rule:cpu_usage:enabled", "yes"),
    ],
)
def test_an_absurd_value_written_into_redis_is_never_applied(clock, caplog, field, value):
    alerts.sync_configuration()
    get_redis("operations").hset("operations:configuration", field, value)
    rule = "response_time" if field.startswith("response") else "cpu_usage"
    config = alerts.current_configuration()[rule]
    assert config == alerts.default_config(rule)  # the defaults, not the value written
    assert any(p.startswith(f"{rule}: ") for p in alerts.configuration_problems())
    with caplog.at_level(logging.WARNING, logger="operations.collector"):
        Collector(**fixed_system(), clock=clock).run_pass()
    assert raw_configuration()[field] != value  # rewritten from the admin's thresholds
    assert alerts.configuration_problems() == []
    assert [r.levelno for r in caplog.records if "rewritten" in r.getMessage()] == [
        logging.WARNING
    ]  # a hand edit is not routine


def test_an_unknown_field_is_a_problem_and_goes_at_the_next_sync():
    alerts.sync_configuration()
    get_redis("operations").hset("operations:configuration", "cpu_usage:threshold", "1")
    assert alerts.current_configuration()["cpu_usage"].threshold == 80.0
    assert alerts.configuration_problems() == ["unknown fields: cpu_usage:threshold"]
    alerts.sync_configuration()
    assert "cpu_usage:threshold" not in raw_configuration()


def test_an_empty_copy_is_a_problem_until_published():
    assert alerts.configuration_problems() == [alerts.CONFIGURATION_EMPTY]  # nothing published
    alerts.sync_configuration()
    assert alerts.configuration_problems() == []


def test_every_save_of_a_threshold_publishes_the_copy():
    row = AlertThreshold.objects.get(rule="memory_usage")
    row.threshold = 70.0
    row.save()
    assert raw_configuration()["memory_threshold"] == "70"
    assert raw_configuration()["updated_at"] == row.updated_at.isoformat()


def test_the_collector_publishes_the_model_at_its_start(clock):
    alerts.sync_configuration()
    # Changed without the save signal, as an edit saved while Redis was down.
    AlertThreshold.objects.filter(rule="memory_usage").update(threshold=70.0)
    assert raw_configuration()["memory_threshold"] == "85"
    Collector(**fixed_system(), clock=clock).run_pass()
    assert raw_configuration()["memory_threshold"] == "70"


def test_a_row_out_of_bounds_in_the_database_is_never_synced():
    AlertThreshold.objects.filter(rule="response_time").update(threshold=1e300)
    alerts.sync_configuration()
    assert raw_configuration()["response_time_threshold"] == "2000"
