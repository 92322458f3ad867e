"""Search pages and APIs: thin views over search/results.py, suggestions.py and movies.py."""

import logging
import time

import redis
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.middleware import is_redis_outage
from insights.searches import record_search
from search import pages, store
from search.facets import filter_options
from search.movies import more_like_this, movie_detail
from search.pages import RenderedMovie, RenderedResults, query_digest
from search.params import FACET_LABELS, PAGE_SIZES, SearchParams, default_sort, parse_params
from search.queries.text import MAX_QUERY_CHARS, InvalidSearch, normalise_query
from search.ranking import SORTS
from search.results import highlight_movies, run_search
from search.suggestions import cached_suggest
from search.values import FacetRow

logger = logging.getLogger(__name__)


def _annotate(request, params: SearchParams, total_count: int, took_ms: float) -> None:
    """Hand the search to the insights middleware, which records it."""
    if params.q.strip():
        record_search(
            request, query=normalise_query(params.q), result_count=total_count, server_ms=took_ms
        )


def _page_links(params, result, listing):
    """Page numbers around the current one, for the pagination bar; `listing` is the
    request's query string as the links repeat it."""
    current, last = params.page, result.pages
    numbers = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    links = []
    previous = None
    for number in numbers:
        if previous is not None and number - previous > 1:
            links.append({"gap": True})
        query = listing.copy()
        query["page"] = number
        links.append(
            {"number": number, "url": "?" + query.urlencode(), "current": number == current}
        )
        previous = number
    return links


FACET_VALUES_SHOWN = 8  # the rest behind "Show all"


def _facet_groups(params, result):
    """Each facet's values ready to print: the page renders a few dozen of them per
    keystroke, so what the template would compute per value is done here once."""
    estimated_facets = set(result.facets_estimated)
    groups = []
    for facet, label in FACET_LABELS.items():
        estimated = facet in estimated_facets
        selected = params.filters.get(facet, [])
        rows = result.facets.get(facet, [])
        if selected:  # a selected value always shows, even with no match left
            values = {row.value for row in rows}
            rows = rows + [FacetRow(v, 0) for v in selected if v not in values]
        shown = []
        for number, row in enumerate(rows, start=1):
            chosen = row.value in selected
            shown.append({
                "value": row.value,
                "selected": chosen,
                "extra": number > FACET_VALUES_SHOWN and not chosen,
                "input_id": f"f-{facet}-{number}",
                "count_text": f"≈{row.count}" if estimated and row.count else str(row.count),
            })  # fmt: skip
        groups.append({
            "name": facet, "label": label, "values": shown, "estimated": estimated,
            "more": len(shown) if len(shown) > FACET_VALUES_SHOWN else 0,
        })  # fmt: skip
    return groups


def _chosen_sort(query_dict):
    """The request without a `sort` the visitor left as the page showed it: the form
    sends the order it showed by default as `default_sort`, and a sort still equal to it
    was not chosen, so new text gets its own default (relevance) instead."""
    if query_dict.get("sort") and query_dict.get("sort") == query_dict.get("default_sort"):
        query_dict = query_dict.copy()
        query_dict.pop("sort")
    return query_dict


def _listing(query_dict):
    """The request as the results repeat it in their links: without `partial` and
    `record`, which change how it is answered, not what it shows."""
    query = query_dict.copy()
    query.pop("partial", None)
    query.pop("record", None)
    return query


def _server_timing(response: HttpResponse, hit: bool) -> HttpResponse:
    """Says whether the answer came from the cache (load tests count the hit ratio)."""
    response["Server-Timing"] = 'cache;desc="hit"' if hit else 'cache;desc="miss"'
    return response


def _search_context(params, result, listing, options):
    context = {
        "params": params,
        "result": result,
        "movies": highlight_movies(result.movies, params.q, typos=result.typos_included),
        "facet_groups": _facet_groups(params, result),
        "page_links": _page_links(params, result, listing),
        "default_sort": default_sort(params.q, options),
        "first_result": params.offset + 1,
        "last_result": params.offset + len(result.movies),
        "has_filters": any(params.filters.values())
        or any(v != (None, None) for v in params.ranges.values()),
        "took_ms": result.took_ms,
    }
    if params.page > result.pages and result.total_count:
        context["error"] = (
            f"page {params.page} is past the last page ({result.pages}); go back to the first page"
        )
    return context


