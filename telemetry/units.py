"""Time units (UTC milliseconds) and bucket alignment, defined once for the project.

Buckets are aligned to the epoch, as RedisTimeSeries aligns its aggregation buckets.
"""

import time
from datetime import UTC, datetime

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def now_ms() -> int:
    """Wall-clock time in UTC milliseconds."""
    return int(time.time() * 1000)


def utc(timestamp_ms: int) -> datetime:
    """The moment of a UTC millisecond timestamp."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def iso_utc(timestamp_ms: int, timespec: str = "auto") -> str:
    """ISO 8601 in UTC, e.g. 2026-12-01T08:00:00+00:00 (`timespec` as in isoformat)."""
    return utc(timestamp_ms).isoformat(timespec=timespec)


def bucket_start(timestamp_ms: int, bucket_ms: int) -> int:
    """The start of the bucket of `bucket_ms` that holds `timestamp_ms`."""
    return timestamp_ms - timestamp_ms % bucket_ms


def bucket_end(timestamp_ms: int, bucket_ms: int) -> int:
    """The (exclusive) end of the bucket of `bucket_ms` that holds `timestamp_ms`."""
    return timestamp_ms - timestamp_ms % bucket_ms + bucket_ms
