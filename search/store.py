"""Thin Redis I/O of the search store (DB 0): the index schema and its lifecycle, movie
hashes, and every FT.* command sent with its reply parsed into typed values. Key names
are in search/keys.py, query syntax in search/queries/, ranking policy in
search/ranking.py.
"""

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import redis
from redis.commands.search.field import NumericField, TagField, TextField
from redis.commands.search.index_definition import IndexDefinition, IndexType

from config.redis_stores import confirm_replicated, get_read_redis, get_redis
from search.keys import (
    AUTOCOMPLETE_KEY,
    GENERATION_KEY,
    SUGGESTIONS_INDEX,
    index_alias,
    legacy_suggestion_key,
    legacy_suggestion_key_pattern,
    movie_id_of,
    movie_key,
    movie_key_pattern,
    movie_prefix,
    versioned_index,
)
from search.queries import ft
from search.queries.ft import QUERY_TIMEOUT_MS, FtQuery
from search.queries.synonyms import SYNONYM_GROUPS
from search.ranking import FIELD_WEIGHTS, TIE_BREAKER_FIELD, autocomplete_strings

TAG_SEPARATOR = "|"
# Fields a movie hash may hold; `title_key`, `director_key` and `cast_key` are derived
# (normalised whole titles and full names, for ranking a typed title or name first).
MOVIE_FIELDS = (
    "id", "title", "title_key", "year", "genre", "subgenre", "rating", "language",
    "country", "plot", "director", "director_key", "cast", "cast_key", "wikipedia_url",
    "created_at", "updated_at",
)  # fmt: skip
MULTI_VALUE_FIELDS = ("subgenre",)
GENERATION_WAIT_MS = 2000


def client() -> redis.Redis:
    """The primary: writes, the index lifecycle and the generation's bumps."""
    return get_redis("search")


def read_client() -> redis.Redis:
    """What searching reads (FT.SEARCH, FT.AGGREGATE, FT.SUGGET, FT.SPELLCHECK, movie
    hashes): a replica when the store has any, which may be a write behind."""
    return get_read_redis("search")


def movie_schema() -> tuple:
    """The movie index: weighted text fields, `|` tag separators, case kept for country
    and language names."""
    w = FIELD_WEIGHTS
    return (
        TextField("title", weight=w["title"], sortable=True),
        TagField("title_key", separator=TAG_SEPARATOR),
        TagField("genre", separator=TAG_SEPARATOR, sortable=True),
        TagField("subgenre", separator=TAG_SEPARATOR, sortable=True),
        NumericField("year", sortable=True),
        NumericField("rating", sortable=True),
        TagField("language", separator=TAG_SEPARATOR, sortable=True, case_sensitive=True),
        TagField("country", separator=TAG_SEPARATOR, sortable=True, case_sensitive=True),
        TextField("plot", weight=w["plot"]),
        TextField("director", weight=w["director"]),
        TagField("director_key", separator=TAG_SEPARATOR),
        TextField("cast", weight=w["cast"]),
        TagField("cast_key", separator=TAG_SEPARATOR),
        # Indexed, never sorted by: a sortable copy would cost about 24 bytes a movie.
        NumericField("created_at"),
        NumericField("updated_at"),
        # Sorted by only, as the last tie breaker of every page (search/ranking.py): about
        # 24 bytes a movie.
        NumericField(TIE_BREAKER_FIELD, sortable=True, no_index=True),
    )


# The product marks matches in Python (search/highlight.py) and never asks for HIGHLIGHT
# or SUMMARIZE, so the byte offsets NOHL leaves out are never read. Term offsets stay:
# quoted phrases and the "sci fi" synonyms are exact-phrase queries.
MOVIE_INDEX_OPTIONS = ("NOHL",)


def suggestion_schema() -> tuple:
    """The phonetic fallback of autocomplete searches the movie hashes' titles (year and
    id are returned from the hash, not indexed). A second index, because a phonetic
    title in the movie index would change what every unscoped search word matches."""
    return (TextField("title", no_stem=True, phonetic_matcher="dm:en"),)


# One text field queried for candidates that are reordered by spelling distance: no
# phrases, highlighting, field masks or term frequencies needed.
SUGGESTION_INDEX_OPTIONS = ("NOOFFSETS", "NOHL", "NOFIELDS", "NOFREQS")


def _create_index(name: str, schema: tuple, prefix: str, options: Sequence[str]) -> None:
    """FT.CREATE with `options` (any of NOOFFSETS, NOHL, NOFIELDS, NOFREQS)."""
    client().ft(name).create_index(
        schema,
        definition=IndexDefinition(prefix=[prefix], index_type=IndexType.HASH),
        stopwords=[],  # STOPWORDS 0: titles like "It" and "Up" must stay findable
        no_term_offsets="NOOFFSETS" in options,
        no_highlight="NOHL" in options,
        no_field_flags="NOFIELDS" in options,
        no_term_frequencies="NOFREQS" in options,
    )


