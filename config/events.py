"""The events stream (store `events`): one capped Redis Stream shared by every app.

This module owns the key and every event kind: insights appends page views, operations its
alert transitions and threshold changes, each through `append_event` with a kind below.
"""

import json
import time
from collections.abc import Iterable

import redis

from config.redis_stores import get_redis

EVENTS_STREAM = "events:stream"
# Approximate trimming (~) keeps XADD O(1); the stream holds about this many entries.
EVENTS_MAXLEN = 100_000

# The event kinds, as stored in each entry's `kind` field.
PAGE_VIEW = "page_view"
ALERT_FIRED = "alert.fired"
ALERT_RESOLVED = "alert.resolved"
ALERT_ACKNOWLEDGED = "alert.acknowledged"
CONFIGURATION_CHANGED = "operations.configuration_changed"


def events_key() -> str:
    return EVENTS_STREAM


def event_fields(kind: str, **data) -> dict[str, str]:
    """The stream entry for one event: its kind, a millisecond timestamp and JSON data."""
    return {"kind": kind, "ts": str(int(time.time() * 1000)), "data": json.dumps(data)}


def append_event(kind: str, pipeline: redis.client.Pipeline | None = None, **data) -> str:
    """Append one event; with `pipeline`, queue it there (the caller executes)."""
    target = pipeline if pipeline is not None else get_redis("events")
    return target.xadd(
        EVENTS_STREAM, event_fields(kind, **data), maxlen=EVENTS_MAXLEN, approximate=True
    )


def _decode(entry_id, fields):
    try:
        data = json.loads(fields.get("data") or "{}")
    except ValueError:
        data = {}
    return {
        "id": entry_id,
        "kind": fields.get("kind", ""),
        "timestamp_ms": int(fields.get("ts") or entry_id.split("-")[0]),
        "data": data,
    }


def recent_events(
    count: int = 50, kinds: Iterable[str] | None = None, since_ms: int | None = None
) -> list[dict]:
    """Newest first; `kinds` filters by kind, `since_ms` keeps events at or after it."""
    client = get_redis("events")
    end = "+"
    found = []
    # Read in pages so a filter on a rare kind still finds `count` entries.
    for _ in range(20):
        batch = client.xrevrange(EVENTS_STREAM, max=end, min="-", count=max(count * 2, 100))
        if not batch:
            break
        for entry_id, fields in batch:
            event = _decode(entry_id, fields)
            if since_ms is not None and event["timestamp_ms"] < since_ms:
                return found
            if kinds is None or event["kind"] in kinds:
                found.append(event)
                if len(found) >= count:
                    return found
        last_ms, last_seq = batch[-1][0].split("-")
        end = f"({last_ms}-{last_seq}"
    return found


def stream_length() -> int | None:
    try:
        return get_redis("events").xlen(EVENTS_STREAM)
    except redis.RedisError:
        return None
