"""The values alerts travel as: a rule's state, its transitions, the alert entries.

Each converts to and from the JSON the operations store and `/api/operations/alerts`
hold, field for field in the order they were always written.
"""

import json
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum

from telemetry import units


def iso_utc(ms: int) -> str:
    """Alert times: ISO 8601 in UTC, to the second (2026-12-01T08:00:00+00:00)."""
    return units.iso_utc(ms, timespec="seconds")


class AlertState(StrEnum):
    """Where a rule stands: a breach is pending until it has held long enough to fire."""

    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"


class Action(StrEnum):
    FIRE = "fire"
    RESOLVE = "resolve"


class AlertStatus(StrEnum):
    """An alert entry's `state` field."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class RuleState:
    """One rule's evaluation state, a field of `operations:alerts:state`."""

    status: AlertState
    since_ms: int | None = None
    alert_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {"status": self.status.value, "since_ms": self.since_ms, "alert_id": self.alert_id}
        )

    @classmethod
    def from_json(cls, raw: str) -> "RuleState | None":
        """None for a state written around the app: evaluation starts that rule afresh."""
        try:
            data = json.loads(raw)
            return cls(AlertState(data["status"]), data.get("since_ms"), data.get("alert_id"))
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class Alert:
    """One alert as the active hash and the history hold it; `type` is the rule's name."""

    id: str
    type: str
    message: str = ""
    timestamp: str | None = None  # when it fired
    timestamp_ms: int | None = None
    severity: str | None = None
    value: float | None = None
    threshold: float | None = None
    state: AlertStatus | None = None
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    resolved_at: str | None = None

    def to_dict(self) -> dict:
        """The JSON wire format (the store's and the API's)."""
        data = asdict(self)
        data["state"] = None if self.state is None else self.state.value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> "Alert":
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        if values.get("state") is not None:  # one written around the app reads as None
            values["state"] = next((s for s in AlertStatus if s.value == values["state"]), None)
        return cls(**{"id": "", "type": "", **values})

    @classmethod
    def from_json(cls, raw: str) -> "Alert":
        return cls.from_dict(json.loads(raw))

    def with_changes(self, **changes) -> "Alert":
        return replace(self, **changes)


@dataclass(frozen=True)
class Transition:
    """A rule firing or resolving: what the evaluator returns for each alert it opened or
    closed."""

    rule: str
    from_state: AlertState
    to_state: AlertState
    at_ms: int
    value: float | None
    alert: Alert | None = None

    @property
    def action(self) -> Action:
        return Action.FIRE if self.to_state is AlertState.FIRING else Action.RESOLVE