def _render_search(request, listing):
    """The search rendered now: its fragment to keep, or the error page to answer."""
    partial = request.GET.get("partial") == "1"
    template = "search/_results.html" if partial else "search/search.html"
    context = {"sorts": SORTS, "page_sizes": PAGE_SIZES}
    try:
        options = filter_options()
        context["years"] = options.years
        params = parse_params(_chosen_sort(request.GET), options)
        result = run_search(params, generation=options.generation)
    except InvalidSearch as exc:  # bad input, or a search RediSearch refused
        context.update(error=str(exc), params=SearchParams(q=request.GET.get("q", "")))
        return render(request, template, context, status=400), None
    context.update(_search_context(params, result, listing, options))
    if "error" in context:  # a page past the last: answered, never kept
        if not partial or request.GET.get("record") == "1":
            _annotate(request, params, result.total_count, result.took_ms)
        return render(request, template, context, status=400), None
    rendered = RenderedResults.of(context, took_ms=result.took_ms)
    digest = query_digest(listing.urlencode())
    pages.keep_results(options.generation, digest, rendered, searched_before=result.cached)
    return None, rendered


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    partial = request.GET.get("partial") == "1"
    listing = _listing(request.GET)
    rendered = pages.cached_results(store.generation(), query_digest(listing.urlencode()))
    hit = rendered is not None
    if rendered is None:
        error_page, rendered = _render_search(request, listing)
        if error_page is not None:
            return _server_timing(error_page, hit=False)
        took_ms = rendered.took_ms
    else:
        took_ms = round((time.perf_counter() - started) * 1000, 2)
    if not partial or request.GET.get("record") == "1":
        _annotate(request, rendered.params, rendered.total_count, took_ms)
    if partial:
        return _server_timing(HttpResponse(rendered.html(took_ms)), hit)
    context = {"params": rendered.params, "page_html": rendered.page_html(took_ms)}
    return _server_timing(render(request, "search/search.html", context), hit)


@require_GET
def api_search(request: HttpRequest) -> JsonResponse:
    try:
        options = filter_options()
        params = parse_params(request.GET, options)
        result = run_search(params, generation=options.generation)
    except InvalidSearch as exc:
        return _server_timing(JsonResponse({"error": str(exc)}, status=400), hit=False)
    _annotate(request, params, result.total_count, result.took_ms)
    if params.page > result.pages and result.total_count:
        error = {"error": f"page {params.page} is past the last page ({result.pages})"}
        return _server_timing(JsonResponse(error, status=400), result.cached)
    return _server_timing(JsonResponse(result.to_json()), result.cached)


@require_GET
def api_suggest(request: HttpRequest) -> JsonResponse:
    q = request.GET.get("q", "")
    if len(q) > MAX_QUERY_CHARS:  # the search box's own limit
        return JsonResponse({"error": f"q is longer than {MAX_QUERY_CHARS} characters"}, status=400)
    suggestions, hit = cached_suggest(q)
    return _server_timing(JsonResponse({"suggestions": [s.to_json() for s in suggestions]}), hit)


@require_GET
def movie_page(request: HttpRequest, movie_id: int) -> HttpResponse:
    generation = store.generation()
    rendered = pages.cached_movie(generation, movie_id)
    hit = rendered is not None
    if rendered is None:
        rendered = _render_movie(movie_id, generation)
    context = {"movie": rendered.movie, "similar": rendered.similar, "movie_html": rendered.html}
    return _server_timing(render(request, "search/movie.html", context), hit)


def _render_movie(movie_id, generation):
    """The movie's article rendered now; kept unless "more like this" is missing."""
    movie = movie_detail(movie_id)
    if movie is None:
        raise Http404("no such movie")
    try:
        similar = more_like_this(movie)
    except redis.ResponseError as exc:  # the film is shown; only its neighbours are missing
        if is_redis_outage(exc):
            raise
        logger.warning("more like %s left out: %s", movie_id, exc)
        return RenderedMovie.of(movie, [])
    rendered = RenderedMovie.of(movie, similar)
    pages.keep_movie(generation, movie_id, rendered)
    return rendered
