"""Every Redis key of the insights app (store `analytics`) and every read and write of it.

Nothing else in the project builds an analytics key or talks to the analytics store.

Layout (all timestamps UTC, milliseconds):

- time series, each with `:minute`, `:hourly` and `:daily` bucket series (see "Why no
  TS.CREATERULE" below), all created explicitly with labels, retention and
  DUPLICATE_POLICY SUM before the first write:
  `user_activity:page_views` (90d), `user_activity:page_views:page:<url name>` (90d),
  `user_activity:country_distribution:<ISO code>` (180d), `user_activity:search_queries`
  (30d), `search_analytics:{query_frequency,zero_results,result_counts}` (30d) and
  `search_analytics:response_times` (7d);
- `page_views:daily:<yyyy-mm-dd>` hash page -> views (expires 90d after that day);
- `user_countries:monthly:<yyyy-mm>` hash country name -> views (180d after that month);
- `unique_visitors:{minute,hourly,daily}:<bucket>` HyperLogLogs of salted visitor hashes,
  and `unique_visitors:salt:<yyyy-mm-dd>` (deleted once the day is over);
- `search_activities:{daily,hourly,minute}:<bucket>` and
  `search_activities:zero_results:{daily,hourly,minute}:<bucket>`: sorted sets query ->
  count (a sorted set rather than a hash so Redis itself merges days and ranks them);
- `search_activities[:zero_results]:live:<n>d:<yyyy-mm-dd>`: the live union of the n days
  ending that day (30: the 30-day and 90-day views), so a render ranks one sorted set
  instead of merging thirty (see "Live unions" below).

Why no TS.CREATERULE: RedisTimeSeries 1.12 (the bundled Redis Stack) mishandles
compaction rules outside DB 0, and the analytics store is DB 1. There, the first
duplicate or out-of-order sample (two workers counting in the same millisecond, which a
SUM counter must accept) silently deletes the series' rules, and TS.RANGE ... LATEST
returns nothing; `tests/insights/test_timeseries_db_bug.py` reproduces both. So the app
writes its own compactions: each count goes to the raw series and to the bucket start
of its minute, hour and day series, all in one TS.MADD whose samples the series'
DUPLICATE_POLICY SUM adds to what is there. Long ranges read those,
never raw samples, and the current bucket is always complete.

Live unions: a render of the 30-day (and 90-day, whose searches are the last 30 days)
view would otherwise merge thirty daily sorted sets of up to 20,000 queries. Instead,
the live union of day D holds the days D-29..D and is ready before day D starts:
during day D-1, once `LIVE_BUILD_GRACE_MS` has passed since midnight (so day D-2 has no
more late writes), the insights background recorder of one web process builds it from
the daily sets (a Lua script: an atomic ZUNIONSTORE plus a "ready" sentinel member, so
exactly one build wins and no write lands between the merge and the sentinel). From
then on every search recorded on day D-1 or D also goes into it (ZINCRBY, in the same
MULTI/EXEC as the daily set, so a build sees each write either in the daily set or in
the live union, never both, never neither). A render reads the top queries and the
distinct count straight from it; when it is not ready (no background recorder, or the
key was evicted) the render builds it itself, exactly as the recorder would.
"""

import logging
import secrets
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from config.redis_stores import get_redis
from insights.searches import SearchHit
from insights.series import (
    COUNTRY_RETENTION_MS,
    GRANULARITIES,
    PAGE_VIEWS_RETENTION_MS,
    SEARCH_RETENTION_MS,
    country_series,
    page_series,
    page_views_series,
    search_queries_series,
    search_series,
)
from telemetry import timeseries, units
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS

logger = logging.getLogger(__name__)

STORE = "analytics"


def now_ms():
    """The clock every write and read uses; tests monkeypatch it to travel in time."""
    return units.now_ms()


def client():
    return get_redis(STORE)


