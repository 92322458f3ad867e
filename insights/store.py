"""Redis reads and writes of the analytics store: time series, hits, page-view reads.

The hits of many requests are written in one MULTI/EXEC pipeline; the reports read the
series, daily page hashes, monthly countries and visitor HyperLogLogs from here. Key
names: insights/keys.py; the search rankings: insights/search_store.py.
"""

import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

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
from insights.retention import (
    COUNTRY_RETENTION_MS,
    MINUTE_BUCKETS_RETENTION_MS,
    PAGE_VIEWS_RETENTION_MS,
    RESPONSE_TIMES_RETENTION_MS,
    SEARCH_RETENTION_MS,
    retained_from,
)
from insights.searches import SearchHit
from insights.units import GRANULARITIES

logger = logging.getLogger(__name__)

STORE = "analytics"


def now_ms() -> int:
    """The clock every write and read uses; tests monkeypatch it to travel in time."""
    return int(time.time() * 1000)


def client() -> redis.Redis:
    return get_redis(STORE)


# --- time series --------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One counter series and its compactions: key, retention, labels."""

    key: str
    retention_ms: int
    labels: tuple = field(default=())

    def key_for(self, granularity=None):
        return self.key if granularity in (None, "raw") else f"{self.key}:{granularity}"

    def labels_for(self, granularity="raw"):
        return {**dict(self.labels), "granularity": granularity}

    def retention_for(self, granularity):
        if granularity == "minute":
            return min(self.retention_ms, MINUTE_BUCKETS_RETENTION_MS)
        return self.retention_ms


def page_views_series():
    return Series("user_activity:page_views", PAGE_VIEWS_RETENTION_MS, (("type", "page_views"),))


def page_series(page):
    """Per-page views; `page` is a URL name, so the number of series stays bounded."""
    return Series(
        f"user_activity:page_views:page:{page}",
        PAGE_VIEWS_RETENTION_MS,
        (("type", "page_views_by_page"), ("page", page)),
    )


def country_series(code, name):
    return Series(
        f"user_activity:country_distribution:{code}",
        COUNTRY_RETENTION_MS,
        (("type", "country_distribution"), ("country", name), ("country_code", code)),
    )


def search_queries_series():
    """Searches made from HTML pages (user activity); API searches are not in it."""
    return Series(
        "user_activity:search_queries", SEARCH_RETENTION_MS, (("type", "search_queries"),)
    )


SEARCH_METRICS = {
    # every search (pages and the JSON API): one sample of 1 per search
    "query_frequency": SEARCH_RETENTION_MS,
    # one sample of 1 per search that found nothing
    "zero_results": SEARCH_RETENTION_MS,
    # the result count of each search (SUM; divide by query_frequency for the mean)
    "result_counts": SEARCH_RETENTION_MS,
    # server time of each search in ms (SUM; divide by query_frequency for the mean)
    "response_times": RESPONSE_TIMES_RETENTION_MS,
}


def search_series(metric):
    return Series(
        f"search_analytics:{metric}",
        SEARCH_METRICS[metric],
        (("type", "search_analytics"), ("metric", metric)),
    )


_ensured: dict[str, float] = {}
_ensured_lock = threading.Lock()
# Re-check a series now and then (and at once when a write finds it missing).
ENSURE_RECHECK_SECONDS = 600
LEVELS = ("raw", *GRANULARITIES)


def forget_ensured():
    """Forget which series this process created (tests empty the store between tests)."""
    with _ensured_lock:
        _ensured.clear()


