"""The name and lifetime of every analytics key that is not a time series.

Daily page hashes, monthly country hashes, visitor HyperLogLogs and their daily salt,
the search sorted sets and their live and short-lived unions. Nothing else builds
one of these names; each `*_expires_at` says when its key is deleted (ms, UTC).
"""

from datetime import UTC, datetime

from insights.series import (
    COUNTRY_RETENTION_MS,
    GRANULARITIES,
    PAGE_VIEWS_RETENTION_MS,
    SEARCH_RETENTION_MS,
)
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS, utc

# The two families of search sorted sets: every search, and those that found nothing.
SEARCH_KINDS = ("all", "zero_results")

# How long after its bucket ends each HyperLogLog is kept: long enough for the range
# that reads it and the period before (realtime 2x30 min, 24h 2x24 h, days: 90 days).
VISITOR_TTL_MS = {"minute": HOUR_MS, "hourly": 2 * DAY_MS, "daily": PAGE_VIEWS_RETENTION_MS}
SEARCH_TTL_MS = {"minute": HOUR_MS, "hourly": 2 * DAY_MS, "daily": SEARCH_RETENTION_MS}
# The live union of a day is kept until an hour after that day ends.
LIVE_UNION_TTL_MS = HOUR_MS
# A merge made for one read; it is deleted by that read, the TTL only guards a crash.
SEARCH_UNION_TTL_MS = 10_000
# The merge of a range's closed days serves every render until today ends, and a minute.
CLOSED_UNION_GRACE_MS = MINUTE_MS


def _day(timestamp_ms: int) -> str:
    return utc(timestamp_ms).strftime("%Y-%m-%d")


def _hour(timestamp_ms: int) -> str:
    return utc(timestamp_ms).strftime("%Y-%m-%dT%H")


def _minute(timestamp_ms: int) -> str:
    return utc(timestamp_ms).strftime("%Y-%m-%dT%H:%M")


def _month(timestamp_ms: int) -> str:
    return utc(timestamp_ms).strftime("%Y-%m")


_BUCKET_NAMES = {"minute": _minute, "hourly": _hour, "daily": _day}


def _bucket_end(timestamp_ms: int, granularity: str) -> int:
    bucket_ms = GRANULARITIES[granularity]
    return timestamp_ms - timestamp_ms % bucket_ms + bucket_ms


def _month_end(timestamp_ms: int) -> int:
    moment = utc(timestamp_ms)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def page_views_daily_key(timestamp_ms: int) -> str:
    """Hash page -> views of the day of `timestamp_ms`."""
    return f"page_views:daily:{_day(timestamp_ms)}"


def page_views_daily_expires_at(timestamp_ms: int) -> int:
    return _bucket_end(timestamp_ms, "daily") + PAGE_VIEWS_RETENTION_MS


def user_countries_monthly_key(timestamp_ms: int) -> str:
    """Hash country name -> views of the month of `timestamp_ms`."""
    return f"user_countries:monthly:{_month(timestamp_ms)}"


def user_countries_monthly_expires_at(timestamp_ms: int) -> int:
    return _month_end(timestamp_ms) + COUNTRY_RETENTION_MS


def unique_visitors_key(granularity: str, timestamp_ms: int) -> str:
    """HyperLogLog of the salted visitor hashes of one minute, hour or day."""
    return f"unique_visitors:{granularity}:{_BUCKET_NAMES[granularity](timestamp_ms)}"


def unique_visitors_expires_at(granularity: str, timestamp_ms: int) -> int:
    return _bucket_end(timestamp_ms, granularity) + VISITOR_TTL_MS[granularity]


def visitor_salt_key(timestamp_ms: int) -> str:
    """The salt of the visitor hashes of one UTC day."""
    return f"unique_visitors:salt:{_day(timestamp_ms)}"


def visitor_salt_expires_at(timestamp_ms: int) -> int:
    """A salt dies with its day, so yesterday's hashes cannot be recomputed."""
    return _bucket_end(timestamp_ms, "daily")


def _search_prefix(kind: str) -> str:
    return "search_activities" if kind == "all" else "search_activities:zero_results"


def search_activities_key(granularity: str, timestamp_ms: int, kind: str = "all") -> str:
    """Sorted set query -> count of one bucket (a sorted set, so Redis merges and ranks)."""
    return f"{_search_prefix(kind)}:{granularity}:{_BUCKET_NAMES[granularity](timestamp_ms)}"


def search_activities_expires_at(granularity: str, timestamp_ms: int) -> int:
    return _bucket_end(timestamp_ms, granularity) + SEARCH_TTL_MS[granularity]


def search_live_key(kind: str, days: int, day_start_ms: int) -> str:
    """The live union of the `days` days ending with the day of `day_start_ms`."""
    return f"{_search_prefix(kind)}:live:{days}d:{_day(day_start_ms)}"


def search_live_expires_at(day_start_ms: int) -> int:
    """`day_start_ms` is the start of the union's last day."""
    return day_start_ms + DAY_MS + LIVE_UNION_TTL_MS


def search_union_key(kind: str, granularity: str, start_ms: int, end_ms: int) -> str:
    """A short-lived merge of many buckets' sorted sets, for ranking a range."""
    return f"search_activities:union:{kind}:{granularity}:{start_ms}:{end_ms}"


def search_closed_union_key(kind: str, first_day_ms: int, last_day_ms: int) -> str:
    """The merge of the closed days `first_day_ms`..`last_day_ms` of a day range."""
    return search_union_key(kind, "closed", first_day_ms, last_day_ms)


def search_closed_union_expires_at(today_start_ms: int) -> int:
    """Until today ends (then the range, and so the key name, moves on)."""
    return today_start_ms + DAY_MS + CLOSED_UNION_GRACE_MS
