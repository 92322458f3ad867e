"""The analytics part of the OpenAPI document: the four staff-only insights APIs, with
the schemas of their answers."""

from typing import Any

from django.urls import reverse

from config.openapi.paths import api_get, query
from config.openapi.schemas import COUNT, DATE_TIME, STRING, array, closed_object, nullable, ref
from insights import api as insights_api
from insights.ranges import DEFAULT_RANGE, RANGES


def _window_properties() -> dict[str, Any]:
    return {
        "range": {"type": "string", "enum": list(RANGES)},
        "from": {**DATE_TIME, "description": "Start of the first bucket (UTC)."},
        "to": {**DATE_TIME, "description": "End of the current bucket (UTC)."},
    }


def analytics_components() -> dict[str, Any]:
    """The schemas of the four analytics answers (and the query counts they share), by name."""
    window = _window_properties()
    bucket = {"bucket_seconds": {"type": "integer", "minimum": 1}}
    change = nullable(
        {
            "type": "number",
            "description": "Percent against the previous "
            "period; null when there is nothing to compare.",
        }
    )
    previous = (
        "The same figure over the period of the same length before; null when that period "
        "lies beyond the retention or holds nothing."
    )
    return {
        "PageViews": closed_object(
            {
                **window,
                **bucket,
                "total": {**COUNT, "description": "Page views in the range."},
                "previous_total": nullable({**COUNT, "description": previous}),
                "change_pct": change,
                "unique_visitors": {
                    **COUNT,
                    "description": "Distinct visitors (one seen on two days counts twice).",
                },
                "previous_unique_visitors": nullable({**COUNT, "description": previous}),
                "unique_visitors_change_pct": change,
                "series": array(closed_object({"t": DATE_TIME, "label": STRING, "views": COUNT})),
                "top_pages": array(closed_object({"page": STRING, "views": COUNT})),
            }
        ),
        "SearchActivities": closed_object(
            {
                **window,
                **bucket,
                "retention_days": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "How many days searches are kept: longer ranges cover "
                    "only these.",
                },
                "total_searches": COUNT,
                "previous_total_searches": nullable({**COUNT, "description": previous}),
                "change_pct": change,
                "zero_result_searches": COUNT,
                "zero_result_rate": nullable(
                    {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 100,
                        "description": "Percent of the searches that found nothing.",
                    }
                ),
                "previous_zero_result_rate": nullable(
                    {"type": "number", "minimum": 0, "maximum": 100}
                ),
                "zero_result_rate_change": nullable(
                    {"type": "number", "description": "In percentage points."}
                ),
                "average_result_count": nullable({"type": "number", "minimum": 0}),
                "average_response_ms": nullable(
                    {
                        "type": "number",
                        "minimum": 0,
                        "description": "The server's mean search time over the range, at "
                        "most its last 7 days (the response-time series' retention).",
                    }
                ),
                "distinct_queries": COUNT,
                "series": array(
                    closed_object({"t": DATE_TIME, "label": STRING, "searches": COUNT})
                ),
                "top_queries": array(ref("QueryCount")),
                "zero_result_queries": array(ref("QueryCount")),
                "distinct_zero_result_queries": COUNT,
            }
        ),
        "QueryCount": closed_object({"query": STRING, "count": COUNT}),
        "UserCountries": closed_object(
            {
                **window,
                "total": COUNT,
                "countries": array(
                    closed_object(
                        {
                            "country": STRING,
                            "views": COUNT,
                            "share_pct": {"type": "number", "minimum": 0, "maximum": 100},
                        }
                    )
                ),
                "current_month": closed_object(
                    {
                        "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                        "countries": array(closed_object({"country": STRING, "views": COUNT})),
                    },
                    "The calendar month so far (UTC), whatever the range.",
                ),
            }
        ),
        "PageActivities": closed_object(
            {
                **window,
                "events": array(
                    closed_object(
                        {
                            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
                            "timestamp": DATE_TIME,
                            "page": STRING,
                            "country": STRING,
                            "search": nullable(STRING),
                            "results": nullable(COUNT),
                        }
                    ),
                    "Newest first; `search` and `results` are null for pages that were "
                    "not searches. `id` is the events stream's entry id.",
                ),
            }
        ),
    }


ANALYTICS = (
    # (url name, view, operation id, schema, summary, what `limit` limits)
    (
        "page-views",
        insights_api.page_views,
        "analyticsPageViews",
        "PageViews",
        "Page views and unique visitors",
        "rows of `top_pages`",
    ),
    (
        "search-activities",
        insights_api.search_activities,
        "analyticsSearchActivities",
        "SearchActivities",
        "Searches, zero-result searches and top queries",
        "rows of each query list",
    ),
    (
        "user-countries",
        insights_api.user_countries,
        "analyticsUserCountries",
        "UserCountries",
        "Page views by country",
        "countries",
    ),
    (
        "page-activities",
        insights_api.page_activities,
        "analyticsPageActivities",
        "PageActivities",
        "The newest page views",
        "events",
    ),
)


# What each analytics operation's description adds to its summary.
ANALYTICS_NOTES = {
    "analyticsPageViews": "Page views are successful GETs of HTML pages by URL name, never "
    "by raw path; bots, prefetches, redirects, errors, non-HTML answers, /api/, /admin/, "
    "/health/ and the staff dashboards are not counted. Unique visitors are a keyed hash "
    "of address and User-Agent with a daily salt: no cookie, no stored address.",
    "analyticsSearchActivities": "Every search on the search page or the search API, "
    "except bots' and empty ones. Queries are lower-cased with whitespace collapsed, at "
    "most 200 characters. Searches are kept 30 days, so `30d` and `90d` both cover the "
    "last 30 days.",
    "analyticsUserCountries": "The country comes from the proxy's country header when one "
    "is configured, else from the region of the most preferred Accept-Language tag, "
    "else it is Unknown. Kept 180 days.",
    "analyticsPageActivities": "The newest page views of the range from the events "
    "stream, newest first. The stream is capped at about 100,000 events, so a long range "
    "shows only its most recent part.",
}
ANALYTICS_RANGE_NOTE = (
    "Times are UTC ISO 8601: `from` is the first bucket's start, `to` the end of the "
    "current bucket."
)


def analytics_paths() -> dict[str, Any]:
    """The path items of the four analytics APIs, by path (from `ANALYTICS`)."""
    paths = {}
    for name, view, operation_id, schema, summary, limited in ANALYTICS:
        parameters = [
            query(
                "range",
                {"type": "string", "enum": list(RANGES), "default": DEFAULT_RANGE},
                "Whole UTC buckets ending with the current one: "
                + ", ".join(f"`{name}` ({r.label.lower()})" for name, r in RANGES.items())
                + ".",
            ),
            query(
                "limit",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": insights_api.MAX_LIMIT,
                    "default": view.default_limit,
                },
                f"How many {limited}.",
            ),
        ]
        paths[reverse(f"insights_api:{name}")] = api_get(
            operation_id,
            "analytics",
            summary,
            f"{summary} over a range. Staff only. {ANALYTICS_NOTES[operation_id]} "
            + ANALYTICS_RANGE_NOTE,
            parameters,
            schema=schema,
            ok_description="The figures of the range.",
            bad_request="An unknown `range` or a bad `limit`; the reason is in `error`.",
            staff=True,
            outage="The analytics store is unavailable.",
        )
    return paths
