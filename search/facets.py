"""Facet counts: under the current search (disjunctive, sampled when broad), and over
the whole catalogue (the filter options, cached, computed by one request at a time)."""

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence

import redis

from config.redis_stores import get_redis
from search import cache, keys, query_store, store
from search.errors import refused
from search.params import FACET_LABELS, SearchParams
from search.queries.builder import MATCH_ALL, build_query
from search.queries.ft import UNLIMITED
from search.queries.text import TextQuery
from search.values import FilterOptions

logger = logging.getLogger(__name__)

# Grouping costs time per match, so at most this many are grouped; beyond that the
# counts are scaled up from the sample and marked approximate.
FACET_SAMPLE = 500
# A facet with a filter of its own is scaled by the matches without that filter: from
# the share of the sample the filter keeps when at least this many sampled movies carry
# a selected value (about ±10 %), else counted (one FT.SEARCH over all those matches).
SHARE_ROWS_MIN = 100
FILTER_CACHE_TTL = 1800
COUNT_CACHE_TTL = 3600  # as long as the results (results.SEARCH_CACHE_TTL)
FILTER_LOCK_TTL = 60  # the longest the whole-catalogue counts may take
FILTER_WAIT_SECONDS = 10

Rows = list[tuple[str, int]]


def filter_options() -> FilterOptions:
    """Every facet value with its count over the whole catalogue, and the year range;
    cached (filter_cache, 30 min) because a match-all aggregation over a million movies
    takes seconds. One request at a time computes them; the others wait for its result
    rather than run the same aggregations on Redis's one thread."""
    generation = store.generation()
    key = keys.filter_cache_key(generation)
    cached = cache.get(key)
    if cached is not None:
        return FilterOptions.from_cache(cached, generation)
    lock = keys.filter_lock_key(generation)
    computing_here = cache.add(lock, 1, FILTER_LOCK_TTL)
    if not computing_here:
        cached = cache.wait_for(key, FILTER_WAIT_SECONDS)
        if cached is not None:
            return FilterOptions.from_cache(cached, generation)
    try:
        return FilterOptions.from_cache(_compute_filter_options(key), generation)
    except redis.ResponseError as exc:
        raise refused(exc, "(the filter counts)") from exc
    finally:
        if computing_here:
            cache.delete(lock)


def _compute_filter_options(key: str) -> dict:
    every_movie = {facet: (MATCH_ALL, {}) for facet in FACET_LABELS}
    counts = query_store.facet_counts(every_movie, timeout_ms=UNLIMITED)
    facets = {field: count.rows for field, count in counts.items()}
    years = query_store.movie_years()
    options = {
        "facets": facets,
        "years": (years[0], years[-1]) if years else (None, None),
        "has_ratings": query_store.has_ratings(),
    }
    cache.put(key, options, FILTER_CACHE_TTL)
    _publish_filter_lists([value for value, _ in facets["genre"]], years)
    return options


def _publish_filter_lists(genres: list[str], years: list[int]) -> None:
    """`filter_cache:genres` (most films first) and `filter_cache:years` (ascending) as
    JSON lists under exactly those names, for readers outside Django. Rewritten at every
    computation, so after an import they hold the new catalogue's values."""
    try:
        pipe = get_redis("cache").pipeline(transaction=True)
        genres_json = json.dumps(genres, ensure_ascii=False)
        pipe.set(keys.FILTER_GENRES_KEY, genres_json, ex=FILTER_CACHE_TTL)
        pipe.set(keys.FILTER_YEARS_KEY, json.dumps(years), ex=FILTER_CACHE_TTL)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("search cache unavailable: %s", exc)


