"""FT.* command arguments: a query as a value (`FtQuery`) and the argument lists the
store sends. Every query states its dialect and its own timeout, and user values
travel in PARAMS only."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from search import keys
from search.ranking import TIE_BREAKER_FIELD

# RediSearch stops a query after TIMEOUT ms (500 by default) and then silently answers
# with partial results, so every query states its own limit.
QUERY_TIMEOUT_MS = 5000
UNLIMITED = 0  # for the cached whole-catalogue counts, computed once per half hour
# Autocomplete's phonetic fallback runs on a keystroke: a few candidates found in time
# beat all of them late. FT.SPELLCHECK takes no TIMEOUT (2.10 ignores any extra argument).
SUGGEST_TIMEOUT_MS = 500
MAX_FACET_GROUPS = 10_000  # MAXAGGREGATERESULTS
# TFIDF honours field weights (BM25STD in RediSearch 2.10 ignores them); stated, as the
# default changes in Redis 8.
SCORER = "TFIDF"
DIALECT = 2


@dataclass(frozen=True)
class FtQuery:
    """One query of the movie index: its string, its parameters and what to return."""

    query: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)
    offset: int = 0
    limit: int = 10
    return_fields: tuple[str, ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()  # (field, ascending), for an aggregation


def params_args(params: Mapping[str, object]) -> list:
    """`PARAMS n name value …` for a query's parameters (nothing when there are none)."""
    if not params:
        return []
    return ["PARAMS", len(params) * 2, *(item for pair in params.items() for item in pair)]


def tail(params: Mapping[str, object], timeout_ms: int | None = QUERY_TIMEOUT_MS) -> list:
    """What ends every FT.SEARCH and FT.AGGREGATE: PARAMS, TIMEOUT, DIALECT."""
    args = params_args(params)
    if timeout_ms is not None:
        args += ["TIMEOUT", timeout_ms]
    return [*args, "DIALECT", DIALECT]


def load_args(fields: Sequence[str]) -> list:
    return ["LOAD", len(fields) + 1, "@__key", *(f"@{name}" for name in fields)]


def search_args(q: FtQuery) -> list:
    """FT.SEARCH of one ranked page with its fields: the engine's own ranked search,
    which benchmarks compare the product with (ties in document id order)."""
    args = [keys.index_alias(), q.query]
    if q.return_fields:
        args += ["RETURN", len(q.return_fields), *q.return_fields]
    return [*args, "SCORER", SCORER, "LIMIT", q.offset, q.limit, *tail(q.params)]


def ranked_args(q: FtQuery) -> list:
    """FT.AGGREGATE of one page by relevance, ties by movie id, loading the page's rows
    only (LOAD after SORTBY). At 1,000,000 movies it costs Redis no more than the
    FT.SEARCH of the same query (0.86x over the search bench's queries)."""
    return [keys.index_alias(), q.query, "SCORER", SCORER, "ADDSCORES",
            "SORTBY", 4, "@__score", "DESC", f"@{TIE_BREAKER_FIELD}", "ASC",
            "LIMIT", q.offset, q.limit, *load_args(q.return_fields), *tail(q.params)]  # fmt: skip


def sorted_args(q: FtQuery) -> list:
    """FT.AGGREGATE of one page sorted by several keys (FT.SEARCH sorts by one only),
    loading the page's rows only (LOAD after SORTBY)."""
    sortby = []
    for name, ascending in q.sort:
        sortby += [f"@{name}", "ASC" if ascending else "DESC"]
    return [keys.index_alias(), q.query, "SORTBY", len(sortby), *sortby,
            "LIMIT", q.offset, q.limit, *load_args(q.return_fields), *tail(q.params)]  # fmt: skip


def first_matches_args(q: FtQuery) -> list:
    """FT.AGGREGATE of the first `q.limit` matches in index order, unranked: it stops
    after them, where a ranked search over a broad query scores every match first."""
    return [keys.index_alias(), q.query, "LIMIT", 0, q.limit,
            *load_args(q.return_fields), *tail(q.params)]  # fmt: skip


def count_args(query: str, params: Mapping[str, object]) -> list:
    return [keys.index_alias(), query, "LIMIT", 0, 0, *tail(params)]


def any_match_args(query: str, params: Mapping[str, object] | None = None) -> list:
    """FT.AGGREGATE that stops at the first match of `query`."""
    return [keys.index_alias(), query, "LIMIT", 0, 1, *tail(params or {})]


def facet_args(
    fields: Iterable[str],
    query: str,
    params: Mapping[str, object],
    sample: int | None = None,
    timeout_ms: int = QUERY_TIMEOUT_MS,
) -> list:
    """FT.AGGREGATE grouping the matches of `query` by `fields`, straight from their
    sortable values (a multi-valued tag groups by its whole "a|b"); with `sample`, only
    the first `sample` matches are grouped."""
    fields = list(fields)
    args = [keys.index_alias(), query]
    if sample:
        args += ["LIMIT", 0, sample]
    args += ["GROUPBY", len(fields), *(f"@{name}" for name in fields),
             "REDUCE", "COUNT", 0, "AS", "count", "LIMIT", 0, MAX_FACET_GROUPS]  # fmt: skip
    return [*args, *tail(params, timeout_ms)]


def spellcheck_args(terms: Sequence[str], distance: int) -> list:
    return [keys.index_alias(), " ".join(terms), "DISTANCE", distance, "DIALECT", DIALECT]


def phonetic_args(query: str, limit: int) -> list:
    # movie_id: an index an older release built over its suggestion hashes, until reindex.
    return [keys.SUGGESTIONS_INDEX, query, "RETURN", 4, "title", "year", "id", "movie_id",
            "LIMIT", 0, limit, *tail({}, timeout_ms=SUGGEST_TIMEOUT_MS)]  # fmt: skip


# FT.SUGGET refuses a prefix of 100 characters or more ("Invalid query") and one of 200
# UTF-8 bytes or more ("Invalid query length").
SUGGET_MAX_CHARS = 99
SUGGET_MAX_BYTES = 199


def autocomplete_prefix(text: str) -> str:
    """The longest start of `text` that FT.SUGGET accepts."""
    prefix = text[:SUGGET_MAX_CHARS]
    while len(prefix.encode()) > SUGGET_MAX_BYTES:
        prefix = prefix[:-1]
    return prefix


def sugget_args(prefix: str, limit: int, fuzzy: bool) -> list:
    args = [keys.AUTOCOMPLETE_KEY, autocomplete_prefix(prefix)]
    if fuzzy:
        args.append("FUZZY")
    return [*args, "MAX", limit, "WITHPAYLOADS"]
