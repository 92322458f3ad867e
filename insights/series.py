"""The insights app's time series (store `analytics`): page views, countries, searches.

Every series has `:minute`, `:hourly` and `:daily` bucket series that the app writes in the
same TS.MADD as the raw sample (the analytics store is DB 1, where compaction rules break:
see telemetry.timeseries), all with DUPLICATE_POLICY SUM and a `granularity` label.
"""

from functools import cache

from telemetry.timeseries import Compaction, Series
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS

PAGE_VIEWS_RETENTION_MS = 90 * DAY_MS
SEARCH_RETENTION_MS = 30 * DAY_MS
RESPONSE_TIMES_RETENTION_MS = 7 * DAY_MS
COUNTRY_RETENTION_MS = 180 * DAY_MS
# The minute buckets only serve the realtime view (30 minutes and the 30 before).
MINUTE_BUCKETS_RETENTION_MS = 3 * HOUR_MS

GRANULARITIES = {"minute": MINUTE_MS, "hourly": HOUR_MS, "daily": DAY_MS}


def counter(key: str, retention_ms: int, labels: tuple[tuple[str, str], ...]) -> Series:
    """A SUM counter and its app-written minute, hour and day buckets."""
    return Series(
        key=key,
        retention_ms=retention_ms,
        labels={**dict(labels), "granularity": "raw"},
        duplicate_policy="SUM",
        compactions=tuple(
            Compaction(
                "sum",
                bucket_ms,
                min(retention_ms, MINUTE_BUCKETS_RETENTION_MS)
                if granularity == "minute"
                else retention_ms,
                granularity,
                app_written="SUM",
                key_format="{source}:{suffix}",
                labels={"granularity": granularity},
            )
            for granularity, bucket_ms in GRANULARITIES.items()
        ),
    )


@cache
def page_views_series() -> Series:
    return counter("user_activity:page_views", PAGE_VIEWS_RETENTION_MS, (("type", "page_views"),))


@cache
def page_series(page: str) -> Series:
    """Per-page views; `page` is a URL name, so the number of series stays bounded."""
    return counter(
        f"user_activity:page_views:page:{page}",
        PAGE_VIEWS_RETENTION_MS,
        (("type", "page_views_by_page"), ("page", page)),
    )


@cache
def country_series(code: str, name: str) -> Series:
    return counter(
        f"user_activity:country_distribution:{code}",
        COUNTRY_RETENTION_MS,
        (("type", "country_distribution"), ("country", name), ("country_code", code)),
    )


@cache
def search_queries_series() -> Series:
    """Searches made from HTML pages (user activity); API searches are not in it."""
    return counter(
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


@cache
def search_series(metric: str) -> Series:
    return counter(
        f"search_analytics:{metric}",
        SEARCH_METRICS[metric],
        (("type", "search_analytics"), ("metric", metric)),
    )
