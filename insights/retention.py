"""How long each kind of analytics data is kept, and where a read of a range starts."""

from insights.units import DAY_MS, GRANULARITIES, HOUR_MS

PAGE_VIEWS_RETENTION_MS = 90 * DAY_MS
SEARCH_RETENTION_MS = 30 * DAY_MS
RESPONSE_TIMES_RETENTION_MS = 7 * DAY_MS
COUNTRY_RETENTION_MS = 180 * DAY_MS
# The minute buckets only serve the realtime view (30 minutes and the 30 before).
MINUTE_BUCKETS_RETENTION_MS = 3 * HOUR_MS


def retained_from(retention_ms: int, granularity: str, now: int) -> int:
    """The first whole bucket still inside a retention. Reads start there at the earliest:
    retention trims from a series' newest sample, so an idle series still holds older
    samples than its retention."""
    oldest = now - retention_ms
    return oldest + (-oldest % GRANULARITIES.get(granularity, 1))