# --- other keys -----------------------------------------------------------------------


def _day(timestamp_ms):
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%d")


def _hour(timestamp_ms):
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%dT%H")


def _minute(timestamp_ms):
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M")


def _month(timestamp_ms):
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m")


def _bucket_end(timestamp_ms, bucket_ms):
    return timestamp_ms - timestamp_ms % bucket_ms + bucket_ms


def _month_end(timestamp_ms):
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def page_views_daily_key(timestamp_ms):
    return f"page_views:daily:{_day(timestamp_ms)}"


def user_countries_monthly_key(timestamp_ms):
    return f"user_countries:monthly:{_month(timestamp_ms)}"


VISITOR_BUCKETS = {
    "minute": (MINUTE_MS, _minute),
    "hourly": (HOUR_MS, _hour),
    "daily": (DAY_MS, _day),
}
# How long after its bucket ends each HyperLogLog is kept: long enough for the range
# that reads it and the period before (realtime 2x30 min, 24h 2x24 h, days: 90 days).
VISITOR_TTL_MS = {"minute": HOUR_MS, "hourly": 2 * DAY_MS, "daily": PAGE_VIEWS_RETENTION_MS}


def unique_visitors_key(granularity, timestamp_ms):
    return f"unique_visitors:{granularity}:{VISITOR_BUCKETS[granularity][1](timestamp_ms)}"


def visitor_salt_key(timestamp_ms):
    return f"unique_visitors:salt:{_day(timestamp_ms)}"


SEARCH_KINDS = ("all", "zero_results")
SEARCH_TTL_MS = {"minute": HOUR_MS, "hourly": 2 * DAY_MS, "daily": SEARCH_RETENTION_MS}


def search_activities_key(granularity, timestamp_ms, kind="all"):
    prefix = "search_activities" if kind == "all" else "search_activities:zero_results"
    return f"{prefix}:{granularity}:{VISITOR_BUCKETS[granularity][1](timestamp_ms)}"


# Ranges (in days) whose top searches are read from a live union rather than merged per
# render. 30 serves both the 30-day view and the 90-day one (searches are kept 30 days).
LIVE_UNION_DAYS = (30,)
# The live union of a day is kept until an hour after that day ends.
LIVE_UNION_TTL_MS = HOUR_MS
# Tomorrow's live union is built this long after midnight at the earliest: by then the
# recorders have written every search of the day before yesterday (they write within
# seconds), so the build reads final daily sets.
LIVE_BUILD_GRACE_MS = 10 * MINUTE_MS
# The sentinel member a built live union holds: never a query (an empty query is not a
# search), scored below every count so ranking by score ignores it.
LIVE_READY_MEMBER = ""
LIVE_READY_SCORE = -1


def search_live_key(kind, days, day_start_ms):
    """The live union of the `days` days ending with the day of `day_start_ms`."""
    prefix = "search_activities" if kind == "all" else "search_activities:zero_results"
    return f"{prefix}:live:{days}d:{_day(day_start_ms)}"


def search_union_key(kind, granularity, start_ms, end_ms):
    """A short-lived merge of many buckets' sorted sets, for ranking a range."""
    return f"search_activities:union:{kind}:{granularity}:{start_ms}:{end_ms}"


# --- the daily salt for visitor hashes ------------------------------------------------

_salts: dict[str, str] = {}
_salts_lock = threading.Lock()


