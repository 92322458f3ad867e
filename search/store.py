"""Thin Redis I/O of the search store (DB 0): the connections, the index schema and its
lifecycle, the cache generation and the movie hashes. The queries a search sends, with
their typed replies, are in search/query_store.py; key names in search/keys.py, query
syntax in search/queries/, ranking policy in search/ranking.py.
"""

import re
import time
from collections.abc import Callable, Iterable, Sequence

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
    movie_key,
    movie_key_pattern,
    movie_prefix,
    versioned_index,
)
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
