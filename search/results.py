"""The search page and API's results: one page of ranked movies with its facets and
its "did you mean", the typo fallback, the result cache, and the marking of matches."""

import math
import time
from dataclasses import replace

import redis

from search import cache, keys, store
from search.errors import refused
from search.facets import facets_for, facets_from_page, filter_options, remember_total
from search.highlight import Highlighter
from search.params import MAX_RESULT_WINDOW, SearchParams
from search.queries.builder import build_query
from search.queries.text import TextQuery, parse_text
from search.query_store import Found
from search.ranking import TYPO_FALLBACK_BELOW
from search.suggestions import suggest_correction
from search.tiers import ranked_page
from search.values import FacetRow, MovieCard, SearchResult

SEARCH_CACHE_TTL = 3600


def search_cache_key(params: SearchParams, generation: int) -> str:
    return keys.search_cache_key(generation, params.cache_fingerprint())


def run_search(params: SearchParams, generation: int | None = None) -> SearchResult:
    """Search with the cache in front. `generation` is the index generation when the
    caller has just read it."""
    started = time.perf_counter()
    if generation is None:
        generation = store.generation()
    key = search_cache_key(params, generation)
    cached = cache.get(key)
    if cached is None:
        try:
            result = search_uncached(params, generation)
        except redis.ResponseError as exc:
            raise refused(exc, params.q) from exc
        cache.put(key, result.to_cache(), SEARCH_CACHE_TTL)
    else:
        result = SearchResult.from_cache(cached)
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return replace(result, cached=cached is not None, took_ms=took_ms)


def ranked_search(params: SearchParams) -> tuple[TextQuery, Found]:
    """The text query searched and the page it found. The words as typed are searched
    first; their typo variants only when that finds fewer than TYPO_FALLBACK_BELOW
    movies. The choice depends on the query and filters alone, so every page and the
    facets agree on it."""
    text_query = replace(parse_text(params.q), typos=False)
    exact_tier = params.sort == "relevance"
    built = build_query(text_query, params.filters, params.ranges, exact_tier=exact_tier)
    found = ranked_page(built, params)
    if found.total < TYPO_FALLBACK_BELOW and text_query.has_typo_variants:
        text_query = replace(text_query, typos=True)
        built = build_query(text_query, params.filters, params.ranges, exact_tier=exact_tier)
        found = ranked_page(built, params)
    return text_query, found


def search_uncached(params: SearchParams, generation: int | None = None) -> SearchResult:
    """One search against Redis, the cache left out. `generation` is the index
    generation when the caller has just read it (the kept counts are by generation)."""
    if generation is None:
        generation = store.generation()
    text_query, found = ranked_search(params)
    total, docs = found.total, found.docs
    remember_total(params, text_query, total, generation)
    # The whole catalogue's facets come from the filter cache, never a live aggregation.
    if params.is_browse_all:
        facets, estimated = filter_options().facets, []
    else:
        whole = params.offset == 0 and total <= len(docs)
        known = facets_from_page(params, docs) if whole else None
        facets, estimated = facets_for(params, text_query, total, known, generation)
    did_you_mean = None
    if total == 0 and not text_query.empty:
        did_you_mean = suggest_correction(params, text_query)
    reachable = min(total, MAX_RESULT_WINDOW)
    return SearchResult.of(
        movies=[MovieCard.from_document(doc) for doc in docs],
        total_count=total,
        facets={f: [FacetRow(v, c) for v, c in rows] for f, rows in facets.items()},
        facets_estimated=estimated,
        page=params.page,
        size=params.size,
        pages=max(1, math.ceil(reachable / params.size)),
        capped=total > MAX_RESULT_WINDOW,
        did_you_mean=did_you_mean,
        typos_included=text_query.typos,
    )


def highlight_movies(movies: list[MovieCard], q: str, typos: bool = True) -> list[MovieCard]:
    """Set the cards' `title_html` and `snippet_html` (escaped, with <mark>) and return
    them; typo variants are marked only when the search included them."""
    highlighter = Highlighter(replace(parse_text(q), typos=typos))
    for movie in movies:
        movie.title_html = highlighter.mark(movie.title)
        movie.snippet_html = highlighter.snippet(movie.plot)
    return movies