def index_versions() -> list[tuple[int, str]]:
    """The versioned indexes that exist, oldest first, as (version, name)."""
    pattern = re.compile(rf"^{re.escape(index_alias())}_v(\d+)$")
    versions = []
    for name in client().execute_command("FT._LIST"):
        match = pattern.match(name)
        if match:
            versions.append((int(match.group(1)), name))
    return sorted(versions)


def live_index_name() -> str | None:
    """The versioned index the alias points at, or None when there is no alias yet."""
    try:
        return client().ft(index_alias()).info()["index_name"]
    except redis.ResponseError:
        return None


def create_versioned_index(version: int) -> str:
    name = versioned_index(version)
    _create_index(name, movie_schema(), movie_prefix(), MOVIE_INDEX_OPTIONS)
    return name


def wait_until_indexed(
    name: str,
    timeout: float = 3600.0,
    on_progress: Callable[[float, int], None] | None = None,
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = client().ft(name).info()
        percent = float(info.get("percent_indexed", 1))
        if on_progress:
            on_progress(percent, int(info.get("num_docs", 0)))
        if str(info.get("indexing")) in ("0", "False", "false") and percent >= 1.0:
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"index {name} still indexing after {timeout:.0f} s")
        time.sleep(0.2)


def point_alias(name: str) -> None:
    """Point the alias at `name` (FT.ALIASADD the first time, FT.ALIASUPDATE after)."""
    if live_index_name() is None:
        client().ft(name).aliasadd(index_alias())
    else:
        client().ft(name).aliasupdate(index_alias())


def drop_index_keep_documents(name: str) -> None:
    client().ft(name).dropindex(delete_documents=False)


def apply_synonyms(index_name: str) -> None:
    ft = client().ft(index_name)
    for group, terms in SYNONYM_GROUPS.items():
        ft.synupdate(group, True, *terms)  # SKIPINITIALSCAN: applies to new writes too


def synonym_groups(index_name: str | None = None) -> dict:
    return client().ft(index_name or index_alias()).syndump()


def ensure_suggestions_index() -> bool:
    """Create `movies_suggestions` when missing; True when it was created."""
    try:
        client().ft(SUGGESTIONS_INDEX).info()
        return False
    except redis.ResponseError:
        _create_index(SUGGESTIONS_INDEX, suggestion_schema(), movie_prefix(),
                      SUGGESTION_INDEX_OPTIONS)  # fmt: skip
        return True


def rebuild_suggestions_index() -> None:
    """Drop `movies_suggestions` (its documents kept) and create it again with this
    release's schema, over the movie hashes. It answers at once and fills in the
    background; it serves only autocomplete's last-resort phonetic fallback, which finds
    less meanwhile."""
    client().ft(SUGGESTIONS_INDEX).dropindex(delete_documents=False)
    ensure_suggestions_index()


@dataclass(frozen=True)
class IndexInfo:
    index_name: str
    num_docs: int
    indexing: bool
    percent_indexed: float
    inverted_sz_mb: float
    total_index_memory_sz_mb: float
    doc_table_size_mb: float
    sortable_values_size_mb: float
    key_table_size_mb: float


def index_info() -> IndexInfo:
    """The live index's FT.INFO figures."""
    info = client().ft(index_alias()).info()
    return IndexInfo(
        index_name=info["index_name"],
        num_docs=int(info["num_docs"]),
        indexing=str(info.get("indexing")) not in ("0", "False", "false"),
        percent_indexed=float(info.get("percent_indexed", 1)),
        inverted_sz_mb=float(info.get("inverted_sz_mb", 0)),
        total_index_memory_sz_mb=float(info.get("total_index_memory_sz_mb", 0) or 0),
        doc_table_size_mb=float(info.get("doc_table_size_mb", 0)),
        sortable_values_size_mb=float(info.get("sortable_values_size_mb", 0)),
        key_table_size_mb=float(info.get("key_table_size_mb", 0)),
    )


def movie_count() -> int:
    """Documents in the live index; 0 when there is no index yet."""
    try:
        return int(client().ft(index_alias()).info()["num_docs"])
    except redis.ResponseError:
        return 0


# --- cache generation ------------------------------------------------------------


def generation() -> int:
    """The cache generation, read where searches read: a search must not wait on a primary
    that is failing over. A replica a bump behind keeps serving the older generation's
    cached answers for a moment; bump_generation replicates the writes before it first."""
    value = read_client().get(GENERATION_KEY)
    return int(value) if value else 0


def bump_generation() -> int:
    """A new cache generation, once every replica has applied the writes before it (or
    GENERATION_WAIT_MS passed): a search on a replica still a write behind would keep
    the older catalogue's answer under the new generation for an hour."""
    confirm_replicated("search", GENERATION_WAIT_MS)
    return client().incr(GENERATION_KEY)


