"""Searching: request parameters -> results, facets, suggestions; with caching.

Views stay thin and call these functions; tests call them directly too.
"""

import hashlib
import json
import logging
import math
import re
import time
from dataclasses import asdict, dataclass, field, replace

import redis
from django.core.cache import cache

from config.middleware import is_redis_outage
from config.redis_stores import get_redis
from search import store
from search.highlight import Highlighter, damerau_levenshtein
from search.query import (
    MAX_QUERY_CHARS,
    MAX_WORDS,
    TYPO_FALLBACK_BELOW,
    InvalidSearch,
    allowed_typos,
    build_query,
    clean_text,
    longest_names,
    parse_text,
    person_keys,
    person_query,
    suggestion_query,
    title_keys,
    words_of,
)

logger = logging.getLogger(__name__)

SORTS = {
    "relevance": (None, True, "Relevance"),
    "year_desc": ("year", False, "Newest first"),
    "year_asc": ("year", True, "Oldest first"),
    "rating_desc": ("rating", False, "Highest rated"),
    "rating_asc": ("rating", True, "Lowest rated"),
    "title_asc": ("title", True, "Title A–Z"),
    "title_desc": ("title", False, "Title Z–A"),
}
# Equal values are ordered by these next, so a page holds the same films every time
# (RediSearch alone orders them by internal document ids, which an upsert changes).
SORT_TIE_BREAKERS = {
    "year": (("title", True),),
    "rating": (("year", False), ("title", True)),
    "title": (("year", False),),
}
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
# RediSearch answers at most MAXSEARCHRESULTS (10,000, set by the launcher) per query.
MAX_RESULT_WINDOW = 10_000
FACET_LABELS = {"genre": "Genre", "subgenre": "Subgenre", "language": "Language",
                "country": "Country"}  # fmt: skip
RANGE_FIELDS = {"year": (1870, 2100), "rating": (0, 10)}
SEARCH_CACHE_TTL = 3600
EXACT_TIER_MAX = 50
# Grouping costs ~15 µs per match at a million movies; 500 keeps a share of 20 % within
# about ±9 % (one standard deviation) and took 14 % off the median search against 1,000.
FACET_SAMPLE = 500
FILTER_CACHE_TTL = 1800
FILTER_LOCK_TTL = 60  # the longest the whole-catalogue counts may take
FILTER_WAIT_SECONDS = 10
MAX_FILTER_VALUES = 20
RETURN_FIELDS = ("title", "year", "genre", "subgenre", "rating", "language", "country",
                 "director", "cast", "plot")  # fmt: skip


@dataclass
class SearchParams:
    q: str = ""
    filters: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self):
        return (self.page - 1) * self.size

    @property
    def is_browse_all(self):
        """No text and no filter: the whole catalogue (its facets come from the cache)."""
        return (
            parse_text(self.q).empty
            and not any(self.filters.values())
            and not any(v != (None, None) for v in self.ranges.values())
        )

    def cache_fingerprint(self):
        """A hash of what decides the answer: the parsed text (its words, phrases and
        whether the last word is a prefix), filters, ranges, sort, page and size. Never
        the text itself, cleaned or not: "kidnapp " and "kidnapp" clean alike, yet only
        the second completes the word."""
        data = {
            "text": asdict(parse_text(self.q)),
            "filters": {k: sorted(v) for k, v in sorted(self.filters.items()) if v},
            "ranges": {k: list(v) for k, v in sorted(self.ranges.items())},
            "sort": self.sort,
            "page": self.page,
            "size": self.size,
        }
        return hashlib.sha1(json.dumps(data, sort_keys=True).encode(), usedforsecurity=False)