def visitor_salt(timestamp_ms, redis_client=None):
    """Today's salt, shared by every worker through Redis; a new one each UTC day.

    It expires when its day ends and the previous days' salts are deleted when a new one
    is made, so yesterday's visitor hashes can no longer be recomputed from IP and UA.
    """
    key = visitor_salt_key(timestamp_ms)
    with _salts_lock:
        salt = _salts.get(key)
    if salt is not None:
        return salt
    pipe = (redis_client or client()).pipeline(transaction=False)
    day_end = _bucket_end(timestamp_ms, DAY_MS)
    pipe.set(key, secrets.token_hex(16), nx=True, pxat=day_end)
    pipe.get(key)
    pipe.delete(
        visitor_salt_key(timestamp_ms - DAY_MS), visitor_salt_key(timestamp_ms - 2 * DAY_MS)
    )
    salt = pipe.execute()[1]
    if salt is None:  # the day ended between SET and GET (or a clock far in the past)
        salt = secrets.token_hex(16)
    with _salts_lock:
        _salts.clear()  # only one day's salt is ever needed
        _salts[key] = salt
    return salt


def forget_salts():
    with _salts_lock:
        _salts.clear()


# --- recording ------------------------------------------------------------------------


@dataclass
class Hit:
    """What one request contributes; `page` is None for a search made through an API."""

    timestamp_ms: int
    page: str | None = None
    country_code: str = "ZZ"
    country_name: str = "Unknown"
    visitor: str | None = None
    search: SearchHit | None = None


def _series_values(hit):
    """(series, value) for every series sample one hit adds."""
    if hit.page:
        yield page_views_series(), 1
        yield page_series(hit.page), 1
        yield country_series(hit.country_code, hit.country_name), 1
        if hit.search:
            yield search_queries_series(), 1
    if hit.search:
        yield search_series("query_frequency"), 1
        yield search_series("result_counts"), hit.search.result_count
        yield search_series("response_times"), hit.search.response_ms
        if hit.search.result_count == 0:
            yield search_series("zero_results"), 1


def queue_hits(pipe, hits):
    """Queue the writes of many hits on `pipe`, summed per key first: one TS.MADD for
    every sample (raw and minute/hour/day buckets; the series' SUM policy adds up what
    is already there), one HINCRBY/ZINCRBY per key and field, one PFADD per key."""
    samples = timeseries.Samples()  # raw samples and their buckets, summed
    counters = Counter()  # ("h" hash | "z" sorted set, key, field) -> increment
    visitors = defaultdict(set)  # HyperLogLog key -> visitor hashes
    expire_at = {}  # key -> when it expires (ms)
    for hit in hits:
        t = hit.timestamp_ms
        for series, value in _series_values(hit):
            samples.add(series, t, value)
        if hit.page:
            daily = page_views_daily_key(t)
            counters[("h", daily, hit.page)] += 1
            expire_at[daily] = _bucket_end(t, DAY_MS) + PAGE_VIEWS_RETENTION_MS
            monthly = user_countries_monthly_key(t)
            counters[("h", monthly, hit.country_name)] += 1
            expire_at[monthly] = _month_end(t) + COUNTRY_RETENTION_MS
            if hit.visitor:
                for granularity, (bucket_ms, _) in VISITOR_BUCKETS.items():
                    key = unique_visitors_key(granularity, t)
                    visitors[key].add(hit.visitor)
                    expire_at[key] = _bucket_end(t, bucket_ms) + VISITOR_TTL_MS[granularity]
        if hit.search:
            kinds = ("all", "zero_results") if hit.search.result_count == 0 else ("all",)
            for kind in kinds:
                for granularity, (bucket_ms, _) in VISITOR_BUCKETS.items():
                    key = search_activities_key(granularity, t, kind)
                    counters[("z", key, hit.search.query)] += 1
                    expire_at[key] = _bucket_end(t, bucket_ms) + SEARCH_TTL_MS[granularity]
                # today's live unions, and tomorrow's (a no-op until it is built, which
                # replaces whatever was added before)
                day = t - t % DAY_MS
                for days in LIVE_UNION_DAYS:
                    for live_day in (day, day + DAY_MS):
                        key = search_live_key(kind, days, live_day)
                        counters[("z", key, hit.search.query)] += 1
                        expire_at[key] = live_day + DAY_MS + LIVE_UNION_TTL_MS
    samples.queue_madd(pipe)
    for (kind, key, member), increment in counters.items():
        if kind == "h":
            pipe.hincrby(key, member, increment)
        else:
            pipe.zincrby(key, increment, member)
    for key, members in visitors.items():
        pipe.pfadd(key, *members)
    for key, when in expire_at.items():
        pipe.pexpireat(key, when)


