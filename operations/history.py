"""The alert history's rules: how much is kept, how long, and what an entry holds.

`alert_store` applies them inside Redis (one script, so the cap and the trim happen in the
same step as the push); the entries read back go through `parse_history`.
"""

import json
from dataclasses import dataclass

from operations.alert_types import Alert, iso_utc
from telemetry.units import DAY_MS

ALERTS_MAX = 1000  # entries kept, newest first
ALERTS_RETENTION_MS = 90 * DAY_MS  # older entries go; so does the list after 90 idle days


def retention_cutoff_ms(now_ms: int) -> int:
    """Entries recorded before this instant are past the retention."""
    return int(now_ms) - ALERTS_RETENTION_MS


@dataclass(frozen=True)
class HistoryEntry:
    """An alert as one transition left it, stamped with when that was recorded (the
    retention counts from that)."""

    alert: Alert
    recorded_at: str | None = None
    recorded_ms: int | None = None

    @classmethod
    def recorded(cls, alert: Alert, now_ms: int) -> "HistoryEntry":
        return cls(alert, iso_utc(now_ms), int(now_ms))

    def to_dict(self) -> dict:
        data = self.alert.to_dict()
        if self.recorded_ms is not None:  # entries of older versions carry no stamp
            data.update(recorded_at=self.recorded_at, recorded_ms=self.recorded_ms)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def parse_history(raw_entries: list[str]) -> list[HistoryEntry]:
    """The entries as read, newest first; one written around the app (not a JSON object)
    is skipped, never a 500."""
    entries = []
    for raw in raw_entries:
        try:
            data = json.loads(raw)
            if isinstance(data, dict):
                alert = Alert.from_dict(data)
                entries.append(
                    HistoryEntry(alert, data.get("recorded_at"), data.get("recorded_ms"))
                )
        except (ValueError, TypeError):
            continue
    return entries