def facets_for(
    params: SearchParams,
    text_query: TextQuery,
    total: int,
    known: dict[str, Rows] | None = None,
    generation: int | None = None,
) -> tuple[dict[str, Rows], list[str]]:
    """Counts per facet value under the current query, and the facets whose counts are
    estimated (scaled from a sample), in FACET_LABELS order.
    Each facet is counted with every filter except its own (OR within a facet, AND
    across facets). At most FACET_SAMPLE matches are grouped; beyond that the counts
    are scaled up from that sample and marked approximate. `known` holds facets
    already counted (from the page itself)."""
    known = dict(known or {})
    requests = {}
    for facet in FACET_LABELS:
        if facet in known:
            continue
        built = build_query(
            text_query, params.filters, params.ranges, exclude_facet=facet, ranking=False
        )
        if built.query == MATCH_ALL:  # its own filter is the only one: the catalogue's
            known[facet] = filter_options().facets[facet]
            continue
        requests[facet] = (built.query, built.params)
    counts = query_store.facet_counts(requests, sample=FACET_SAMPLE) if requests else {}
    saturated = [f for f, c in counts.items() if c.grouped >= FACET_SAMPLE]
    # A facet without a filter of its own matches what the search matched; one with a
    # filter is estimated from its share of the sample, or counted when that is small.
    totals = {f: _matches_without_own_filter(f, params.filters[f], counts[f], total)
              for f in saturated if params.filters.get(f)}  # fmt: skip
    uncounted = [f for f, n in totals.items() if n is None]
    counted = cached_counts([requests[f] for f in uncounted], generation)
    totals |= zip(uncounted, counted, strict=True)
    facets = dict(known)
    for facet, count in counts.items():
        if facet in saturated:
            scale = totals.get(facet, total) / count.grouped
            facets[facet] = [(value, round(n * scale)) for value, n in count.rows]
        else:
            facets[facet] = count.rows
    return {f: facets[f] for f in FACET_LABELS}, [f for f in FACET_LABELS if f in saturated]


def remember_total(
    params: SearchParams, text_query: TextQuery, total: int, generation: int
) -> None:
    """Keep a broad search's total as the count of its matches: a filter clicked on it
    next needs exactly that count for the facet of that filter (the matches without
    it), which would otherwise walk every match again."""
    if total < FACET_SAMPLE:  # never scaled from a sample, so never counted
        return
    built = build_query(text_query, params.filters, params.ranges, ranking=False)
    key = keys.count_cache_key(generation, _query_digest(built.query, built.params))
    cache.put(key, total, COUNT_CACHE_TTL)


def cached_counts(
    queries: Sequence[tuple[str, Mapping]], generation: int | None = None
) -> list[int]:
    """The number of matches of each (query, params), kept by generation: counting a
    broad query reads every match (40 ms for a common word at 1,000,000 movies), and
    the visitors clicking filters on one search ask for the same counts."""
    if not queries:
        return []
    if generation is None:
        generation = store.generation()
    cache_keys = [keys.count_cache_key(generation, _query_digest(q, p)) for q, p in queries]
    counts = [cache.get(key) for key in cache_keys]
    missing = [i for i, count in enumerate(counts) if count is None]
    for i, count in zip(
        missing, query_store.count_matches([queries[i] for i in missing]), strict=True
    ):
        counts[i] = count
        cache.put(cache_keys[i], count, COUNT_CACHE_TTL)
    return counts


def _query_digest(query: str, params: Mapping) -> str:
    text = json.dumps([query, sorted(params.items())], ensure_ascii=False)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _matches_without_own_filter(
    facet: str, selected: Sequence[str], sample: query_store.FacetCount, total: int
) -> int | None:
    """The matches of the search less a facet's own filter, from the share of its
    sample that the filter keeps (the search's `total`): None when fewer than
    SHARE_ROWS_MIN sampled movies carry a selected value, or the facet is multi-valued
    (a movie could carry two of them)."""
    if facet in store.MULTI_VALUE_FIELDS:
        return None
    kept = sum(n for value, n in sample.rows if value in selected)
    return round(total * sample.grouped / kept) if kept >= SHARE_ROWS_MIN else None


def facets_from_page(params: SearchParams, docs: Sequence[query_store.Document]) -> dict[str, Rows]:
    """When every match is on this page, the facets without a filter of their own are
    counted from the page itself: no aggregation needed."""
    known = {}
    for facet in FACET_LABELS:
        if params.filters.get(facet):
            continue
        counter = {}
        for doc in docs:
            for value in query_store.tag_values(facet, doc.get(facet)):
                counter[value] = counter.get(value, 0) + 1
        known[facet] = query_store.by_count(counter)
    return known