def record_hits(hits, redis_client=None):
    """Record hits (one request's, or a batch): series ensured once per process, then
    one pipeline, one round trip.

    MULTI/EXEC, so that a live union's build never sees a search in the daily set but
    not yet in the live union (or the other way round).

    Returns how many writes Redis refused (a sample older than retention, which only a
    clock set far in the past produces, or a series deleted under this process, which
    is then re-created by the next call); connection errors propagate.
    """
    redis_client = redis_client or client()
    needed = {s.key: s for hit in hits for s, _ in _series_values(hit)}
    timeseries.ensure_series(redis_client, needed.values())
    pipe = redis_client.ts().pipeline(transaction=True)
    queue_hits(pipe, hits)
    refused = []
    for result in pipe.execute(raise_on_error=False):
        for item in result if isinstance(result, list) else [result]:
            if isinstance(item, redis.ResponseError):
                refused.append(item)
    if refused:
        logger.debug("analytics store refused %d writes: %s", len(refused), refused[0])
        # TS.MADD answers "the key is not a TSDB key" for a missing series
        if any("not a TSDB key" in str(e) or "does not exist" in str(e) for e in refused):
            timeseries.forget_ensured()  # a series vanished: re-create it on the next write
    return len(refused)


def record_hit(hit, redis_client=None):
    return record_hits([hit], redis_client)


# --- reading --------------------------------------------------------------------------


def retained_from(retention_ms, granularity, now):
    """The first whole bucket still inside a retention. Reads start there at the earliest:
    retention trims from a series' newest sample, so an idle series still holds older
    samples than its retention."""
    oldest = now - retention_ms
    return oldest + (-oldest % GRANULARITIES.get(granularity, 1))


def page_views_by_day(day_starts_ms):
    """Sum of the `page_views:daily:<date>` hashes of those days: Counter page -> views."""
    pipe = client().pipeline(transaction=False)
    for day in day_starts_ms:
        pipe.hgetall(page_views_daily_key(day))
    totals = Counter()
    for mapping in pipe.execute():
        for page, count in mapping.items():
            totals[page] += int(count)
    return totals


def countries_of_month(timestamp_ms):
    mapping = client().hgetall(user_countries_monthly_key(timestamp_ms))
    return Counter({name: int(count) for name, count in mapping.items()})


def unique_visitors(granularity, bucket_starts_ms):
    """Distinct visitor hashes over those buckets (PFCOUNT merges the HyperLogLogs)."""
    keys = [unique_visitors_key(granularity, t) for t in bucket_starts_ms]
    return client().pfcount(*keys) if keys else 0


# KEYS[1] the live union, KEYS[2..] the daily sets of its days; ARGV[1] its expiry (ms).
# Atomic: the first build of a day wins, later ones (other processes) return 0 at once.
_BUILD_LIVE_UNION = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""


def build_live_union(kind, days, day_start_ms, redis_client=None):
    """Make the live union of the `days` days ending with that day from the daily sets,
    unless it is built already. Returns whether this call built it."""
    day_start_ms -= day_start_ms % DAY_MS
    redis_client = redis_client or client()
    sources = [search_activities_key("daily", day_start_ms - i * DAY_MS, kind) for i in range(days)]
    script = redis_client.register_script(_BUILD_LIVE_UNION)
    built = script(
        keys=[search_live_key(kind, days, day_start_ms), *sources],
        args=[
            day_start_ms + DAY_MS + LIVE_UNION_TTL_MS,
            LIVE_READY_MEMBER,
            LIVE_READY_SCORE,
        ],
    )
    return bool(built)


