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

from config.openapi_examples import EXAMPLES
from config.redis_stores import STORES
from insights import api as insights_api
from insights.ranges import DEFAULT_RANGE, RANGES
from operations.rules import RULES, SEVERITIES
from operations.series import SYSTEM_SERIES, WINDOWS
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


def _json(schema, description, example=None):
    media_type = {"schema": schema}
    if example is not None:
        media_type["example"] = example
    return {"description": description, "content": {"application/json": media_type}}


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
    example = EXAMPLES.get(ok_schema["$ref"].rsplit("/", 1)[-1])
    responses = {"200": _json(ok_schema, ok_description, example)}
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
                "id": {**STRING, "description": "The movie's id; its page is /movies/<id>/."},
                "title": STRING,
                "year": _nullable({**INTEGER, "description": "Release year; null if unknown."}),
                "genre": _nullable({**STRING, "description": "The main genre, lower-case."}),
                "subgenres": _array(STRING),
                "rating": _nullable(
                    {"type": "number", "minimum": 0, "maximum": 10, "description": "0 to 10."}
                ),
                "language": _nullable(STRING),
                "country": _nullable(STRING),
                "director": _nullable(STRING),
                "cast": _array(STRING, "The leading names only."),
                "plot": STRING,
            },
            "A movie as the result list shows it; null where the catalogue has no value.",
        ),
        "FacetValue": _object({"value": STRING, "count": COUNT}),
        "SearchResult": _object(
            {
                "movies": _array(_ref("Movie"), "The page's movies, in the order applied."),
                "totalCount": {**COUNT, "description": "Movies matching the query and filters."},
                "facets": _object(
                    {facet: _array(_ref("FacetValue")) for facet in facets},
                    "Per filter, its values with the number of matches under the current "
                    "query and the other filters; the most frequent first.",
                ),
                "facetsExact": {
                    "type": "boolean",
                    "description": "true when the filter counts are exact, as they are up to "
                    "500 matches; false when they are estimated from the first 500 matches, "
                    "scaled to the total (as Algolia's exhaustiveFacetsCount). The estimate "
                    "leans towards the films imported first.",
                },
                "took_ms": {
                    "type": "number",
                    "minimum": 0,
                    "description": "The server's time for the search, in milliseconds.",
                },
                "page": {"type": "integer", "minimum": 1, "description": "The page shown."},
                "pages": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Pages of results that can be browsed (1 when none match).",
                },
                "size": {"type": "integer", "enum": list(params.PAGE_SIZES)},
                "capped": {
                    "type": "boolean",
                    "description": f"true when more than {params.MAX_RESULT_WINDOW:,} "
                    "movies match: only that many can be paged through.",
                },
                "didYouMean": _nullable(
                    {
                        "type": "string",
                        "description": "When nothing is found: the closest spelling of the "
                        "query that finds movies (FT.SPELLCHECK); otherwise null.",
                    }
                ),
                "typosIncluded": {
                    "type": "boolean",
                    "description": "Whether words one or two typos away were searched too "
                    "(one typo from 5 letters, two from 9; a swap of two adjacent letters is "
                    "one). They are searched only when the words as typed, with the filters, "
                    "find fewer than 50 movies; exact words rank above corrected ones.",
                },
            }
        ),
        "Suggestion": _object(
            {
                "id": {**STRING, "description": "The movie's id; its page is /movies/<id>/."},
                "label": {**STRING, "description": "The title and year, as shown."},
            }
        ),
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
            'Free text over titles, directors, cast and plots; "quoted phrases" match exactly. '
            "Words are split at punctuation as RediSearch's tokenizer does, and nothing typed "
            "is query syntax. The last word matches as a prefix while it is typed, from 4 "
            "letters; a shorter one completes only the start of a title. Stop words (the, "
            "of, it, …) match by title only.",
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
            "Result order. Without it, a search is ranked by relevance, and with no words "
            "the newest come first (`year_desc`), or the highest rated (`rating_desc`) when "
            "some movie is rated; with no words `relevance` means that default too. Ties are "
            "broken by further fields (year: then title; rating: then year and title; title: "
            "then year), so a page holds the same movies every time.",
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
        "Full-text search with filters, filter counts, sorting and pagination. Public.\n\n"
        "Ranking: movies whose whole title is the query come first (as typed before with a "
        "leading article); while the last word is typed, titles starting with the text "
        "next (when at most 50 do); then the films of a person the query names in full "
        "(two to five words: directed, then acted in, at most 50); then TFIDF relevance "
        "with field weights title 5, director 2, cast 2, plot 1. Every page ranks with the "
        "same query, so totals and pages agree. English stemming, synonym groups "
        "(film/movie, cartoon/animated, cop/police, …) and sci-fi = science fiction.\n\n"
        "Results are cached for an hour per parsed query, filters, sort, page and size; an "
        "import makes cached results unreachable. A search that RediSearch answers with an "
        "error is a 400 with the engine's reason; a missing index (after a FLUSHDB) is a "
        "503.",
        parameters,
        _responses(
            _ref("SearchResult"),
            "One page of results.",
            bad_request="A bad parameter (unknown sort or filter value, a reversed or "
            "out-of-range year or rating range, a page that is not a positive number, a "
            "size not offered, a page past the last one or beyond the browsable results), "
            "or a query RediSearch refused; the reason is in `error`.",
            staff=False,
            outage=outage,
        ),
        staff=False,
    )
    suggest = _operation(
        "suggestTitles",
        "search",
        "Suggest titles for the search box",
        "Up to 5 titles by prefix (FT.SUGGET), then close fuzzy matches, and when neither "
        "finds anything, titles that sound alike (a phonetic index: `tarminator` finds The "
        "Terminator). Fewer than 2 letters suggest nothing. Among titles that match equally "
        "well, better-rated films come first (an unrated film counts as a 5). A text longer "
        "than FT.SUGGET takes (100 characters or 200 UTF-8 bytes) is looked up by its first "
        "99 characters, and only titles starting with all of it are suggested. Should "
        "RediSearch answer a lookup with an error, the suggestions found before it are "
        "returned. Public.",
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
    previous = (
        "The same figure over the period of the same length before; null when that period "
        "lies beyond the retention or holds nothing."
    )
    return {
        "PageViews": _object(
            {
                **window,
                **bucket,
                "total": {**COUNT, "description": "Page views in the range."},
                "previous_total": _nullable({**COUNT, "description": previous}),
                "change_pct": change,
                "unique_visitors": {
                    **COUNT,
                    "description": "Distinct visitors (one seen on two days counts twice).",
                },
                "previous_unique_visitors": _nullable({**COUNT, "description": previous}),
                "unique_visitors_change_pct": change,
                "series": _array(_object({"t": DATE_TIME, "label": STRING, "views": COUNT})),
                "top_pages": _array(_object({"page": STRING, "views": COUNT})),
            }
        ),
        "SearchActivities": _object(
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
                "previous_total_searches": _nullable({**COUNT, "description": previous}),
                "change_pct": change,
                "zero_result_searches": COUNT,
                "zero_result_rate": _nullable(
                    {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 100,
                        "description": "Percent of the searches that found nothing.",
                    }
                ),
                "previous_zero_result_rate": _nullable(
                    {"type": "number", "minimum": 0, "maximum": 100}
                ),
                "zero_result_rate_change": _nullable(
                    {"type": "number", "description": "In percentage points."}
                ),
                "average_result_count": _nullable({"type": "number", "minimum": 0}),
                "average_response_ms": _nullable(
                    {
                        "type": "number",
                        "minimum": 0,
                        "description": "The server's mean search time over the range, at "
                        "most its last 7 days (the response-time series' retention).",
                    }
                ),
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
                    },
                    "The calendar month so far (UTC), whatever the range.",
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
            f"{summary} over a range. Staff only. {ANALYTICS_NOTES[operation_id]} "
            + ANALYTICS_RANGE_NOTE,
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
    system = list(SYSTEM_SERIES)
    series = _array(_nullable(NUMBER), "One value per bucket; null where nothing was recorded.")
    grid = {
        "range": {"type": "string", "enum": list(WINDOWS)},
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
                    "id": {
                        **STRING,
                        "description": "Acknowledge with POST "
                        "/operations/alerts/<id>/acknowledge (staff, CSRF).",
                    },
                    "type": {"type": "string", "enum": list(RULES), "description": "The rule."},
                    "message": STRING,
                    "timestamp": {**DATE_TIME, "description": "When the alert fired."},
                    "timestamp_ms": INTEGER,
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "value": {**number_or_null, "description": "The value that moved the alert."},
                    "threshold": NUMBER,
                    "state": {
                        "type": "string",
                        "enum": ["active", "acknowledged", "resolved"],
                        "description": "An acknowledged alert is still active; it resolves "
                        "once the value is below the threshold minus the hysteresis.",
                    },
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
                "history": _array(
                    _ref("Alert"),
                    "Every transition, newest first; entries are kept 90 days, at most 1000.",
                ),
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
                            "duration_seconds": {
                                "type": "integer",
                                "minimum": 1,
                                "description": "How long the value must hold at or above "
                                "the threshold before the alert fires.",
                            },
                            "hysteresis": {"type": "number", "minimum": 0},
                            "resolves_below": {
                                **NUMBER,
                                "description": "The threshold minus the hysteresis.",
                            },
                            "severity": {"type": "string", "enum": list(SEVERITIES)},
                            "enabled": BOOLEAN,
                        }
                    )
                ),
                "updated_at": _nullable(STRING),
                "source": {
                    "type": "string",
                    "enum": ["operations:configuration", "defaults"],
                    "description": "Where the rules in force were read: the Redis hash the "
                    "admin writes, or the built-in defaults.",
                },
                "admin_url": {**STRING, "description": "Where staff edit the thresholds."},
                "collector": _object(
                    {"last_pass": _nullable(DATE_TIME), "last_duration_ms": number_or_null}
                ),
            }
        ),
    }


