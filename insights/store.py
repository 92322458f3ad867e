"""Redis reads and writes of the analytics store: time series, hits, page-view reads.

The hits of many requests are written in one MULTI/EXEC pipeline; the reports read the
series, daily page hashes, monthly countries and visitor HyperLogLogs from here. Key
names: insights/keys.py; the search rankings: insights/search_store.py.
"""

import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

import redis

from config.redis_stores import get_redis
from insights import live_unions, salts
from insights.keys import (
    page_views_daily_expires_at,
    page_views_daily_key,
    search_activities_expires_at,
    search_activities_key,
    unique_visitors_expires_at,
    unique_visitors_key,
    user_countries_monthly_expires_at,
    user_countries_monthly_key,
    visitor_salt_expires_at,
    visitor_salt_key,
)
from insights.searches import SearchHit
from insights.series import (
    GRANULARITIES,
    country_series,
    page_series,
    page_views_series,
    search_queries_series,
    search_series,
)
from telemetry import timeseries, units

logger = logging.getLogger(__name__)

STORE = "analytics"


def now_ms() -> int:
    """The clock every write and read uses; tests monkeypatch it to travel in time."""
    return units.now_ms()


def client() -> redis.Redis:
    return get_redis(STORE)


# --- the daily salt for visitor hashes ------------------------------------------------

_salts: dict[str, str] = {}
_salts_lock = threading.Lock()


def visitor_salt(timestamp_ms: int, redis_client: redis.Redis | None = None) -> str:
    """The salt of that day (insights/salts.py), read once a day by this process."""
    key = visitor_salt_key(timestamp_ms)
    with _salts_lock:
        salt = _salts.get(key)
    if salt is not None:
        return salt
    pipe = (redis_client or client()).pipeline(transaction=False)
    pipe.set(key, salts.new_salt(), nx=True, pxat=visitor_salt_expires_at(timestamp_ms))
    pipe.get(key)
    pipe.delete(*salts.stale_salt_keys(timestamp_ms))
    salt = pipe.execute()[1]
    if salt is None:  # the day ended between SET and GET (or a clock far in the past)
        salt = salts.new_salt()
    with _salts_lock:
        _salts.clear()  # only one day's salt is ever needed
        _salts[key] = salt
    return salt


def forget_salts() -> None:
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


def queue_hits(pipe: redis.client.Pipeline, hits: list[Hit]) -> None:
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
            expire_at[daily] = page_views_daily_expires_at(t)
            monthly = user_countries_monthly_key(t)
            counters[("h", monthly, hit.country_name)] += 1
            expire_at[monthly] = user_countries_monthly_expires_at(t)
            if hit.visitor:
                for granularity in GRANULARITIES:
                    key = unique_visitors_key(granularity, t)
                    visitors[key].add(hit.visitor)
                    expire_at[key] = unique_visitors_expires_at(granularity, t)
        if hit.search:
            kinds = ("all", "zero_results") if hit.search.result_count == 0 else ("all",)
            for kind in kinds:
                for granularity in GRANULARITIES:
                    key = search_activities_key(granularity, t, kind)
                    counters[("z", key, hit.search.query)] += 1
                    expire_at[key] = search_activities_expires_at(granularity, t)
                for key, expires in live_unions.unions_of_search(kind, t):
                    counters[("z", key, hit.search.query)] += 1
                    expire_at[key] = expires
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


def record_hits(hits: list[Hit], redis_client: redis.Redis | None = None) -> int:
    """Write hits (one request's, or a batch) in one MULTI/EXEC round trip, so a live
    union's build sees each search in the daily set or in the union, never both.

    Returns how many writes Redis refused (a sample older than retention, or a series
    deleted under this process: re-created by the next call); connection errors raise.
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


def record_hit(hit: Hit, redis_client: redis.Redis | None = None) -> int:
    return record_hits([hit], redis_client)


# --- reading --------------------------------------------------------------------------


def page_views_by_day(day_starts_ms: list[int]) -> Counter:
    """Sum of the `page_views:daily:<date>` hashes of those days: Counter page -> views."""
    pipe = client().pipeline(transaction=False)
    for day in day_starts_ms:
        pipe.hgetall(page_views_daily_key(day))
    totals = Counter()
    for mapping in pipe.execute():
        for page, count in mapping.items():
            totals[page] += int(count)
    return totals


def countries_of_month(timestamp_ms: int) -> Counter:
    mapping = client().hgetall(user_countries_monthly_key(timestamp_ms))
    return Counter({name: int(count) for name, count in mapping.items()})


def unique_visitors(granularity: str, bucket_starts_ms: list[int]) -> int:
    """Distinct visitor hashes over those buckets (PFCOUNT merges the HyperLogLogs)."""
    keys = [unique_visitors_key(granularity, t) for t in bucket_starts_ms]
    return client().pfcount(*keys) if keys else 0
