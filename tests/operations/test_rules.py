"""A configured rule's state machine (`RuleConfig.decide`) and the JSON its values keep:
pure, no Redis."""

import json

from operations.alert_types import Alert, AlertState, AlertStatus, RuleState, Transition
from operations.history import HistoryEntry, parse_history
from operations.rules import RULES, RuleConfig, default_config

OK, PENDING, FIRING = AlertState.OK, AlertState.PENDING, AlertState.FIRING
CPU = RuleConfig("cpu_usage", 80.0, 60, 5.0, "warning")
FIRING_CPU = RuleState(FIRING, 0, "x")


def test_a_breach_fires_only_once_it_has_held_for_the_hold_time():
    state, transition = CPU.decide(None, 85.0, 0)
    assert (state.status, transition) == (PENDING, None)
    state, transition = CPU.decide(state, 90.0, 59_999)
    assert (state.status, transition) == (PENDING, None)
    state, transition = CPU.decide(state, 90.0, 60_000)
    assert (state.status, transition.action) == (FIRING, "fire")


def test_a_dip_below_the_threshold_restarts_the_hold():
    state, _ = CPU.decide(None, 85.0, 0)
    state, _ = CPU.decide(state, 79.0, 30_000)
    assert state.status == OK
    state, transition = CPU.decide(state, 85.0, 61_000)
    assert (state.status, transition) == (PENDING, None)


def test_a_firing_rule_inside_the_hysteresis_band_stays_firing():
    assert CPU.decide(FIRING_CPU, 77.0, 1)[1] is None  # below 80 but not below 75


def test_no_data_cannot_resolve_a_firing_rule():
    assert CPU.decide(FIRING_CPU, None, 1)[1] is None


def test_a_firing_rule_resolves_below_threshold_minus_hysteresis():
    assert CPU.decide(FIRING_CPU, 74.9, 1)[1].action == "resolve"


def test_no_data_cancels_a_pending_breach():
    pending = RuleState(PENDING, 0, None)
    assert CPU.decide(pending, None, 1)[0].status == OK


def test_disabling_a_rule_resolves_its_firing_alert_and_fires_nothing():
    disabled = RuleConfig("cpu_usage", 80.0, 60, 5.0, "warning", enabled=False)
    assert disabled.decide(FIRING_CPU, 99.0, 1)[1].action == "resolve"
    assert disabled.decide(None, 99.0, 1)[1] is None


def test_a_transition_names_both_states_the_moment_and_the_value():
    _, transition = CPU.decide(RuleState(PENDING, 0), 90.0, 60_000)
    assert transition == Transition("cpu_usage", PENDING, FIRING, 60_000, 90.0)


def test_every_rule_defaults_to_its_definition():
    for name, rule in RULES.items():
        config = default_config(name)
        assert (config.threshold, config.duration_seconds, config.hysteresis) == (
            rule.threshold,
            rule.duration_seconds,
            rule.hysteresis,
        )
        assert config.errors() == {}


# --- the JSON they keep ------------------------------------------------------------------


def test_a_rule_state_is_stored_as_status_since_and_alert_id():
    assert RuleState(FIRING, 5, "ab").to_json() == (
        '{"status": "firing", "since_ms": 5, "alert_id": "ab"}'
    )
    assert RuleState.from_json('{"status": "pending", "since_ms": 7, "alert_id": null}') == (
        RuleState(PENDING, 7, None)
    )


def test_a_rule_state_written_around_the_app_reads_as_none():
    assert RuleState.from_json('{"status": "exploded"}') is None
    assert RuleState.from_json("not json") is None


def test_an_alert_keeps_its_fields_in_the_order_they_were_always_written():
    alert = Alert("a" * 16, "cpu_usage", "m", "t", 1, "warning", 92.0, 80.0, AlertStatus.ACTIVE)
    assert list(json.loads(alert.to_json())) == [
        "id", "type", "message", "timestamp", "timestamp_ms", "severity", "value",
        "threshold", "state", "acknowledged_by", "acknowledged_at", "resolved_at",
    ]  # fmt: skip
    assert Alert.from_json(alert.to_json()) == alert


def test_an_alert_state_written_around_the_app_reads_as_none():
    assert Alert.from_dict({"id": "a" * 16, "type": "cpu_usage", "state": "exploded"}).state is None


def test_a_history_entry_is_the_alert_then_when_it_was_recorded():
    alert = Alert("a" * 16, "cpu_usage", state=AlertStatus.RESOLVED)
    entry = HistoryEntry.recorded(alert, 1_800_000_000_000)
    data = json.loads(entry.to_json())
    assert list(data)[-2:] == ["recorded_at", "recorded_ms"]
    assert data["recorded_at"] == "2027-01-15T08:00:00+00:00"
    assert parse_history([entry.to_json()]) == [entry]


def test_history_entries_that_are_not_json_objects_are_skipped():
    entry = HistoryEntry.recorded(Alert("a" * 16, "cpu_usage"), 1)
    assert parse_history(["not json", "[1, 2]", entry.to_json()]) == [entry]
