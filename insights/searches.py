"""The one way another app hands a search to insights.

A view calls `record_search(request, ...)`; the insights middleware records the search
with the request's page view once the response is known (errors are not counted).
"""

from dataclasses import dataclass

from django.http import HttpRequest

from telemetry.units import HOUR_MS

MAX_QUERY_LENGTH = 200
# Server times above an hour are clock errors, not searches.
MAX_SERVER_MS = HOUR_MS
_REQUEST_ATTRIBUTE = "insights_search"


@dataclass(frozen=True)
class SearchHit:
    """One search as insights counts it: the normalised query, its count and server time."""

    query: str
    result_count: int
    response_ms: float


def search_hit(query: str, result_count: int, server_ms: float) -> SearchHit | None:
    """The SearchHit for these values, or None when they do not describe a search."""
    if not isinstance(query, str):
        return None
    query = " ".join(query.lower().split())[:MAX_QUERY_LENGTH]
    if not query:
        return None  # browsing without a query is not a search
    try:
        result_count = int(result_count)
        server_ms = float(server_ms)
    except (TypeError, ValueError):
        return None
    if result_count < 0 or not 0 <= server_ms < MAX_SERVER_MS:
        return None
    return SearchHit(query=query, result_count=result_count, response_ms=server_ms)


def record_search(request: HttpRequest, *, query: str, result_count: int, server_ms: float) -> None:
    """Count this request as a search for `query` that found `result_count` in `server_ms`."""
    setattr(request, _REQUEST_ATTRIBUTE, search_hit(query, result_count, server_ms))


def recorded_search(request: HttpRequest) -> SearchHit | None:
    """The search `record_search` attached to this request, if any."""
    return getattr(request, _REQUEST_ATTRIBUTE, None)
