"""Alert evaluation: thresholds held for a time, no repeats, hysteresis, acknowledgement.

The evaluator reads the `operations:configuration` hash (written from the admin's
thresholds) at every evaluation, so an edit takes effect at the next pass. The clock is
injectable: tests drive time without sleeping.
"""

import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import mail_admins

from config.events import append_event
from operations import store
from operations.rules import RULES, validate_threshold

logger = logging.getLogger("operations.alerts")

OK, PENDING, FIRING = "ok", "pending", "firing"


@dataclass(frozen=True)
class RuleConfig:
    rule: str
    threshold: float
    duration_seconds: int
    hysteresis: float
    severity: str
    enabled: bool = True

    @property
    def resolve_below(self):
        return self.threshold - self.hysteresis


def default_config(rule_name):
    rule = RULES[rule_name]
    return RuleConfig(rule.name, rule.threshold, rule.duration_seconds, rule.hysteresis,
                      rule.severity)  # fmt: skip


# --- the configuration hash ---------------------------------------------------------
#
# The plain fields `cpu_threshold`, `memory_threshold`, `redis_threshold`,
# `response_time_threshold` and `error_rate_threshold` hold the thresholds the evaluator
# applies; each rule's other settings sit beside them as `rule:<rule>:<setting>`, which no
# plain field can collide with; `updated_at` stamps the admin edit the hash was written from.

UPDATED_AT_FIELD = "updated_at"
RULE_SETTINGS = ("hold_seconds", "hysteresis", "severity", "enabled")
# The layout before this one, `<rule>:<setting>`: still read, so an upgraded installation
# keeps its thresholds until the collector's next pass rewrites the hash.
LEGACY_SETTINGS = {
    "threshold": "threshold",
    "hold_seconds": "duration_seconds",
    "hysteresis": "hysteresis",
    "severity": "severity",
    "enabled": "enabled",
}


def setting_field(rule_name, setting):
    return f"rule:{rule_name}:{setting}"


def _plain(number):
    """80.0 -> "80", 2.5 -> "2.5": the hash reads as the thresholds were typed."""
    number = float(number)
    return str(int(number)) if number.is_integer() else repr(number)


def configuration_fields(configs, updated_at=""):
    """The hash's fields for a set of rule configurations."""
    fields = {UPDATED_AT_FIELD: updated_at}
    for config in configs:
        fields[RULES[config.rule].threshold_field] = _plain(config.threshold)
        fields[setting_field(config.rule, "hold_seconds")] = str(int(config.duration_seconds))
        fields[setting_field(config.rule, "hysteresis")] = _plain(config.hysteresis)
        fields[setting_field(config.rule, "severity")] = config.severity
        fields[setting_field(config.rule, "enabled")] = "1" if config.enabled else "0"
    return fields


def _raw_settings(fields, name):
    """One rule's raw values by setting, and whether they came from the legacy layout."""
    current = {"threshold": fields.get(RULES[name].threshold_field)}
    current.update({s: fields.get(setting_field(name, s)) for s in RULE_SETTINGS})
    if all(value is None for value in current.values()):
        legacy = {s: fields.get(f"{name}:{old}") for s, old in LEGACY_SETTINGS.items()}
        if any(value is not None for value in legacy.values()):
            return legacy, True
    return current, False


def _rule_config(name, raw):
    """A RuleConfig from raw hash values, or the reason they are unusable."""
    missing = [setting for setting, value in raw.items() if value is None]
    if missing:
        return None, f"{name}: missing {', '.join(missing)}"
    if raw["enabled"] not in ("0", "1"):
        return None, f"{name}: enabled must be 0 or 1, got {raw['enabled']!r}"
    try:
        threshold, hysteresis = float(raw["threshold"]), float(raw["hysteresis"])
        hold_seconds = int(raw["hold_seconds"])
    except ValueError as exc:
        return None, f"{name}: {exc}"
    config = RuleConfig(name, threshold, hold_seconds, hysteresis, raw["severity"],
                        enabled=raw["enabled"] == "1")  # fmt: skip
    errors = validate_config(config)
    if errors:
        return None, f"{name}: {' '.join(errors.values())}"
    return config, None


def validate_config(config):
    return validate_threshold(config.rule, config.threshold, config.duration_seconds,
                              config.hysteresis, config.severity)  # fmt: skip