# --- movies -----------------------------------------------------------------------


def get_movie(movie_id: int | str) -> dict[str, str] | None:
    """A movie hash as stored, or None."""
    data = read_client().hgetall(movie_key(movie_id))
    return data or None


def delete_movies(ids: Iterable[int | str], batch: int = 1000) -> None:
    """Remove the given movies with their autocomplete entries (and the suggestion hashes
    of releases before upsert v6); tests and benchmarks clean up after themselves with it."""
    r = client()
    ids = list(ids)
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        titles = r.pipeline(transaction=False)
        for movie_id in chunk:
            titles.hmget(movie_key(movie_id), "title", "year")
        pipe = r.pipeline(transaction=False)
        for movie_id, (title, year) in zip(chunk, titles.execute(), strict=True):
            if title:
                for string in autocomplete_strings(title, year):
                    pipe.execute_command("FT.SUGDEL", AUTOCOMPLETE_KEY, string)
            pipe.unlink(movie_key(movie_id), legacy_suggestion_key(movie_id))
        pipe.execute()


def delete_all_movies(batch: int = 1000) -> None:
    """Remove every movie, legacy suggestion hash and autocomplete entry (tests and
    `--replace`)."""
    r = client()
    for pattern in (movie_key_pattern(), legacy_suggestion_key_pattern()):
        keys = []
        for key in r.scan_iter(match=pattern, count=batch):
            keys.append(key)
            if len(keys) >= batch:
                r.unlink(*keys)
                keys = []
        if keys:
            r.unlink(*keys)
    r.delete(AUTOCOMPLETE_KEY)


def movie_key_count() -> int:
    """Number of `movie:` keys, by SCAN (for checks that the index agrees with the data)."""
    return sum(1 for _ in client().scan_iter(match=movie_key_pattern(), count=1000))


# --- queries ------------------------------------------------------------------------


def tag_values(field: str, raw: str | None) -> list[str]:
    """The values of one tag field as stored: a multi-valued tag holds "a|b"."""
    if not raw:
        return []
    return raw.split(TAG_SEPARATOR) if field in MULTI_VALUE_FIELDS else [raw]


def by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """[(value, count)] from a {value: count} tally, most frequent first, then by value."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Document:
    """One movie hash as a query returned it: its key and the fields asked for."""

    key: str
    fields: dict[str, str]

    @property
    def movie_id(self) -> str:
        return movie_id_of(self.key)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.fields.get(name, default)


@dataclass(frozen=True)
class Found:
    total: int
    docs: list[Document]


@dataclass(frozen=True)
class FoundKeys:
    total: int
    keys: list[str]


def _pairs(flat: Sequence) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def ft_search(q: FtQuery) -> Found:
    """One ranked page of `q` with its return fields, ties by movie id."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.ranked_args(q))
    return Found(int(raw[0]), _loaded_docs(raw, q.return_fields))


def ft_sorted(q: FtQuery) -> Found:
    """One page of `q` ordered by all of `q.sort` (an aggregation: FT.SEARCH sorts by
    one field only, and ties would fall back to document ids)."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.sorted_args(q))
    return Found(int(raw[0]), _loaded_docs(raw, q.return_fields))


def ft_search_keys(q: FtQuery) -> FoundKeys:
    """The total and the keys of the first `q.limit` ranked matches, without fields."""
    raw = read_client().execute_command(
        "FT.AGGREGATE", *ft.ranked_args(replace(q, offset=0, return_fields=()))
    )
    return FoundKeys(int(raw[0]), [doc.key for doc in _loaded_docs(raw, ())])


def first_matches(q: FtQuery) -> list[Document]:
    """The first `q.limit` matches in index order, unranked."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.first_matches_args(q))
    return _loaded_docs(raw, q.return_fields)


def _loaded_docs(raw: list, fields: Sequence[str]) -> list[Document]:
    """The rows of an FT.AGGREGATE reply that LOADed `@__key` and `fields`."""
    docs = []
    for row in raw[1:]:
        values = _pairs(row)
        key = values.pop("__key")
        docs.append(Document(key, {n: values[n] for n in fields if values.get(n) is not None}))
    return docs


def docs_by_keys(keys: Sequence[str], fields: Sequence[str]) -> list[Document]:
    """The given movie hashes' `fields`; a key deleted meanwhile is skipped."""
    pipe = read_client().pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, *fields)
    docs = []
    for key, values in zip(keys, pipe.execute(), strict=True):
        if any(value is not None for value in values):
            docs.append(Document(key, {n: v for n, v in zip(fields, values, strict=True) if v}))
    return docs


