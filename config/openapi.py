"""The OpenAPI 3.1 document of the JSON APIs, served at `GET /api/openapi.json`.

Built from the code's own constants (sort orders, page sizes, ranges, limits, rule
names, stores), so the document changes with the code it describes. tests/api checks
that it names every route under /api/, that it is valid OpenAPI 3.1, and fuzzes the
live app against it with schemathesis.
"""

from functools import cache

from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from config.redis_stores import STORES
from insights import api as insights_api
from insights.ranges import DEFAULT_RANGE, RANGES
from operations import store as operations_store
from operations.rules import RULES, SEVERITIES
from search import params
from search.queries.text import MAX_QUERY_CHARS
from search.ranking import SORTS

# Literals of views that keep them inline; the schemathesis run rejects a document whose
# bounds the views do not enforce.
OPERATIONS_DEFAULT_RANGE = "1h"  # operations.reports.window
ALERTS_LIMIT_MAX, ALERTS_LIMIT_DEFAULT = 1000, 50  # operations.views.api_alerts

SECURITY_SCHEME = "staffSession"
STAFF_ONLY = [{SECURITY_SCHEME: []}]


# --- schema helpers ------------------------------------------------------------------


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema):
    """The schema, or null (OpenAPI 3.1 is JSON Schema 2020-12: a list of types)."""
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties, description=None):
    """A closed object: every property is always present, and no other is."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _array(items, description=None):
    schema = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


INTEGER = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
NUMBER = {"type": "number"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
DATE_TIME = {"type": "string", "format": "date-time"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description, headers=None):
    response = _json(_ref("Error"), description)
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again (sent by most outage answers).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def _responses(ok_schema, ok_description, *, bad_request, staff, outage):
    responses = {"200": _json(ok_schema, ok_description)}
    if bad_request:
        responses["400"] = _error(bad_request)
    if staff:
        responses["401"] = _error("Not logged in: this API needs a staff session.")
        responses["403"] = _error("Logged in, but not as staff.")
    responses["503"] = _error(outage, RETRY_AFTER)
    return responses


def _query(name, schema, description, empty_is_default=True, **extra):
    """An optional query parameter. Most treat an empty value as absent, as an HTML form
    sends an empty field."""
    parameter = {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }
    if empty_is_default:
        parameter["allowEmptyValue"] = True
        parameter["description"] += " An empty value is the same as none."
    return parameter


def _operation(operation_id, tag, summary, description, parameters, responses, staff):
    operation = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": description,
        "parameters": parameters,
        "responses": responses,
    }
    if staff:
        operation["security"] = STAFF_ONLY
    return {"get": operation}


# --- search ----------------------------------------------------------------------------


def _search_components():
    facets = list(params.FACET_LABELS)
    return {
        "Movie": _object(
            {
                "id": STRING,
                "title": STRING,
                "year": _nullable(INTEGER),
                "genre": _nullable(STRING),
                "subgenres": _array(STRING),
                "rating": _nullable({"type": "number", "minimum": 0, "maximum": 10}),
                "language": _nullable(STRING),
                "country": _nullable(STRING),
                "director": _nullable(STRING),
                "cast": _array(STRING, "The leading names only."),
                "plot": STRING,
            }
        ),
        "FacetValue": _object({"value": STRING, "count": COUNT}),
        "SearchResult": _object(
            {
                "movies": _array(_ref("Movie")),
                "totalCount": COUNT,
                "facets": _object(
                    {facet: _array(_ref("FacetValue")) for facet in facets},
                    "Per filter, its values with the number of matches under the current "
                    "query and the other filters; the most frequent first.",
                ),
                "facetsExact": {
                    "type": "boolean",
                    "description": "false when the counts are estimated from a sample of "
                    "the matches (broad searches).",
                },
                "took_ms": {"type": "number", "minimum": 0},
                "page": {"type": "integer", "minimum": 1},
                "pages": {"type": "integer", "minimum": 1},
                "size": {"type": "integer", "enum": list(params.PAGE_SIZES)},
                "capped": {
                    "type": "boolean",
                    "description": f"true when more than {params.MAX_RESULT_WINDOW:,} "
                    "movies match: only that many can be paged through.",
                },
                "didYouMean": _nullable(
                    {"type": "string", "description": "A corrected query that finds movies."}
                ),
                "typosIncluded": {
                    "type": "boolean",
                    "description": "Whether words one or two typos away were searched too.",
                },
            }
        ),
        "Suggestion": _object({"id": STRING, "label": STRING}),
        "Suggestions": _object({"suggestions": _array(_ref("Suggestion"))}),
    }


def _search_paths():
    low_year, high_year = params.RANGE_FIELDS["year"]
    low_rating, high_rating = params.RANGE_FIELDS["rating"]
    year = {"type": "integer", "minimum": low_year, "maximum": high_year}
    rating = {"type": "number", "minimum": low_rating, "maximum": high_rating}
    parameters = [
        _query(
            "q",
            STRING,
            'Free text over titles, directors, cast and plots; "quoted phrases" match exactly.',
        )
    ]
    for facet, label in params.FACET_LABELS.items():
        parameters.append(
            _query(
                facet,
                {"type": "array", "items": STRING},
                f"{label} filter: repeat for several values (OR'd); different filters are "
                f"AND'd. Case-insensitive; at most {params.MAX_FILTER_VALUES} values are "
                "used. An unknown value is a 400.",
                style="form",
                explode=True,
            )
        )
    parameters += [
        _query("year_min", year, "Earliest year (inclusive)."),
        _query("year_max", year, "Latest year (inclusive); not before year_min."),
        _query("rating_min", rating, "Lowest rating (inclusive)."),
        _query("rating_max", rating, "Highest rating (inclusive); not below rating_min."),
        _query(
            "sort",
            {"type": "string", "enum": list(SORTS), "default": "relevance"},
            "Result order.",
        ),
        _query(
            "page",
            {"type": "integer", "minimum": 1, "maximum": 999_999_999, "default": 1},
            f"Page number. Only the first {params.MAX_RESULT_WINDOW:,} results can be "
            "browsed, and a page past the last one is a 400.",
        ),
        _query(
            "size",
            {
                "type": "integer",
                "enum": list(params.PAGE_SIZES),
                "default": params.DEFAULT_PAGE_SIZE,
            },
            "Movies per page.",
        ),
    ]
    outage = "The search store is unavailable."
    search = _operation(
        "searchMovies",
        "search",
        "Search the movies",
        "Full-text search with filters, filter counts, sorting and pagination. Public.",
        parameters,
        _responses(
            _ref("SearchResult"),
            "One page of results.",
            bad_request="A bad parameter (unknown sort or filter value, a reversed or "
            "out-of-range year or rating range, a bad page or size, a page past the last "
            "one or beyond the browsable results); the reason is in `error`.",
            staff=False,
            outage=outage,
        ),
        staff=False,
    )
    suggest = _operation(
        "suggestTitles",
        "search",
        "Suggest titles for the search box",
        "Up to 5 titles by prefix, then close fuzzy matches, then titles that sound "
        "alike. Fewer than 2 letters suggest nothing. Public.",
        [_query("q", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "What was typed.")],
        _responses(
            _ref("Suggestions"),
            "The suggestions, best first.",
            bad_request=f"`q` is longer than {MAX_QUERY_CHARS} characters.",
            staff=False,
            outage=outage,
        ),
        staff=False,
    )
    return {reverse("api-search"): search, reverse("api-suggest"): suggest}


# --- analytics ---------------------------------------------------------------------------


def _window_properties():
    return {
        "range": {"type": "string", "enum": list(RANGES)},
        "from": {**DATE_TIME, "description": "Start of the first bucket (UTC)."},
        "to": {**DATE_TIME, "description": "End of the current bucket (UTC)."},
    }


def _analytics_components():
    window = _window_properties()
    bucket = {"bucket_seconds": {"type": "integer", "minimum": 1}}
    change = _nullable(
        {
            "type": "number",
            "description": "Percent against the previous "
            "period; null when there is nothing to compare.",
        }
    )
    return {
        "PageViews": _object(
            {
                **window,
                **bucket,
                "total": COUNT,
                "previous_total": _nullable(COUNT),
                "change_pct": change,
                "unique_visitors": COUNT,
                "previous_unique_visitors": _nullable(COUNT),
                "unique_visitors_change_pct": change,
                "series": _array(_object({"t": DATE_TIME, "label": STRING, "views": COUNT})),
                "top_pages": _array(_object({"page": STRING, "views": COUNT})),
            }
        ),
        "SearchActivities": _object(
            {
                **window,
                **bucket,
                "retention_days": {"type": "integer", "minimum": 1},
                "total_searches": COUNT,
                "previous_total_searches": _nullable(COUNT),
                "change_pct": change,
                "zero_result_searches": COUNT,
                "zero_result_rate": _nullable({"type": "number", "minimum": 0, "maximum": 100}),
                "previous_zero_result_rate": _nullable(
                    {"type": "number", "minimum": 0, "maximum": 100}
                ),
                "zero_result_rate_change": _nullable(
                    {"type": "number", "description": "In percentage points."}
                ),
                "average_result_count": _nullable({"type": "number", "minimum": 0}),
                "average_response_ms": _nullable({"type": "number", "minimum": 0}),
                "distinct_queries": COUNT,
                "series": _array(_object({"t": DATE_TIME, "label": STRING, "searches": COUNT})),
                "top_queries": _array(_ref("QueryCount")),
                "zero_result_queries": _array(_ref("QueryCount")),
                "distinct_zero_result_queries": COUNT,
            }
        ),
        "QueryCount": _object({"query": STRING, "count": COUNT}),
        "UserCountries": _object(
            {
                **window,
                "total": COUNT,
                "countries": _array(
                    _object(
                        {
                            "country": STRING,
                            "views": COUNT,
                            "share_pct": {"type": "number", "minimum": 0, "maximum": 100},
                        }
                    )
                ),
                "current_month": _object(
                    {
                        "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                        "countries": _array(_object({"country": STRING, "views": COUNT})),
                    }
                ),
            }
        ),
        "PageActivities": _object(
            {
                **window,
                "events": _array(
                    _object(
                        {
                            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
                            "timestamp": DATE_TIME,
                            "page": STRING,
                            "country": STRING,
                            "search": _nullable(STRING),
                            "results": _nullable(COUNT),
                        }
                    ),
                    "Newest first; `search` and `results` are null for pages that were "
                    "not searches.",
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


def _analytics_paths():
    paths = {}
    for name, view, operation_id, schema, summary, limited in ANALYTICS:
        parameters = [
            _query(
                "range",
                {"type": "string", "enum": list(RANGES), "default": DEFAULT_RANGE},
                "Whole UTC buckets ending with the current one: "
                + ", ".join(f"`{name}` ({r.label.lower()})" for name, r in RANGES.items())
                + ".",
            ),
            _query(
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
        paths[reverse(f"insights_api:{name}")] = _operation(
            operation_id,
            "analytics",
            summary,
            f"{summary} over a range. Staff only.",
            parameters,
            _responses(
                _ref(schema),
                "The figures of the range.",
                bad_request="An unknown `range` or a bad `limit`; the reason is in `error`.",
                staff=True,
                outage="The analytics store is unavailable.",
            ),
            staff=True,
        )
    return paths


# --- operations ----------------------------------------------------------------------------


def _operations_components():
    system = list(operations_store.SYSTEM_SERIES)
    series = _array(_nullable(NUMBER), "One value per bucket; null where nothing was recorded.")
    grid = {
        "range": {"type": "string", "enum": list(operations_store.WINDOWS)},
        "bucket_seconds": {"type": "integer", "minimum": 1},
        "timestamps": _array(INTEGER, "Bucket starts, in milliseconds since the epoch."),
        "labels": _array(STRING, "Bucket starts as chart labels (UTC)."),
    }
    count_or_null = _nullable(COUNT)
    string_or_null = _nullable(STRING)
    number_or_null = _nullable(NUMBER)
    return {
        "SystemMetrics": _object(
            {
                **grid,
                "series": _object({name: series for name in system}),
                "latest": _object(
                    {name: number_or_null for name in system}, "The newest sample of each series."
                ),
                "units": _object({name: STRING for name in system}),
            }
        ),
        "PerformanceMetrics": _object(
            {
                **grid,
                "requests_per_second": _array({"type": "number", "minimum": 0}),
                "error_rate": _array(
                    _nullable({"type": "number", "minimum": 0, "maximum": 100}),
                    "5xx share of the bucket's requests, in percent.",
                ),
                "latency_ms": _object({q: series for q in ("p50", "p95", "p99")}),
                "totals": _object({"requests": COUNT, "errors": COUNT}),
            }
        ),
        "Alert": {
            **_object(
                {
                    "id": STRING,
                    "type": {"type": "string", "enum": list(RULES)},
                    "message": STRING,
                    "timestamp": DATE_TIME,
                    "timestamp_ms": INTEGER,
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "value": number_or_null,
                    "threshold": NUMBER,
                    "state": {"type": "string", "enum": ["active", "acknowledged", "resolved"]},
                    "acknowledged_by": string_or_null,
                    "acknowledged_at": _nullable(DATE_TIME),
                    "resolved_at": _nullable(DATE_TIME),
                    "recorded_at": {
                        **DATE_TIME,
                        "description": "When this history entry was written (`timestamp` "
                        "is when the alert fired).",
                    },
                    "recorded_ms": INTEGER,
                }
            ),
            # Only history entries say when they were written.
            "required": [
                "id",
                "type",
                "message",
                "timestamp",
                "timestamp_ms",
                "severity",
                "value",
                "threshold",
                "state",
                "acknowledged_by",
                "acknowledged_at",
            ],
        },
        "Alerts": _object(
            {
                "active": _array(_ref("Alert"), "Active and acknowledged alerts, newest first."),
                "history": _array(_ref("Alert"), "Every transition, newest first."),
            }
        ),
        "RedisInfo": _object(
            {
                "version": string_or_null,
                "mode": string_or_null,
                "uptime_seconds": count_or_null,
                "modules": _array(STRING, "Each module's name and version."),
                "memory": _object(
                    {
                        "used_bytes": COUNT,
                        "used_human": string_or_null,
                        "peak_human": string_or_null,
                        "maxmemory_bytes": {**COUNT, "description": "0: no limit."},
                        "maxmemory_human": string_or_null,
                        "used_percent": number_or_null,
                        "policy": string_or_null,
                        "fragmentation_ratio": number_or_null,
                    }
                ),
                "clients": _object({"connected": count_or_null, "blocked": count_or_null}),
                "stats": _object(
                    {
                        "ops_per_sec": {
                            **number_or_null,
                            "description": "Commands per second between the collector's "
                            "last two passes; null before it has measured.",
                        },
                        "ops_per_sec_measured_at": _nullable(DATE_TIME),
                        "keyspace_hits": COUNT,
                        "keyspace_misses": COUNT,
                        "hit_ratio_percent": number_or_null,
                        "evicted_keys": count_or_null,
                        "expired_keys": count_or_null,
                    }
                ),
                "keys_per_store": _object(
                    {name: count_or_null for name in STORES},
                    "Keys in each store; null for a store that did not answer.",
                ),
                "persistence": _object(
                    {
                        "aof_enabled": BOOLEAN,
                        "aof_last_write_status": string_or_null,
                        "aof_last_bgrewrite_status": string_or_null,
                        "rdb_last_save_time": count_or_null,
                        "rdb_last_bgsave_status": string_or_null,
                        "rdb_changes_since_last_save": count_or_null,
                        "loading": BOOLEAN,
                    }
                ),
            }
        ),
        "Configuration": _object(
            {
                "rules": _array(
                    _object(
                        {
                            "rule": {"type": "string", "enum": list(RULES)},
                            "label": STRING,
                            "unit": {
                                "type": "string",
                                "enum": sorted({r.unit for r in RULES.values()}),
                            },
                            "threshold": NUMBER,
                            "duration_seconds": {"type": "integer", "minimum": 1},
                            "hysteresis": {"type": "number", "minimum": 0},
                            "resolves_below": NUMBER,
                            "severity": {"type": "string", "enum": list(SEVERITIES)},
                            "enabled": BOOLEAN,
                        }
                    )
                ),
                "updated_at": _nullable(STRING),
                "source": {"type": "string", "enum": ["operations:configuration", "defaults"]},
                "admin_url": STRING,
                "collector": _object(
                    {"last_pass": _nullable(DATE_TIME), "last_duration_ms": number_or_null}
                ),
            }
        ),
    }


def _operations_paths():
    window = _query(
        "range",
        {
            "type": "string",
            "enum": list(operations_store.WINDOWS),
            "default": OPERATIONS_DEFAULT_RANGE,
        },
        "The window charted.",
    )
    limit = _query(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": ALERTS_LIMIT_MAX,
            "default": ALERTS_LIMIT_DEFAULT,
        },
        "How many history entries.",
        empty_is_default=False,
    )
    bad_range = "An unknown `range`; the reason is in `error`."
    operations = (
        # (url name, operation id, schema, summary, parameters, 400 text)
        (
            "system-metrics",
            "operationsSystemMetrics",
            "SystemMetrics",
            "CPU, memory and Redis figures over a window",
            [window],
            bad_range,
        ),
        (
            "performance-metrics",
            "operationsPerformanceMetrics",
            "PerformanceMetrics",
            "Request rate, latency percentiles and error rate over a window",
            [window],
            bad_range,
        ),
        (
            "alerts",
            "operationsAlerts",
            "Alerts",
            "Active alerts and the alert history",
            [limit],
            "A bad `limit`; the reason is in `error`.",
        ),
        ("redis-info", "operationsRedisInfo", "RedisInfo", "The Redis server's figures", [], None),
        (
            "configuration",
            "operationsConfiguration",
            "Configuration",
            "The alert rules in force and the collector's last pass",
            [],
            None,
        ),
    )
    paths = {}
    for name, operation_id, schema, summary, parameters, bad_request in operations:
        paths[reverse(f"operations_api:{name}")] = _operation(
            operation_id,
            "operations",
            summary,
            f"{summary}. Staff only.",
            parameters,
            _responses(
                _ref(schema),
                summary + ".",
                bad_request=bad_request,
                staff=True,
                outage="Redis is unavailable.",
            ),
            staff=True,
        )
    return paths


# --- the document ----------------------------------------------------------------------------


@cache
def openapi_document():
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Movie Library Explorer API",
            "version": "1.0.0",
            "description": "Movie search (public), web analytics and operations (staff "
            'only). Every API answers JSON, errors included: `{"error": "<reason>"}`.',
        },
        "tags": [
            {"name": "search", "description": "Public: the movie search and autocomplete."},
            {"name": "analytics", "description": "Staff only: web analytics."},
            {"name": "operations", "description": "Staff only: metrics, alerts, Redis."},
        ],
        "paths": {**_search_paths(), **_analytics_paths(), **_operations_paths()},
        "components": {
            "schemas": {
                "Error": _object({"error": {"type": "string", "minLength": 1}}),
                **_search_components(),
                **_analytics_components(),
                **_operations_components(),
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": settings.SESSION_COOKIE_NAME,
                    "description": "The session cookie of a staff user, set by logging in "
                    "at /accounts/login/. Without it the staff APIs answer 401, with a "
                    "non-staff user's session 403.",
                }
            },
        },
    }


@require_GET
def openapi_view(request):
    """Public: the document is no secret, and it says which APIs need a staff session."""
    return JsonResponse(openapi_document())
