"""Alert thresholds: the model (the source, edited in the admin, bounded by the rules) and
`operations:configuration`, its published copy that the evaluator reads."""

import importlib
import logging

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from config.events import CONFIGURATION_CHANGED, recent_events
from config.redis_stores import get_redis
from operations import alert_store
from operations.alerts import Evaluator
from operations.collector import REPUBLISH_INTERVAL_MS, Collector
from operations.configuration import (
    CONFIGURATION_EMPTY,
    RULE_SETTINGS,
    current_configuration,
    publish_thresholds,
    read_configuration,
)
from operations.models import AlertThreshold
from operations.rules import RULES, default_config
from tests.operations.helpers import fixed_system, quiet, raw_configuration

pytestmark = pytest.mark.django_db


def problems():
    return read_configuration().problems


def test_an_admin_edit_changes_the_next_evaluation(clock, admin_client):
    evaluator = Evaluator(clock=clock)
    row = AlertThreshold.objects.get(rule="cpu_usage")
    url = f"/admin/operations/alertthreshold/{row.pk}/change/"
    response = admin_client.post(url, {"threshold": "50", "duration_seconds": "10",
                                       "hysteresis": "5", "severity": "critical",
                                       "enabled": "on"})  # fmt: skip
    assert response.status_code == 302, response.content
    assert raw_configuration()["cpu_threshold"] == "50"
    evaluator.evaluate(quiet(60.0))
    clock.advance(10)
    transitions = evaluator.evaluate(quiet(60.0))  # 60 % was fine under the default 80
    assert [(t.rule, t.action) for t in transitions] == [("cpu_usage", "fire")]
    assert transitions[0].alert.severity == "critical"
    assert recent_events(5, kinds={CONFIGURATION_CHANGED})[0]["data"]["threshold"] == 50


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


def test_full_clean_accepts_the_bounds_themselves():
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


# --- the published copy ----------------------------------------------------------------


PUBLISHED_FIELDS = {"cpu_threshold": "80", "memory_threshold": "85", "redis_threshold": "90",
                    "response_time_threshold": "2000", "error_rate_threshold": "5"}  # fmt: skip


def test_the_copy_holds_the_plain_fields_and_each_rules_settings():
    publish_thresholds()
    raw = raw_configuration()
    assert {name: raw[name] for name in PUBLISHED_FIELDS} == PUBLISHED_FIELDS
    assert raw["rule:cpu_usage:hold_seconds"] == "60"
    assert raw["rule:response_time:hysteresis"] == "200"
    assert raw["rule:redis_memory:severity"] == "critical"
    assert raw["rule:error_rate:enabled"] == "1"
    settings = {f"rule:{rule}:{s}" for rule in RULES for s in RULE_SETTINGS}
    assert set(raw) == set(PUBLISHED_FIELDS) | settings | {"updated_at"}


def test_an_admin_edit_changes_the_plain_field_the_evaluator_applies(admin_client):
    publish_thresholds()
    row = AlertThreshold.objects.get(rule="memory_usage")
    response = admin_client.post(f"/admin/operations/alertthreshold/{row.pk}/change/",
                                 {"threshold": "72.5", "duration_seconds": "30",
                                  "hysteresis": "2.5", "severity": "warning"})  # fmt: skip
    assert response.status_code == 302, response.content
    raw = raw_configuration()
    assert raw["memory_threshold"] == "72.5" and raw["rule:memory_usage:hold_seconds"] == "30"
    assert raw["rule:memory_usage:enabled"] == "0"
    memory = current_configuration()["memory_usage"]
    assert (memory.threshold, memory.duration_seconds, memory.enabled) == (72.5, 30, False)
    assert problems() == []


@pytest.fixture
def legacy_copy():
    """The copy as the version before wrote it, `<rule>:<setting>`, with CPU at 70 %."""
    AlertThreshold.objects.filter(rule="cpu_usage").update(threshold=70.0)
    publish_thresholds()
    stamp = raw_configuration()["updated_at"]
    legacy = {"updated_at": stamp}
    for name, config in current_configuration().items():
        legacy.update({f"{name}:threshold": repr(config.threshold),
                       f"{name}:duration_seconds": str(config.duration_seconds),
                       f"{name}:hysteresis": repr(config.hysteresis),
                       f"{name}:severity": config.severity, f"{name}:enabled": "1"})  # fmt: skip
    alert_store.write_configuration(legacy)