# What each operations operation's description adds to its summary.
OPERATIONS_NOTES = {
    "operationsSystemMetrics": "Written by the collector at every pass; `1h` is per minute, "
    "`24h` per 5 minutes and `7d` per hour. Redis memory is used_memory against maxmemory "
    "(the machine's RAM without one); ops/s is the commands processed between two passes.",
    "operationsPerformanceMetrics": "From the request-metrics middleware (every request "
    "but /static/): the request rate and 5xx share per bucket, and the p50/p95/p99 "
    "latency of each minute's t-digest.",
    "operationsAlerts": "An alert fires when its value has held at or above the threshold "
    "for the hold time, is not repeated while active, and resolves below the threshold "
    "minus the hysteresis; the first acknowledgement wins.",
    "operationsRedisInfo": "The search store's server, from INFO; `keys_per_store` "
    "counts every store.",
    "operationsConfiguration": "The thresholds are edited in the admin; a change applies "
    "from the collector's next pass.",
}


def _operations_paths():
    window = _query(
        "range",
        {
            "type": "string",
            "enum": list(WINDOWS),
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
            f"{summary}. Staff only. {OPERATIONS_NOTES[operation_id]}",
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
            'only). Every API answers JSON, errors included: `{"error": "<reason>"}`. '
            "A bad parameter is a 400, a staff API without a staff session a 401 (not logged "
            "in) or 403 (not staff), and Redis being down a 503. Outside this document: "
            "`GET /health/redis` (200 or 503, every store's status) and `GET /metrics` "
            "(Prometheus text; loopback, a bearer token or a staff session).",
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