def parse_configuration(fields):
    """({rule: RuleConfig}, [problem, …]) from the hash. A rule that is missing or invalid
    (the hash is writable by anyone with Redis access) gets its defaults, so evaluation
    never runs on a value the admin would refuse; every such rule, an unknown field and
    the legacy layout are problems, which the collector repairs from the database."""
    configs, problems = {}, []
    for name in RULES:
        raw, legacy = _raw_settings(fields, name)
        config, problem = _rule_config(name, raw)
        if legacy:
            problems.append(f"{name}: {LEGACY_LAYOUT}")
        if problem:
            problems.append(problem)
        configs[name] = config or default_config(name)
    known = set(configuration_fields(configs.values()))
    unknown = sorted(set(fields) - known)
    if unknown and not any(p.endswith(LEGACY_LAYOUT) for p in problems):
        problems.append(f"unknown fields: {', '.join(unknown)}")
    return configs, problems


def current_configuration():
    return parse_configuration(store.read_configuration())[0]


def sync_configuration():
    """Write the admin's thresholds (the database) into the hash the evaluator reads."""
    from operations.models import AlertThreshold

    rows = {row.rule: row for row in AlertThreshold.objects.all()}
    configs = []
    for name in RULES:
        config = rows[name].as_config() if name in rows else default_config(name)
        errors = validate_config(config)
        if errors:  # a row saved before its bounds existed, or edited around the admin
            logger.warning("alert threshold %s is out of bounds (%s): defaults", name,
                           " ".join(errors.values()))  # fmt: skip
            config = default_config(name)
        configs.append(config)
    stamps = [row.updated_at for row in rows.values()]
    store.write_configuration(configuration_fields(configs, _stamp(max(stamps, default=None))))
    return configs


# The routine reason to republish the copy; any other problem is a hand edit or damage.
CONFIGURATION_EMPTY = "operations:configuration is empty"
LEGACY_LAYOUT = "legacy layout"


def routine_problems(problems):
    """True when republishing is routine: a flushed store, an upgrade from the legacy layout."""
    return all(p == CONFIGURATION_EMPTY or p.endswith(LEGACY_LAYOUT) for p in problems)


def configuration_problems():
    """Why the published copy must be republished from the database, [] when it is usable:
    empty, a missing or invalid rule, an unknown field, the legacy layout."""
    fields = store.read_configuration()
    if not fields:
        return [CONFIGURATION_EMPTY]
    return parse_configuration(fields)[1]


def _stamp(moment):
    return moment.isoformat() if moment else ""


# --- evaluation -----------------------------------------------------------------------


def decide(state, value, config, now_ms):
    """One rule's next state and the transition it makes (None, "fire" or "resolve").

    Pure: `state` is {"status", "since_ms", "alert_id"}. A breach must hold for the
    configured time before firing; a firing rule stays firing (no repeat) until the
    value drops below threshold minus hysteresis. No data (None) cancels a pending
    breach but cannot prove a firing alert resolved.
    """
    status = state.get("status", OK)
    if not config.enabled:
        if status == FIRING:
            return {"status": OK, "since_ms": now_ms, "alert_id": None}, "resolve"
        return {"status": OK, "since_ms": now_ms, "alert_id": None}, None
    breaching = value is not None and value >= config.threshold
    if status == FIRING:
        if value is not None and value < config.resolve_below:
            return {"status": OK, "since_ms": now_ms, "alert_id": None}, "resolve"
        return state, None
    if not breaching:
        if status == OK:
            return state or {"status": OK, "since_ms": now_ms, "alert_id": None}, None
        return {"status": OK, "since_ms": now_ms, "alert_id": None}, None
    if status == PENDING:
        if now_ms - state["since_ms"] >= config.duration_seconds * 1000:
            return {"status": FIRING, "since_ms": now_ms, "alert_id": None}, "fire"
        return state, None
    # A fresh breach: held for zero seconds so far.
    return {"status": PENDING, "since_ms": now_ms, "alert_id": None}, None


def _format(value, rule):
    unit = RULES[rule].unit
    return f"{value:.1f} ms" if unit == "ms" else f"{value:.1f} %"


