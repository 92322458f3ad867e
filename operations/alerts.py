"""Where an alert fires, resolves and is acknowledged.

The evaluator asks each configured rule (`RuleConfig.decide`) for its next state, and for
every transition writes the alert, its history entry and the rule's state, then announces
it. Thresholds come from the published copy at every evaluation, so an edit applies at
the next pass; the clock is injectable so tests drive time without sleeping.
"""

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace

from django.conf import settings
from django.core.mail import mail_admins

from config.events import ALERT_ACKNOWLEDGED, ALERT_FIRED, ALERT_RESOLVED, append_event
from config.redis_stores import confirm_replicated
from operations import alert_store
from operations.alert_types import Action, Alert, AlertStatus, RuleState, Transition, iso_utc
from operations.configuration import current_configuration
from operations.rules import RULES, RuleConfig

logger = logging.getLogger("operations.alerts")


class Evaluator:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def evaluate(
        self,
        values: dict[str, float | None],
        configs: dict[str, RuleConfig] | None = None,
        hosts: Mapping[str, str] | None = None,
    ) -> list[Transition]:
        """Evaluate every rule against `values` ({rule: number or None}); returns the
        alerts fired or resolved, each with its alert. `hosts` names the web host a
        value came from ({rule: host}) when several report: the alert then says which."""
        now_ms = self.now_ms()
        configs = configs if configs is not None else current_configuration()
        states = alert_store.alert_states()
        transitions = []
        for name, config in configs.items():
            state = states.get(name)
            value = values.get(name)
            new_state, transition = config.decide(state, value, now_ms)
            if transition is None:
                if new_state != state:
                    alert_store.save_alert_state(name, new_state)
            elif transition.action is Action.FIRE:
                host = (hosts or {}).get(name)
                transitions.append(self.fire(transition, config, new_state, host))
            else:
                transitions.append(self.resolve(transition, config, state, new_state))
        return transitions

    def fire(
        self, transition: Transition, config: RuleConfig, state: RuleState, host: str | None = None
    ) -> Transition:
        rule, value, now_ms = RULES[transition.rule], transition.value, transition.at_ms
        where = f" on {host}" if host else ""
        alert = Alert(
            id=uuid.uuid4().hex[:16],
            type=rule.name,
            message=(
                f"{rule.label} is {rule.format(value)}{where}, at or above "
                f"{rule.format(config.threshold)} for {config.duration_seconds} s"
            ),
            timestamp=iso_utc(now_ms),
            timestamp_ms=now_ms,
            severity=config.severity,
            value=round(value, 3),
            threshold=config.threshold,
            state=AlertStatus.ACTIVE,
        )
        alert_store.open_alert(alert, RuleState(state.status, state.since_ms, alert.id), now_ms)
        self.announce(ALERT_FIRED, alert, logging.WARNING)
        return replace(transition, alert=alert)

    def resolve(
        self, transition: Transition, config: RuleConfig, old: RuleState, new: RuleState
    ) -> Transition:
        rule, value, now_ms = RULES[transition.rule], transition.value, transition.at_ms
        alert = alert_store.get_active_alert(old.alert_id or "")
        if alert is None:  # the active entry is gone (store flushed): keep the state sane
            fired_ms = int(old.since_ms or now_ms)  # a firing state's start
            alert = Alert(id=old.alert_id or "", type=rule.name, severity=config.severity,
                          threshold=config.threshold, timestamp=iso_utc(fired_ms),
                          timestamp_ms=fired_ms)  # fmt: skip
        reason = (
            "rule disabled" if not config.enabled
            else f"back to {rule.format(value)}, below {rule.format(config.resolve_below)}"
        )  # fmt: skip
        alert = alert.with_changes(
            state=AlertStatus.RESOLVED,
            resolved_at=iso_utc(now_ms),
            message=f"{rule.label} resolved: {reason}",
            value=round(value, 3) if value is not None else None,
        )
        alert_store.close_alert(alert, new, now_ms)
        self.announce(ALERT_RESOLVED, alert, logging.INFO)
        return replace(transition, alert=alert)

    def announce(self, kind: str, alert: Alert, level: int) -> None:
        """Every transition goes to the events stream and to logging (and mail)."""
        append_event(kind, alert_id=alert.id, rule=alert.type, severity=alert.severity,
                     value=alert.value, threshold=alert.threshold,
                     message=alert.message)  # fmt: skip
        logger.log(level, "%s [%s] %s", kind, alert.severity, alert.message)
        if kind == ALERT_FIRED and settings.ADMINS:
            mail_admins(f"Alert: {alert.message}", alert.message, fail_silently=True)


def acknowledge(
    alert_id: str, username: str, clock: Callable[[], float] = time.time
) -> Alert | None:
    """Mark an active alert acknowledged by `username`; the first acknowledgement is kept.
    None when no such active alert exists."""
    now_ms = int(clock() * 1000)

    def update(alert):
        if alert.acknowledged_by:
            return None  # already acknowledged: keep who and when
        return alert.with_changes(state=AlertStatus.ACKNOWLEDGED, acknowledged_by=username,
                                  acknowledged_at=iso_utc(now_ms))  # fmt: skip

    updated = alert_store.acknowledge_alert(alert_id, update, now_ms)
    if updated is not None:
        if not confirm_replicated("operations"):  # said, so a failover's loss is explained
            logger.warning("the acknowledgement of alert %s is not on the replicas yet", alert_id)
        append_event(ALERT_ACKNOWLEDGED, alert_id=alert_id, rule=updated.type, user=username)
        logger.info("alert %s (%s) acknowledged by %s", alert_id, updated.type, username)
        return updated
    return alert_store.get_active_alert(alert_id)