def has_match(query: str, params: Mapping[str, object] | None = None) -> bool:
    """True when `query` matches a movie: an aggregation that stops at the first match,
    where counting a broad query reads every match (30 ms for a common word at 1M)."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.any_match_args(query, params))
    return len(raw) > 1


def has_ratings() -> bool:
    """True when some movie has a rating."""
    return has_match("@rating:[-inf +inf]")


@dataclass(frozen=True)
class FacetCount:
    rows: list[tuple[str, int]]  # by count then value
    grouped: int  # documents grouped, those without the field included


def facet_counts(
    requests: Mapping[str, tuple[str, Mapping]],
    sample: int | None = None,
    timeout_ms: int = QUERY_TIMEOUT_MS,
) -> dict[str, FacetCount]:
    """Count facet values: `requests` maps a facet field to (query, params). Evaluating
    the query is the dear part, so with `sample` the facets that share one query are
    grouped by one aggregation (at most `sample` rows, within MAX_FACET_GROUPS);
    without it each facet groups alone, as combinations over a whole catalogue could
    exceed that limit. The aggregations go in one pipeline."""
    shared = {}
    for field, (query, params) in requests.items():
        key = (query, tuple(sorted(params.items())))
        shared.setdefault(key, (query, params, []))[2].append(field)
    groups = []
    for query, params, fields in shared.values():
        if sample and sample <= ft.MAX_FACET_GROUPS:
            groups.append((query, params, fields))
        else:
            groups.extend((query, params, [field]) for field in fields)
    pipe = read_client().pipeline(transaction=False)
    for query, params, fields in groups:
        pipe.execute_command(
            "FT.AGGREGATE", *ft.facet_args(fields, query, params, sample, timeout_ms)
        )
    counts = {}
    for (_, _, fields), raw in zip(groups, pipe.execute(), strict=True):
        totals = {field: {} for field in fields}
        grouped = 0
        for row in raw[1:]:
            values = _pairs(row)
            count = int(values["count"])
            grouped += count
            # Documents without the field group under None: counted, but no value.
            for field in fields:
                for value in tag_values(field, values.get(field)):
                    totals[field][value] = totals[field].get(value, 0) + count
        for field in fields:
            counts[field] = FacetCount(rows=by_count(totals[field]), grouped=grouped)
    return {field: counts[field] for field in requests}


def count_matches(queries: Iterable[tuple[str, Mapping]]) -> list[int]:
    """Number of matches of each (query, params), pipelined."""
    pipe = read_client().pipeline(transaction=False)
    for query, params in queries:
        pipe.execute_command("FT.SEARCH", *ft.count_args(query, params))
    return [int(raw[0]) for raw in pipe.execute()]


def movie_years() -> list[int]:
    """Every year that has movies, ascending: one grouping over the whole catalogue."""
    raw = read_client().execute_command(
        "FT.AGGREGATE", *ft.facet_args(("year",), "*", {}, timeout_ms=ft.UNLIMITED)
    )
    years = set()
    for row in raw[1:]:
        value = _pairs(row).get("year")
        if value not in (None, ""):  # movies without a year group under null
            years.add(int(float(value)))
    return sorted(years)


def spellcheck(terms: Sequence[str], distance: int = 2) -> dict[str, list[tuple[str, float]]]:
    """FT.SPELLCHECK suggestions per term: {term: [(suggestion, score)]}."""
    if not terms:
        return {}
    raw = read_client().execute_command("FT.SPELLCHECK", *ft.spellcheck_args(terms, distance))
    found = {}
    for entry in raw:
        if len(entry) >= 3 and entry[0] == "TERM":
            found[entry[1]] = [(s, float(score)) for score, s in entry[2]]
    return found


@dataclass(frozen=True)
class Completion:
    """One FT.SUGGET entry: the matched string and its payload's movie id and label."""

    string: str
    movie_id: str
    label: str | None


def autocomplete(prefix: str, limit: int = 5, fuzzy: bool = True) -> list[Completion]:
    """FT.SUGGET entries. A prefix longer than FT.SUGGET takes is looked up by its start
    (`ft.autocomplete_prefix`): the caller checks the rest."""
    raw = read_client().execute_command("FT.SUGGET", *ft.sugget_args(prefix, limit, fuzzy))
    found = []
    for i in range(0, len(raw or []), 2):
        try:
            payload = json.loads(raw[i + 1] or "")
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("id"):
            found.append(Completion(raw[i], str(payload["id"]), payload.get("label")))
    return found


def phonetic_suggestions(query: str, limit: int = 5) -> list[Document]:
    """Movies (title, year, id) whose titles sound like `query`, a phonetic query built
    by search/queries/builder.py."""
    raw = read_client().execute_command("FT.SEARCH", *ft.phonetic_args(query, limit))
    return [Document(raw[i], _pairs(raw[i + 1] or [])) for i in range(1, len(raw), 2)]