def ensure_series(series_list, redis_client=None):
    """Create each series and its bucket series unless this process already did.

    TS.CREATE answers "already exists" for known series; TS.ALTER then re-asserts labels,
    retention and SUM (TS.MADD never auto-creates a bare series). One round trip
    for all series still unknown to this process, none once they are known.
    """
    now = time.monotonic()
    with _ensured_lock:
        missing = [s for s in series_list if _ensured.get(s.key, 0) <= now]
    if not missing:
        return
    pipe = (redis_client or client()).ts().pipeline(transaction=False)
    for series in missing:
        for level in LEVELS:
            options = {
                "retention_msecs": series.retention_for(level),
                "labels": series.labels_for(level),
                "duplicate_policy": "SUM",
            }
            pipe.create(series.key_for(level), **options)
            pipe.alter(series.key_for(level), **options)
    for result in pipe.execute(raise_on_error=False):
        if isinstance(result, redis.ResponseError) and "already exists" not in str(result):
            raise result
    with _ensured_lock:
        for series in missing:
            _ensured[series.key] = now + ENSURE_RECHECK_SECONDS


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
    samples = Counter()  # (series key, timestamp) -> sum
    counters = Counter()  # ("h" hash | "z" sorted set, key, field) -> increment
    visitors = defaultdict(set)  # HyperLogLog key -> visitor hashes
    expire_at = {}  # key -> when it expires (ms)
    for hit in hits:
        t = hit.timestamp_ms
        for series, value in _series_values(hit):
            samples[(series.key, t)] += value
            for granularity, bucket_ms in GRANULARITIES.items():
                samples[(series.key_for(granularity), t - t % bucket_ms)] += value
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
    if samples:
        pipe.madd([(key, t, value) for (key, t), value in samples.items()])
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
    ensure_series(needed.values(), redis_client)
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
            forget_ensured()  # a series vanished (store emptied): re-create on next write
    return len(refused)


def record_hit(hit: Hit, redis_client: redis.Redis | None = None) -> int:
    return record_hits([hit], redis_client)


# --- reading --------------------------------------------------------------------------


def _range_args(start_ms, end_ms, bucket_ms, align):
    return {
        "from_time": start_ms,
        "to_time": end_ms - 1,
        "aggregation_type": "sum",
        "bucket_size_msec": bucket_ms,
        "align": align,
    }


def _checked(result):
    if isinstance(result, redis.ResponseError):
        if "does not exist" in str(result):
            return []
        raise result
    return result


def series_range(series, granularity, start_ms, end_ms, bucket_ms, now=None):
    """{bucket start ms: sum} of one series over [start, end), read from its buckets."""
    now = now_ms() if now is None else now
    start_ms = max(start_ms, retained_from(series.retention_ms, granularity, now))
    if start_ms >= end_ms:
        return Counter()
    try:
        samples = (
            client()
            .ts()
            .range(series.key_for(granularity), **_range_args(start_ms, end_ms, bucket_ms, 0))
        )
    except redis.ResponseError as exc:
        samples = _checked(exc)
    return Counter(dict(samples))


def series_totals(series_list, granularity, periods, now=None):
    """Sum of each series over each (start, end) period: {(key, i): total}, one round trip."""
    now = now_ms() if now is None else now
    pipe = client().ts().pipeline(transaction=False)
    asked = []
    for series in series_list:
        oldest = retained_from(series.retention_ms, granularity, now)
        for i, (start_ms, end_ms) in enumerate(periods):
            start = max(start_ms, oldest)
            if start < end_ms:
                span = end_ms - start
                pipe.range(series.key_for(granularity), **_range_args(start, end_ms, span, start))
                asked.append((series.key, i))
    totals = {(series.key, i): 0 for series in series_list for i in range(len(periods))}
    for ask, result in zip(asked, pipe.execute(raise_on_error=False), strict=True):
        totals[ask] += sum(value for _, value in _checked(result))
    return totals


def labelled_totals(series_type, label, granularity, start_ms, end_ms, retention_ms, now=None):
    """{label value: sum over [start, end)} for every series of a type (one TS.MRANGE)."""
    now = now_ms() if now is None else now
    start_ms = max(start_ms, retained_from(retention_ms, granularity, now))
    totals = Counter()
    if start_ms >= end_ms:
        return totals
    replies = (
        client()
        .ts()
        .mrange(
            filters=[f"type={series_type}", f"granularity={granularity}"],
            select_labels=[label],
            **_range_args(start_ms, end_ms, end_ms - start_ms, start_ms),
        )
    )
    for reply in replies:
        for _key, (labels, samples) in reply.items():
            value = sum(v for _, v in samples)
            if value and labels.get(label) is not None:
                totals[labels[label]] += value
    return totals


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