def test_a_copy_in_the_old_layout_is_still_applied(legacy_copy):
    assert current_configuration()["cpu_usage"].threshold == 70.0
    assert "cpu_usage: legacy layout" in problems()


def test_a_copy_in_the_old_layout_is_republished_by_the_next_pass(legacy_copy, clock, caplog):
    with caplog.at_level(logging.INFO, logger="operations.collector"):
        Collector(**fixed_system(), clock=clock).run_pass()
    raw = raw_configuration()
    assert raw["cpu_threshold"] == "70" and raw["memory_threshold"] == "85"
    assert not [field for field in raw if field.endswith(":duration_seconds")]
    assert problems() == []
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
    publish_thresholds()
    get_redis("operations").hset("operations:configuration", field, value)
    rule = "response_time" if field.startswith("response") else "cpu_usage"
    config = current_configuration()[rule]
    assert config == default_config(rule)  # the defaults, not the value written
    assert any(p.startswith(f"{rule}: ") for p in problems())
    with caplog.at_level(logging.WARNING, logger="operations.collector"):
        Collector(**fixed_system(), clock=clock).run_pass()
    assert raw_configuration()[field] != value  # rewritten from the admin's thresholds
    assert problems() == []
    assert [r.levelno for r in caplog.records if "rewritten" in r.getMessage()] == [
        logging.WARNING
    ]  # a hand edit is not routine


def test_an_unknown_field_is_a_problem_and_goes_at_the_next_publish():
    publish_thresholds()
    get_redis("operations").hset("operations:configuration", "cpu_usage:threshold", "1")
    assert current_configuration()["cpu_usage"].threshold == 80.0
    assert problems() == ["unknown fields: cpu_usage:threshold"]
    publish_thresholds()
    assert "cpu_usage:threshold" not in raw_configuration()


def test_an_empty_copy_is_a_problem_until_published():
    assert problems() == [CONFIGURATION_EMPTY]  # nothing published
    publish_thresholds()
    assert problems() == []


def test_every_save_of_a_threshold_publishes_the_copy():
    row = AlertThreshold.objects.get(rule="memory_usage")
    row.threshold = 70.0
    row.save()
    assert raw_configuration()["memory_threshold"] == "70"
    assert raw_configuration()["updated_at"] == row.updated_at.isoformat()


def test_the_collector_publishes_the_model_at_its_start(clock):
    publish_thresholds()
    # Changed without the save signal, as an edit saved while Redis was down.
    AlertThreshold.objects.filter(rule="memory_usage").update(threshold=70.0)
    assert raw_configuration()["memory_threshold"] == "85"
    Collector(**fixed_system(), clock=clock).run_pass()
    assert raw_configuration()["memory_threshold"] == "70"


def test_between_republications_a_running_collector_reads_only_the_copy(clock):
    collector = Collector(**fixed_system(), clock=clock)
    collector.run_pass()
    AlertThreshold.objects.filter(rule="memory_usage").update(threshold=70.0)
    clock.advance(REPUBLISH_INTERVAL_MS / 1000 - 10)
    collector.run_pass()
    assert raw_configuration()["memory_threshold"] == "85"  # a valid copy stays as published


def test_a_running_collector_republishes_the_model_every_interval(clock):
    collector = Collector(**fixed_system(), clock=clock)
    collector.run_pass()
    AlertThreshold.objects.filter(rule="memory_usage").update(threshold=70.0)
    clock.advance(REPUBLISH_INTERVAL_MS / 1000)
    collector.run_pass()
    assert raw_configuration()["memory_threshold"] == "70"


def test_a_row_out_of_bounds_in_the_database_is_never_published():
    AlertThreshold.objects.filter(rule="response_time").update(threshold=1e300)
    publish_thresholds()
    assert raw_configuration()["response_time_threshold"] == "2000"
