"""The rules of the live search unions: which days each holds and when it is built.

The live union of day D merges the daily search sets of D-29..D, so a render of the
30-day view ranks one sorted set instead of thirty. It is built during day D-1 (once
the grace after midnight is over) and then kept current by every search recorded on
D-1 or D. Plain functions, no Redis: insights/store.py runs the commands.
"""

from insights.keys import SEARCH_KINDS, search_live_expires_at, search_live_key
from telemetry.units import DAY_MS, MINUTE_MS

# Ranges (in days) whose top searches are read from a live union rather than merged per
# render. 30 serves both the 30-day view and the 90-day one (searches are kept 30 days).
LIVE_UNION_DAYS = (30,)
# Tomorrow's live union is built this long after midnight at the earliest: by then the
# recorders have written every search of the day before yesterday (they write within
# seconds), so the build reads final daily sets.
LIVE_BUILD_GRACE_MS = 10 * MINUTE_MS
# The sentinel member a built live union holds: never a query (an empty query is not a
# search), scored below every count so ranking by score ignores it.
LIVE_READY_MEMBER = ""
LIVE_READY_SCORE = -1


def day_start(timestamp_ms: int) -> int:
    return timestamp_ms - timestamp_ms % DAY_MS


def source_days(days: int, last_day_ms: int) -> list[int]:
    """The starts of the `days` days a union ending with the day of `last_day_ms` holds."""
    last = day_start(last_day_ms)
    return [last - i * DAY_MS for i in range(days)]


def days_to_prepare(now_ms: int) -> list[int]:
    """The days whose unions should exist now: today's, and tomorrow's after the grace."""
    today = day_start(now_ms)
    if now_ms - today >= LIVE_BUILD_GRACE_MS:
        return [today, today + DAY_MS]
    return [today]


def unions_to_prepare(now_ms: int) -> list[tuple[str, int, int]]:
    """(kind, days, day start) of every union that should be built by now."""
    return [
        (kind, days, day)
        for day in days_to_prepare(now_ms)
        for days in LIVE_UNION_DAYS
        for kind in SEARCH_KINDS
    ]


def unions_of_search(kind: str, timestamp_ms: int) -> list[tuple[str, int]]:
    """(key, expires at) of the unions a search at `timestamp_ms` adds to: today's and
    tomorrow's (a no-op until tomorrow's is built, as the build replaces what was there)."""
    today = day_start(timestamp_ms)
    return [
        (search_live_key(kind, days, day), search_live_expires_at(day))
        for days in LIVE_UNION_DAYS
        for day in (today, today + DAY_MS)
    ]


def union_days_for(granularity: str, bucket_starts_ms: list[int]) -> int | None:
    """The length in days of the live union that serves exactly these buckets, or None."""
    days = len(bucket_starts_ms)
    if granularity != "daily" or days not in LIVE_UNION_DAYS:
        return None
    if bucket_starts_ms[-1] - bucket_starts_ms[0] != (days - 1) * DAY_MS:
        return None
    return days
