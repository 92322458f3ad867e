"""The dashboard's time ranges: which buckets, which bucket series, which period before.

A range is a `telemetry.timeseries.Window`: whole buckets ending with the current (still
open) one, aligned to UTC minutes, hours or days, like the "last 7 days" of Plausible: `7d`
is today and the six days before. The previous period is the same number of buckets just
before it.
"""

from dataclasses import dataclass

from telemetry.timeseries import Window
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS, iso_utc, utc


class InvalidRange(ValueError):
    """A `?range=` the dashboard does not offer; the message says which ones it does."""


@dataclass(frozen=True)
class Range(Window):
    """A window of the insights dashboard, with its title and its chart's label format."""

    label: str
    label_format: str  # strftime of the chart's x labels (UTC)

    @property
    def granularity(self) -> str:
        """The bucket series read: minute, hourly or daily."""
        return self.source


RANGES = {
    r.name: r
    for r in (
        Range("realtime", 30 * MINUTE_MS, MINUTE_MS, "minute", "Last 30 minutes", "%H:%M"),
        Range("24h", 24 * HOUR_MS, HOUR_MS, "hourly", "Last 24 hours", "%H:00"),
        Range("7d", 7 * DAY_MS, DAY_MS, "daily", "Last 7 days", "%a %d %b"),
        Range("30d", 30 * DAY_MS, DAY_MS, "daily", "Last 30 days", "%d %b"),
        Range("90d", 90 * DAY_MS, DAY_MS, "daily", "Last 90 days", "%d %b"),
    )
}
DEFAULT_RANGE = "7d"


def parse_range(value: str | None) -> Range:
    """The Range for a `?range=` value; None or "" gives the default."""
    if value in (None, ""):
        return RANGES[DEFAULT_RANGE]
    found = RANGES.get(value)
    if found is None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InvalidRange(f"unknown range {shown!r}; use one of: {', '.join(RANGES)}")
    return found


@dataclass(frozen=True)
class Period:
    """The concrete period of a range at one moment."""

    range: Range
    now_ms: int
    start_ms: int
    end_ms: int  # exclusive: the end of the current bucket

    @property
    def bucket_starts(self) -> list[int]:
        return list(range(self.start_ms, self.end_ms, self.range.bucket_ms))

    @property
    def previous(self) -> tuple[int, int]:
        return (self.start_ms - self.range.span_ms, self.start_ms)

    @property
    def previous_bucket_starts(self) -> list[int]:
        start, end = self.previous
        return list(range(start, end, self.range.bucket_ms))

    def compares_within(self, retention_ms: int) -> bool:
        """Whether the previous period is still inside a retention (else no comparison)."""
        return 2 * self.range.span_ms <= retention_ms

    def label(self, bucket_start_ms: int) -> str:
        return utc(bucket_start_ms).strftime(self.range.label_format)

    def iso(self, timestamp_ms: int) -> str:
        return iso_utc(timestamp_ms)


def window(rng: Range, now_ms: int) -> Period:
    """The period `rng` covers at `now_ms`."""
    return Period(rng, now_ms, *rng.period(now_ms))
