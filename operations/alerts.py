"""Alert evaluation: thresholds held for a time, no repeats, hysteresis, acknowledgement.

The evaluator reads the `operations:configuration` hash (written from the admin's
thresholds) at every evaluation, so an edit takes effect at the next pass. The clock is
injectable: tests drive time without sleeping.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

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


def configuration_fields(configs, updated_at=""):
    """The hash's fields for a set of rule configurations: `<rule>:<setting>`."""
    fields = {"updated_at": updated_at}
    for config in configs:
        fields[f"{config.rule}:threshold"] = repr(float(config.threshold))
        fields[f"{config.rule}:duration_seconds"] = str(int(config.duration_seconds))
        fields[f"{config.rule}:hysteresis"] = repr(float(config.hysteresis))
        fields[f"{config.rule}:severity"] = config.severity
        fields[f"{config.rule}:enabled"] = "1" if config.enabled else "0"
    return fields


def parse_configuration(fields):
    """{rule: RuleConfig} from the hash; a missing or invalid rule falls back to its
    defaults (and is logged), so a hand-edited hash cannot break evaluation."""
    configs = {}
    for name in RULES:
        if f"{name}:threshold" not in fields:
            configs[name] = default_config(name)
            continue
        try:
            config = RuleConfig(
                rule=name,
                threshold=float(fields[f"{name}:threshold"]),
                duration_seconds=int(fields[f"{name}:duration_seconds"]),
                hysteresis=float(fields[f"{name}:hysteresis"]),
                severity=fields[f"{name}:severity"],
                enabled=fields.get(f"{name}:enabled", "1") == "1",
            )
        except (KeyError, ValueError) as exc:
            logger.warning("operations:configuration %s is unreadable (%s): defaults", name, exc)
            configs[name] = default_config(name)
            continue
        errors = validate_threshold(name, config.threshold, config.duration_seconds,
                                    config.hysteresis, config.severity)  # fmt: skip
        if errors:
            logger.warning("operations:configuration %s is invalid (%s): defaults", name, errors)
            config = default_config(name)
        configs[name] = config
    return configs


def current_configuration():
    return parse_configuration(store.read_configuration())


def sync_configuration():
    """Write the admin's thresholds (the database) into the hash the evaluator reads."""
    from operations.models import AlertThreshold

    rows = {row.rule: row for row in AlertThreshold.objects.all()}
    configs = [rows[name].as_config() if name in rows else default_config(name) for name in RULES]
    stamps = [row.updated_at for row in rows.values()]
    store.write_configuration(configuration_fields(configs, _stamp(max(stamps, default=None))))
    return configs


def configuration_is_stale():
    """True when the database holds a newer edit than the hash (say Redis was down when
    the admin saved it); the collector then syncs again."""
    from django.db.models import Max

    from operations.models import AlertThreshold

    newest = AlertThreshold.objects.aggregate(newest=Max("updated_at"))["newest"]
    fields = store.read_configuration()
    return not fields or fields.get("updated_at", "") != _stamp(newest)


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
            "timestamp": _iso(now_ms),
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
        store.open_alert(alert, state)
        self.announce("alert.fired", alert, logging.WARNING)
        return alert

    def resolve(self, rule, value, config, old_state, new_state, now_ms):
        alert = store.get_active_alert(old_state.get("alert_id") or "")
        if alert is None:  # the active entry is gone (store flushed): keep the state sane
            alert = {"id": old_state.get("alert_id") or "", "type": rule,
                     "severity": config.severity, "threshold": config.threshold,
                     "timestamp_ms": now_ms, "acknowledged_by": None,
                     "acknowledged_at": None}  # fmt: skip
        reason = (
            "rule disabled" if not config.enabled
            else f"back to {_format(value, rule)}, below {_format(config.resolve_below, rule)}"
        )  # fmt: skip
        alert = {
            **alert,
            "state": "resolved",
            "resolved_at": _iso(now_ms),
            "message": f"{RULES[rule].label} resolved: {reason}",
            "value": round(value, 3) if value is not None else None,
        }
        store.close_alert(alert, new_state)
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
                "acknowledged_at": _iso(now_ms)}  # fmt: skip

    updated = store.acknowledge_alert(alert_id, update)
    if updated is not None:
        append_event("alert.acknowledged", alert_id=alert_id, rule=updated["type"],
                     user=username)  # fmt: skip
        logger.info("alert %s (%s) acknowledged by %s", alert_id, updated["type"], username)
        return updated
    return store.get_active_alert(alert_id)


def _iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")