class Evaluator:
    def __init__(self, clock=time.time):
        self.clock = clock

    def now_ms(self):
        return int(self.clock() * 1000)

    def evaluate(self, values):
        """Evaluate every rule against `values` ({rule: number or None}); returns the
        transitions made, as [(rule, "fire" | "resolve", alert)]."""
        now_ms = self.now_ms()
        configs = current_configuration()
        states = store.alert_states()
        transitions = []
        for name, config in configs.items():
            state = states.get(name, {})
            value = values.get(name)
            new_state, action = decide(state, value, config, now_ms)
            if action == "fire":
                alert = self.fire(name, value, config, new_state, now_ms)
                transitions.append((name, action, alert))
            elif action == "resolve":
                alert = self.resolve(name, value, config, state, new_state, now_ms)
                transitions.append((name, action, alert))
            elif new_state != state:
                store.save_alert_state(name, new_state)
        return transitions

    def fire(self, rule, value, config, state, now_ms):
        alert = {
            "id": uuid.uuid4().hex[:16],
            "type": rule,
            "message": (
                f"{RULES[rule].label} is {_format(value, rule)}, at or above "
                f"{_format(config.threshold, rule)} for {config.duration_seconds} s"
            ),
            "timestamp": store.iso_utc(now_ms),
            "timestamp_ms": now_ms,
            "severity": config.severity,
            "value": round(value, 3),
            "threshold": config.threshold,
            "state": "active",
            "acknowledged_by": None,
            "acknowledged_at": None,
            "resolved_at": None,
        }
        state = {**state, "alert_id": alert["id"]}
        store.open_alert(alert, state, now_ms)
        self.announce("alert.fired", alert, logging.WARNING)
        return alert

    def resolve(self, rule, value, config, old_state, new_state, now_ms):
        alert = store.get_active_alert(old_state.get("alert_id") or "")
        if alert is None:  # the active entry is gone (store flushed): keep the state sane
            fired_ms = int(old_state.get("since_ms") or now_ms)  # a firing state's start
            alert = {"id": old_state.get("alert_id") or "", "type": rule,
                     "severity": config.severity, "threshold": config.threshold,
                     "timestamp": store.iso_utc(fired_ms), "timestamp_ms": fired_ms,
                     "acknowledged_by": None, "acknowledged_at": None}  # fmt: skip
        reason = (
            "rule disabled" if not config.enabled
            else f"back to {_format(value, rule)}, below {_format(config.resolve_below, rule)}"
        )  # fmt: skip
        alert = {
            **alert,
            "state": "resolved",
            "resolved_at": store.iso_utc(now_ms),
            "message": f"{RULES[rule].label} resolved: {reason}",
            "value": round(value, 3) if value is not None else None,
        }
        store.close_alert(alert, new_state, now_ms)
        self.announce("alert.resolved", alert, logging.INFO)
        return alert

    def announce(self, kind, alert, level):
        """Every transition goes to the events stream and to logging (and mail)."""
        append_event(kind, alert_id=alert["id"], rule=alert["type"], severity=alert["severity"],
                     value=alert.get("value"), threshold=alert.get("threshold"),
                     message=alert.get("message", ""))  # fmt: skip
        logger.log(level, "%s [%s] %s", kind, alert["severity"], alert.get("message", ""))
        if kind == "alert.fired" and settings.ADMINS:
            mail_admins(f"Alert: {alert['message']}", alert["message"], fail_silently=True)


def acknowledge(alert_id, username, clock=time.time):
    """Mark an active alert acknowledged by `username`; the first acknowledgement is kept.
    None when no such active alert exists."""
    now_ms = int(clock() * 1000)

    def update(alert):
        if alert.get("acknowledged_by"):
            return None  # already acknowledged: keep who and when
        return {**alert, "state": "acknowledged", "acknowledged_by": username,
                "acknowledged_at": store.iso_utc(now_ms)}  # fmt: skip

    updated = store.acknowledge_alert(alert_id, update, now_ms)
    if updated is not None:
        append_event("alert.acknowledged", alert_id=alert_id, rule=updated["type"],
                     user=username)  # fmt: skip
        logger.info("alert %s (%s) acknowledged by %s", alert_id, updated["type"], username)
        return updated
    return store.get_active_alert(alert_id)