def prepare_search_unions(now=None, redis_client=None):
    """Build today's live unions if they are missing and, once the grace after midnight
    is over, tomorrow's: the background recorder calls this now and then, so that the
    first render of a day finds its union ready. Returns how many this call built."""
    now = now_ms() if now is None else now
    today = now - now % DAY_MS
    targets = [today]
    if now - today >= LIVE_BUILD_GRACE_MS:
        targets.append(today + DAY_MS)
    redis_client = redis_client or client()
    return sum(
        build_live_union(kind, days, day, redis_client)
        for day in targets
        for days in LIVE_UNION_DAYS
        for kind in SEARCH_KINDS
    )


def _read_live_union(redis_client, key, limit):
    """(top, distinct) from a built live union; None when it is not built."""
    pipe = redis_client.pipeline(transaction=True)
    pipe.zscore(key, LIVE_READY_MEMBER)
    pipe.zrange(key, "+inf", 1, desc=True, byscore=True, offset=0, num=limit, withscores=True)
    pipe.zcount(key, 1, "+inf")
    ready, top, distinct = pipe.execute()
    if ready != LIVE_READY_SCORE:
        return None
    return [(query, int(score)) for query, score in top], distinct


def _live_union_days(granularity, bucket_starts_ms):
    """The live union's length in days that serves exactly these buckets, or None."""
    days = len(bucket_starts_ms)
    if granularity != "daily" or days not in LIVE_UNION_DAYS:
        return None
    if bucket_starts_ms[-1] - bucket_starts_ms[0] != (days - 1) * DAY_MS:
        return None
    return days


def top_searches(kind, granularity, bucket_starts_ms, limit=10):
    """(top [(query, count)], distinct queries) over those buckets, merged by Redis.

    The last 30 days are read from their live union (built ahead of time by the
    background recorder; built here when it is not). Other ranges: ZUNIONSTORE into a
    key that lives a few seconds: the merge runs inside Redis and only the top `limit`
    queries travel back. For day ranges the closed days (all but today) are merged once
    into a cached union that lives until the day ends, so a render merges two sets
    instead of seven.
    """
    keys = [search_activities_key(granularity, t, kind) for t in bucket_starts_ms]
    if not keys:
        return [], 0
    redis_client = client()
    days = _live_union_days(granularity, bucket_starts_ms)
    if days:
        live = search_live_key(kind, days, bucket_starts_ms[-1])
        found = _read_live_union(redis_client, live, limit)
        if found is None:
            build_live_union(kind, days, bucket_starts_ms[-1], redis_client)
            found = _read_live_union(redis_client, live, limit)
        if found is not None:  # else the day is long past and its union expired at once
            return found
    if granularity == "daily" and len(keys) > 2:
        closed = search_union_key(kind, "closed", bucket_starts_ms[0], bucket_starts_ms[-2])
        if not redis_client.exists(closed):
            pipe = redis_client.pipeline(transaction=True)
            pipe.zunionstore(closed, keys[:-1], aggregate="SUM")
            # until today ends (then the key name moves on), and never without a TTL
            pipe.pexpireat(closed, bucket_starts_ms[-1] + DAY_MS + MINUTE_MS)
            pipe.execute()
        keys = [closed, keys[-1]]
    union = search_union_key(kind, granularity, bucket_starts_ms[0], bucket_starts_ms[-1])
    # MULTI/EXEC: two dashboards merging the same range never see each other's DELETE.
    pipe = redis_client.pipeline(transaction=True)
    pipe.zunionstore(union, keys, aggregate="SUM")
    pipe.pexpire(union, 10_000)
    pipe.zrange(union, 0, limit - 1, desc=True, withscores=True)
    pipe.zcard(union)
    pipe.delete(union)
    _, _, top, distinct, _ = pipe.execute()
    return [(query, int(score)) for query, score in top], distinct
