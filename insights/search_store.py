"""Redis reads and writes of the search rankings: the live unions and top searches.

The live-union rules (which days, when to build, the ready sentinel) are in
insights/live_unions.py; the key names in insights/keys.py.
"""

from typing import NamedTuple

import redis

from insights import live_unions, store
from insights.keys import (
    SEARCH_UNION_TTL_MS,
    search_activities_key,
    search_closed_union_expires_at,
    search_closed_union_key,
    search_live_expires_at,
    search_live_key,
    search_union_key,
)

# KEYS[1] the live union, KEYS[2..] its daily sets; ARGV: expiry (ms), sentinel, its score.
# Atomic: the first build of a day wins, later ones (other processes) return 0 at once.
_BUILD_LIVE_UNION = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""


def build_live_union(
    kind: str, days: int, day_start_ms: int, redis_client: redis.Redis | None = None
) -> bool:
    """Make the live union of the `days` days ending with that day from the daily sets,
    unless it is built already. Returns whether this call built it."""
    day_start_ms = live_unions.day_start(day_start_ms)
    redis_client = redis_client or store.client()
    sources = [
        search_activities_key("daily", day, kind)
        for day in live_unions.source_days(days, day_start_ms)
    ]
    script = redis_client.register_script(_BUILD_LIVE_UNION)
    built = script(
        keys=[search_live_key(kind, days, day_start_ms), *sources],
        args=[
            search_live_expires_at(day_start_ms),
            live_unions.LIVE_READY_MEMBER,
            live_unions.LIVE_READY_SCORE,
        ],
    )
    return bool(built)


def prepare_search_unions(now: int | None = None, redis_client: redis.Redis | None = None) -> int:
    """Build the live unions that should exist by now (live_unions.unions_to_prepare):
    the background recorder calls this now and then, so that the first render of a day
    finds its union ready. Returns how many this call built."""
    now = store.now_ms() if now is None else now
    redis_client = redis_client or store.client()
    return sum(
        build_live_union(kind, days, day, redis_client)
        for kind, days, day in live_unions.unions_to_prepare(now)
    )


class QueryCount(NamedTuple):
    query: str
    count: int


class TopSearches(NamedTuple):
    """The most frequent queries of a range, and how many distinct queries it had."""

    top: list[QueryCount]
    distinct: int


def _read_live_union(redis_client, key, limit):
    """TopSearches from a built live union; None when it is not built."""
    pipe = redis_client.pipeline(transaction=True)
    pipe.zscore(key, live_unions.LIVE_READY_MEMBER)
    pipe.zrange(key, "+inf", 1, desc=True, byscore=True, offset=0, num=limit, withscores=True)
    pipe.zcount(key, 1, "+inf")
    ready, top, distinct = pipe.execute()
    if ready != live_unions.LIVE_READY_SCORE:
        return None
    return TopSearches([QueryCount(query, int(score)) for query, score in top], distinct)


def top_searches(
    kind: str, granularity: str, bucket_starts_ms: list[int], limit: int = 10
) -> TopSearches:
    """The top `limit` queries and the distinct count over those buckets, merged by Redis.

    A range a live union serves is read from it (built here when the recorder has not).
    Others are merged inside Redis into a key read and deleted at once; the closed days
    of a day range are merged once a day, so a render merges two sets instead of seven.
    """
    keys = [search_activities_key(granularity, t, kind) for t in bucket_starts_ms]
    if not keys:
        return TopSearches([], 0)
    redis_client = store.client()
    days = live_unions.union_days_for(granularity, bucket_starts_ms)
    if days:
        live = search_live_key(kind, days, bucket_starts_ms[-1])
        found = _read_live_union(redis_client, live, limit)
        if found is None:
            build_live_union(kind, days, bucket_starts_ms[-1], redis_client)
            found = _read_live_union(redis_client, live, limit)
        if found is not None:  # else the day is long past and its union expired at once
            return found
    if granularity == "daily" and len(keys) > 2:
        closed = search_closed_union_key(kind, bucket_starts_ms[0], bucket_starts_ms[-2])
        if not redis_client.exists(closed):
            pipe = redis_client.pipeline(transaction=True)
            pipe.zunionstore(closed, keys[:-1], aggregate="SUM")
            pipe.pexpireat(closed, search_closed_union_expires_at(bucket_starts_ms[-1]))
            pipe.execute()
        keys = [closed, keys[-1]]
    union = search_union_key(kind, granularity, bucket_starts_ms[0], bucket_starts_ms[-1])
    # MULTI/EXEC: two dashboards merging the same range never see each other's DELETE.
    pipe = redis_client.pipeline(transaction=True)
    pipe.zunionstore(union, keys, aggregate="SUM")
    pipe.pexpire(union, SEARCH_UNION_TTL_MS)
    pipe.zrange(union, 0, limit - 1, desc=True, withscores=True)
    pipe.zcard(union)
    pipe.delete(union)
    _, _, top, distinct, _ = pipe.execute()
    return TopSearches([QueryCount(query, int(score)) for query, score in top], distinct)