def _number(raw, name, low, high, integer):
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise InvalidSearch(f"{name} must be a number, not {str(raw)[:20]!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise InvalidSearch(f"{name} must be a finite number")
    if integer and not value.is_integer():
        raise InvalidSearch(f"{name} must be a whole number")
    if not low <= value <= high:
        raise InvalidSearch(f"{name} must be between {low} and {high}")
    return int(value) if integer else value


def default_sort(q, filter_options):
    """The order when the visitor has chosen none: relevance for a search; without
    words, what a visitor recognises first: the highest rated when the catalogue has
    ratings, else the newest (not index order, the silent shorts of 1900)."""
    if words_of(q):
        return "relevance"
    has_ratings = filter_options.get("has_ratings")
    if has_ratings is None:  # options cached before they said so
        has_ratings = store.has_ratings()
    return "rating_desc" if has_ratings else "year_desc"


def parse_params(query_dict, filter_options):
    """Validate request parameters into SearchParams; InvalidSearch says what is wrong.
    `filter_options` (from `filter_options()`) lists the values each facet can take."""
    params = SearchParams()
    params.q = (query_dict.get("q") or "")[:2000]
    for facet in FACET_LABELS:
        raw_values = [v for v in query_dict.getlist(facet) if v.strip()][:MAX_FILTER_VALUES]
        known = {value.lower(): value for value, _ in filter_options["facets"].get(facet, [])}
        chosen = []
        for raw in raw_values:
            canonical = known.get(raw.strip().lower())
            if canonical is None:
                raise InvalidSearch(f"unknown {facet} {raw.strip()[:60]!r}")
            if canonical not in chosen:
                chosen.append(canonical)
        params.filters[facet] = chosen
    for name, (low, high) in RANGE_FIELDS.items():
        integer = name == "year"
        lower = _number(query_dict.get(f"{name}_min"), f"{name}_min", low, high, integer)
        upper = _number(query_dict.get(f"{name}_max"), f"{name}_max", low, high, integer)
        if lower is not None and upper is not None and lower > upper:
            raise InvalidSearch(f"{name} range is reversed ({lower} > {upper})")
        params.ranges[name] = (lower, upper)
    sort = query_dict.get("sort") or ""
    if sort and sort not in SORTS:
        raise InvalidSearch(f"unknown sort {sort[:30]!r}; use one of {', '.join(SORTS)}")
    # Without words every film is equally relevant: "relevance" means the default order.
    if not sort or (sort == "relevance" and not words_of(params.q)):
        sort = default_sort(params.q, filter_options)
    params.sort = sort
    page = (query_dict.get("page") or "1").strip()
    if not re.fullmatch(r"[0-9]{1,9}", page) or int(page) < 1:
        raise InvalidSearch("page must be a positive whole number")
    params.page = int(page)
    size = (query_dict.get("size") or str(DEFAULT_PAGE_SIZE)).strip()
    if not re.fullmatch(r"[0-9]{1,4}", size) or int(size) not in PAGE_SIZES:
        raise InvalidSearch(f"size must be one of {', '.join(map(str, PAGE_SIZES))}")
    params.size = int(size)
    if params.offset >= MAX_RESULT_WINDOW:
        raise InvalidSearch(
            f"only the first {MAX_RESULT_WINDOW:,} results can be browsed; narrow the search "
            "with filters or a more precise query"
        )
    return params


# --- caching -------------------------------------------------------------------------


def _cache_get(key):
    try:
        return cache.get(key)
    except Exception as exc:  # a cache outage must never break searching
        logger.warning("search cache unavailable: %s", exc)
        return None


def _cache_set(key, value, ttl):
    try:
        cache.set(key, value, ttl)
    except Exception as exc:
        logger.warning("search cache unavailable: %s", exc)


def search_cache_key(params, generation):
    return f"search_cache:{generation}:{params.cache_fingerprint().hexdigest()}"


def filter_cache_key(generation):
    """The whole-catalogue options as the pages use them (counts and the year range)."""
    return f"filter_cache:{generation}:options"


FILTER_GENRES_KEY = "filter_cache:genres"
FILTER_YEARS_KEY = "filter_cache:years"


# --- filter options ------------------------------------------------------------------


def _cache_add(key, value, ttl):
    """Set `key` unless it exists (SET NX); True when it was set, or the cache is down."""
    try:
        return cache.add(key, value, ttl)
    except Exception as exc:
        logger.warning("search cache unavailable: %s", exc)
        return True


def _cache_delete(key):
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("search cache unavailable: %s", exc)


def _wait_for_cache(key, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cached = _cache_get(key)
        if cached is not None:
            return cached
    return None


def filter_options():
    """Every facet value with its count over the whole catalogue, and the year range;
    cached (filter_cache, 30 min) because a match-all aggregation over a million movies
    takes seconds. Only one request at a time computes them: when the cache expires
    under load, the others wait for its result instead of all running the same
    aggregations on Redis's one thread (the load test saw that pile up)."""
    generation = store.generation()
    key = filter_cache_key(generation)
    cached = _cache_get(key)
    if cached is not None:
        return dict(cached, generation=generation)
    lock = f"{key}:computing"
    computing_here = _cache_add(lock, 1, FILTER_LOCK_TTL)
    if not computing_here:
        cached = _wait_for_cache(key, FILTER_WAIT_SECONDS)
        if cached is not None:
            return dict(cached, generation=generation)
    try:
        return dict(_compute_filter_options(key), generation=generation)
    except redis.ResponseError as exc:
        raise _refused(exc, "(the filter counts)") from exc
    finally:
        if computing_here:
            _cache_delete(lock)


def _compute_filter_options(key):
    counts = store.facet_counts(
        {facet: ("*", {}) for facet in FACET_LABELS}, timeout_ms=store.UNLIMITED
    )
    facets = {field: count.rows for field, count in counts.items()}
    years = store.movie_years()
    options = {
        "facets": facets,
        "years": (years[0], years[-1]) if years else (None, None),
        "has_ratings": store.has_ratings(),
    }
    _cache_set(key, options, FILTER_CACHE_TTL)
    _publish_filter_lists([value for value, _ in facets["genre"]], years)
    return options


def _publish_filter_lists(genres, years):
    """`filter_cache:genres` (most films first) and `filter_cache:years` (ascending) as
    JSON lists under exactly those names, for readers outside Django (its cache would
    store them as ":1:<key>", pickled). Rewritten at every computation, so after an import
    they hold the new catalogue's values once its options are computed."""
    try:
        pipe = get_redis("cache").pipeline(transaction=True)
        pipe.set(FILTER_GENRES_KEY, json.dumps(genres, ensure_ascii=False), ex=FILTER_CACHE_TTL)
        pipe.set(FILTER_YEARS_KEY, json.dumps(years), ex=FILTER_CACHE_TTL)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("search cache unavailable: %s", exc)


# --- searching -----------------------------------------------------------------------


def facets_for(params, text_query, total, known=None):
    """Counts per facet value under the current query, and whether they are exact.
    Each facet is counted with every filter except its own (OR within a facet, AND
    across facets), as in Algolia. Grouping costs time per matching movie, so at most
    FACET_SAMPLE matches are grouped; beyond that the counts are scaled up from that
    sample and marked approximate (Algolia's "exhaustiveFacetsCount": false).
    `known` holds facets already counted (from the page itself)."""
    known = known or {}
    requests = {}
    for facet in FACET_LABELS:
        if facet in known:
            continue
        built = build_query(
            text_query, params.filters, params.ranges, exclude_facet=facet, ranking=False
        )
        requests[facet] = (built.query, built.params)
    counts = store.facet_counts(requests, sample=FACET_SAMPLE) if requests else {}
    saturated = [f for f, c in counts.items() if c.grouped >= FACET_SAMPLE]
    # A facet without a filter of its own matches what the search matched.
    own_filter = [f for f in saturated if params.filters.get(f)]
    totals = dict(zip(own_filter, store.count_matches([requests[f] for f in own_filter]),
                      strict=True))  # fmt: skip
    facets = dict(known)
    for facet, count in counts.items():
        if facet in saturated:
            scale = totals.get(facet, total) / count.grouped
            facets[facet] = [(value, round(n * scale)) for value, n in count.rows]
        else:
            facets[facet] = count.rows
    return {f: facets[f] for f in FACET_LABELS}, not saturated


def facets_from_page(params, docs):
    """When every match is on this page, the facets without a filter of their own are
    counted from the page itself: no aggregation needed."""
    known = {}
    for facet in FACET_LABELS:
        if params.filters.get(facet):
            continue
        counter = {}
        for doc in docs:
            for value in store.tag_values(facet, doc.get(facet)):
                counter[value] = counter.get(value, 0) + 1
        known[facet] = store.by_count(counter)
    return known


def _movie(data, movie_id):
    """A movie hash (or the fields an FT.SEARCH returned) as the pages and API show it."""
    return {
        "id": str(movie_id),
        "title": data.get("title", ""),
        "year": int(data["year"]) if data.get("year") else None,
        "genre": data.get("genre"),
        "subgenres": store.tag_values("subgenre", data.get("subgenre")),
        "rating": float(data["rating"]) if data.get("rating") else None,
        "language": data.get("language"),
        "country": data.get("country"),
        "director": data.get("director"),
        "cast": data["cast"].split(store.TAG_SEPARATOR) if data.get("cast") else [],
        "plot": data.get("plot") or "",
    }


def _movie_summary(doc):
    movie = _movie(doc, doc["key"].removeprefix(store.movie_prefix()))
    movie["cast"] = movie["cast"][:6]  # a result shows the leading names only
    return movie


class SearchRefused(InvalidSearch):
    """RediSearch answered a search with an error: the user gets the reason (HTTP 400)."""


def _refused(exc, text):
    """The error to raise for a Redis error reply: an outage stays itself (a 503 from
    the outage middleware); anything else is a SearchRefused with the engine's reason."""
    if is_redis_outage(exc):
        return exc
    logger.warning("RediSearch refused %r: %s", text[:100], exc)
    return SearchRefused(
        f"the search engine could not run this search ({str(exc)[:120]}); "
        "try fewer or shorter words"
    )


def run_search(params, generation=None):
    """Search with the cache in front. Returns the plan's shape plus page details:
    {"movies", "totalCount", "facets", "took_ms", "page", "pages", "size", "cached"}.
    `generation` is the index generation when the caller has just read it."""
    started = time.perf_counter()
    if generation is None:
        generation = store.generation()
    key = search_cache_key(params, generation)
    result = _cache_get(key)
    cached = result is not None
    if result is None:
        try:
            result = _search_live(params)
        except redis.ResponseError as exc:
            raise _refused(exc, params.q) from exc
        _cache_set(key, result, SEARCH_CACHE_TTL)
    result = dict(result)
    result["cached"] = cached
    result["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _title_match_rank(text, title):
    """How closely a title is the typed text: 0 the whole title as typed (article
    included), 1 the whole title without its leading article, 2 a title that starts with
    the text as typed, 3 one that starts with it after its article."""
    keys = title_keys(title)
    if not keys:
        return 3
    if keys[0] == text:
        return 0
    if text in keys:
        return 1
    return 2 if keys[0].startswith(text) else 3


def _title_tier_order(built, docs):
    """The whole title as typed first ("Scenic Route" before "The Scenic Route"), then
    the whole title ignoring its article, then (while typing) the titles that start with
    the text; each group in the engine's relevance order (the sort is stable)."""
    return sorted(docs, key=lambda doc: _title_match_rank(built.title_text, doc.get("title", "")))


def _title_tier(built):
    """The films whose whole title is the query (or, while the last word is typed,
    starts with it), ordered, when at most EXACT_TIER_MAX titles do; else []."""
    tiers = [(built.title_prefix_query, built.title_prefix_ranked_query),
             (built.exact_title_query, None)]  # fmt: skip
    for tier_query, ranked_query in tiers:
        if tier_query is None:
            continue
        # Keys first: a tier too large to use costs no document loads.
        tier_total, tier_keys = store.ft_search_keys(
            tier_query, built.exact_title_params, limit=EXACT_TIER_MAX
        )
        if not tier_keys:
            break  # no title starts with the text, so none is the text either
        # More than that is too common to be "the" title: try the whole title alone, then
        # rank as usual.
        if tier_total <= EXACT_TIER_MAX:
            if ranked_query is not None and tier_total > 1:
                _, tier_docs = store.ft_search(
                    ranked_query, built.exact_title_params, offset=0, limit=EXACT_TIER_MAX,
                    return_fields=RETURN_FIELDS,
                )  # fmt: skip
            else:
                tier_docs = store.docs_by_keys(tier_keys, RETURN_FIELDS)
            return _title_tier_order(built, tier_docs)
    return []


def _films_of_people(built, names, taken):
    """(films, the names that matched): the matches of `built` that the people with these
    full names directed, then those they act in, each by relevance, at most
    EXACT_TIER_MAX, less the keys in `taken`."""
    films, seen, matched = [], set(taken), set()
    for role in ("director", "cast"):
        if len(films) >= EXACT_TIER_MAX:
            break
        query, query_params = person_query(built, f"{role}_key", names)
        _, docs = store.ft_search(
            query, query_params, offset=0, limit=EXACT_TIER_MAX, return_fields=RETURN_FIELDS
        )
        for doc in docs:
            credits = (doc.get(role) or "").split(store.TAG_SEPARATOR)
            matched.update(set(names) & set(person_keys(credits)))
            if doc["key"] not in seen:
                seen.add(doc["key"])
                films.append(doc)
    return films[:EXACT_TIER_MAX], matched


def _person_tier(built, taken):
    """The films of the people whose full name the query holds as a run of words
    ("jim sheridan", "william desmond taylor"): those they directed, then those they
    act in, less the keys in `taken`. Each lookup is a tag within the query's own
    matches, so it costs little."""
    if not built.person_names:
        return []
    films, matched = _films_of_people(built, built.person_names, taken)
    longest = longest_names(sorted(matched))
    if len(longest) < len(matched):  # a shorter run is someone else: ask for the longest
        films, _ = _films_of_people(built, longest, taken)
    return films


def _ranked_page(built, params):
    """(total, docs) of one page. Sorted by relevance, films whose whole title is the
    query come first (TFIDF alone put "Disco Godfather" above "The Godfather"), and while
    the last word is typed the films whose title starts with the text (a title-prefix
    weight in the query lost to TFIDF's distance penalty); then the films of a person
    the query names in full (TFIDF put films that mention "Sheridan" in their plot
    above Jim Sheridan's); then the rest in ranked order without them; the page window
    runs across all. RediSearch orders ties by its internal document ids, the same for
    every page of the same query."""
    sort_by, ascending, _ = SORTS[params.sort]
    front = _title_tier(built)
    front += _person_tier(built, {doc["key"] for doc in front})
    if front:
        return _page_after_exact_titles(built, params, front)
    if sort_by is None:
        return store.ft_search(
            built.query, built.params, offset=params.offset, limit=params.size,
            return_fields=RETURN_FIELDS,
        )  # fmt: skip
    sort_keys = ((sort_by, ascending), *SORT_TIE_BREAKERS[sort_by])
    return store.ft_sorted(
        built.query, built.params, sort_keys, offset=params.offset, limit=params.size,
        return_fields=RETURN_FIELDS,
    )  # fmt: skip


def _page_after_exact_titles(built, params, exact_docs):
    """The front tiers (titles, then people), then the ranked matches less those films.
    They are dropped here, not left out in the query: a NOT costs a check per match, and
    the ranking must be the same query's on every page, or ties could swap across a page
    boundary."""
    offset, size = params.offset, params.size
    tier = len(exact_docs)
    exact_keys = {doc["key"] for doc in exact_docs}
    page_docs = exact_docs[offset : offset + size]
    wanted = size - len(page_docs)
    rest_offset = max(0, offset - tier)
    if rest_offset == 0:  # the page starts within the first results: one query
        total, docs = store.ft_search(
            built.query, built.params, offset=0, limit=wanted + tier, return_fields=RETURN_FIELDS
        )
        rest = [doc for doc in docs if doc["key"] not in exact_keys][:wanted]
        return max(total, tier), page_docs + rest
    # A later page: the ranked keys up to it, less the exact titles, then its movies.
    limit = min(rest_offset + wanted + tier, MAX_RESULT_WINDOW)
    total, keys = store.ft_search_keys(built.query, built.params, limit=limit)
    rest = [key for key in keys if key not in exact_keys][rest_offset : rest_offset + wanted]
    return max(total, tier), page_docs + store.docs_by_keys(rest, RETURN_FIELDS)


def _ranked_search(params):
    """(text_query, total, docs) of the page. The words as typed are searched first;
    their typo variants only when that finds fewer than TYPO_FALLBACK_BELOW movies
    (like Algolia's typoTolerance "min", with a margin). The choice depends on the
    query and filters alone, so every page and the facets agree on it."""
    text_query = replace(parse_text(params.q), typos=False)
    exact_tier = params.sort == "relevance"
    built = build_query(text_query, params.filters, params.ranges, exact_tier=exact_tier)
    total, docs = _ranked_page(built, params)
    if total < TYPO_FALLBACK_BELOW and text_query.has_typo_variants:
        text_query = replace(text_query, typos=True)
        built = build_query(text_query, params.filters, params.ranges, exact_tier=exact_tier)
        total, docs = _ranked_page(built, params)
    return text_query, total, docs


def _search_live(params):
    text_query, total, docs = _ranked_search(params)
    # The whole catalogue's facets come from the filter cache, never a live aggregation.
    if params.is_browse_all:
        facets, facets_exact = filter_options()["facets"], True
    else:
        whole = params.offset == 0 and total <= len(docs)
        known = facets_from_page(params, docs) if whole else None
        facets, facets_exact = facets_for(params, text_query, total, known)
    did_you_mean = None
    if total == 0 and not text_query.empty:
        did_you_mean = suggest_correction(params, text_query)
    reachable = min(total, MAX_RESULT_WINDOW)
    return {
        "movies": [_movie_summary(doc) for doc in docs],
        "totalCount": total,
        "facets": {f: [{"value": v, "count": c} for v, c in rows] for f, rows in facets.items()},
        "facetsExact": facets_exact,
        "page": params.page,
        "size": params.size,
        "pages": max(1, math.ceil(reachable / params.size)),
        "capped": total > MAX_RESULT_WINDOW,
        "didYouMean": did_you_mean,
        "typosIncluded": text_query.typos,
    }


def suggest_correction(params, text_query):
    """ "Did you mean": each unknown word replaced by its closest FT.SPELLCHECK
    suggestion (fewest edits, then most frequent); offered only if it finds movies."""
    words = list(text_query.all_words)
    suggestions = store.spellcheck(words)
    if not suggestions:
        return None
    corrected = []
    changed = False
    for word in words:
        options = suggestions.get(word)
        if options:
            best = min(options, key=lambda o: (damerau_levenshtein(word, o[0], 3), -o[1]))
            corrected.append(best[0])
            changed = changed or best[0] != word
        else:
            corrected.append(word)
    if not changed:
        return None
    text = " ".join(corrected)
    built = build_query(parse_text(text + " "), params.filters, params.ranges, ranking=False)
    (total,) = store.count_matches([(built.query, built.params)])
    return text if total else None


def highlight_movies(movies, q, typos=True):
    """Add `title_html` and `snippet_html` (escaped, with <mark>) to result dicts; typo
    variants are marked only when the search included them."""
    highlighter = Highlighter(replace(parse_text(q), typos=typos))
    for movie in movies:
        movie["title_html"] = highlighter.mark(movie["title"])
        movie["snippet_html"] = highlighter.snippet(movie["plot"])
    return movies


# --- autocomplete ----------------------------------------------------------------------


def _close_to_prefix(typed, label):
    """True when `label` (or its title without a leading article) starts with `typed`
    give or take the typos allowed for its length: FT.SUGGET FUZZY alone returns
    entries that share little with the input."""
    typed = " ".join(words_of(typed))
    candidates = [" ".join(words_of(label))]
    candidates.append(re.sub(r"^(the|a|an) ", "", candidates[0]))
    typos = max(1, allowed_typos(typed))
    for text in candidates:
        for cut in range(max(1, len(typed) - typos), len(typed) + typos + 1):
            if damerau_levenshtein(typed, text[:cut], typos) <= typos:
                return True
    return False


def _spelling_distance(typed_words, title):
    title_words = words_of(title) or [""]
    return sum(
        min(damerau_levenshtein(word, candidate, 9) for candidate in title_words)
        for word in typed_words
    )


def suggest(q, limit=5):
    """Up to `limit` titles for the search box: FT.SUGGET prefix matches first, then
    FT.SUGGET FUZZY matches that really are close, and when neither finds anything,
    titles that sound alike (the phonetic index): "tarminator" still finds The
    Terminator."""
    text = clean_text(q)[:MAX_QUERY_CHARS]
    if len(text) < 2:
        return []
    seen = set()
    found = []

    def add(movie_id, label):
        if movie_id and movie_id not in seen and len(found) < limit:
            seen.add(movie_id)
            found.append({"id": movie_id, "label": label})

    typed = text.lower()
    try:
        # Text longer than FT.SUGGET takes is looked up by its start: then only the
        # titles that start with all of it count (a few are over 100 characters long).
        cut = store.autocomplete_prefix(typed) != typed
        for string, payload in store.autocomplete(typed, limit=limit, fuzzy=False):
            if not cut or string.lower().startswith(typed):
                add(payload["id"], payload["label"] or string)
        if len(found) < limit and len(text) >= 3:
            for string, payload in store.autocomplete(typed, limit=limit * 2, fuzzy=True):
                if _close_to_prefix(text, string):
                    add(payload["id"], payload["label"] or string)
        if not found:  # sounding alike is the last resort: its search costs the most
            phonetic = suggestion_query(text)
            if phonetic:
                typed_words = words_of(text)[:MAX_WORDS]  # no more than the query has
                docs = store.phonetic_suggestions(phonetic, limit=50)
                # Sounding alike is loose (Double Metaphone): closest spellings first.
                docs.sort(key=lambda d: _spelling_distance(typed_words, d.get("title", "")))
                for doc in docs:
                    year = doc.get("year")
                    title = doc.get("title", "")
                    add(doc.get("movie_id"), f"{title} ({year})" if year else title)
    except redis.ResponseError as exc:  # what was found before the error is still good
        if is_redis_outage(exc):
            raise
        logger.warning("autocomplete of %r degraded: %s", text[:100], exc)
    return found


# --- one movie -------------------------------------------------------------------------


def movie_detail(movie_id):
    data = store.get_movie(movie_id)
    if not data:
        return None
    movie = _movie(data, movie_id)
    movie["wikipedia_url"] = data.get("wikipedia_url")
    movie["created_at"] = int(data["created_at"]) if data.get("created_at") else None
    movie["updated_at"] = int(data["updated_at"]) if data.get("updated_at") else None
    return movie


SIMILAR_ERA_YEARS = 5


def more_like_this(movie, limit=6):
    """Films by the same director that share a genre (sequels, with a title word in
    common, first), then the director's other films, then films of the same era sharing
    its genres."""
    found = []
    seen = {movie["id"]}

    def add(docs):
        for doc in docs:
            movie_id = doc["key"].removeprefix(store.movie_prefix())
            if movie_id not in seen and len(found) < limit:
                seen.add(movie_id)
                found.append({"id": movie_id, "title": doc.get("title", ""),
                              "year": doc.get("year"), "genre": doc.get("genre")})  # fmt: skip

    params = {}
    director = None
    director_words = words_of(movie.get("director") or "")
    if director_words:
        director = f'@director:"{" ".join(director_words)}"'
    genre_clause = None
    genres = [g for g in [movie.get("genre"), *movie.get("subgenres", [])] if g]
    if genres:
        names = []
        for i, genre in enumerate(genres[:5]):
            params[f"g{i}"] = genre
            names.append(f"$g{i}")
        tags = "|".join(names)
        genre_clause = f"(@genre:{{{tags}}} | @subgenre:{{{tags}}})"
    # Optional title words (~) rank sequels and namesakes first without requiring them.
    title_words = [w for w in words_of(movie.get("title") or "") if len(w) >= 4][:5]
    optional = " ".join(f"~@title:{w}" for w in title_words)
    queries = []
    if director and title_words:  # sequels first: same director, a title word in common
        queries.append((f"{director} @title:({'|'.join(title_words)})", {}))
    if director and genre_clause:
        queries.append((f"{director} {genre_clause}", params))
    if director:
        queries.append((director, {}))
    # A director's films are few, so ranking them is cheap.
    for query, query_params in queries:
        query = f"{query} {optional}" if optional else query
        _, docs = store.ft_search(query, query_params, offset=0, limit=limit + 1,
                                  return_fields=("title", "year", "genre"))  # fmt: skip
        add(docs)
        if len(found) >= limit:
            return found
    if genre_clause:
        # A genre holds a quarter of a million films: take the first of the same era
        # unranked rather than score them all.
        query = genre_clause
        if movie.get("year"):
            low, high = movie["year"] - SIMILAR_ERA_YEARS, movie["year"] + SIMILAR_ERA_YEARS
            query = f"{genre_clause} @year:[{low} {high}]"
        add(store.first_matches(query, params, limit=limit + len(found) + 1,
                                fields=("title", "year", "genre")))  # fmt: skip
    return found
