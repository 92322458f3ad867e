"""The name of every Redis key and index the search app owns, one function each.

Search store (DB 0): `movie:<id>` hashes (prefix REDISEARCH_PREFIX) indexed by the
alias `movies_index` of a versioned index `movies_index_v<n>` and, title only, by the
phonetic `movies_suggestions`; the FT.SUGADD dictionary `movies:autocomplete`; the
cache generation `search:generation`; the Redis function library `movies`. Releases
before upsert v6 also wrote `suggestion:<id>` hashes: `create_index --reindex` removes them.
Cache store: `search_cache:<generation>:<hash>` (Django's cache), the rendered pages
`search_cache:<generation>:html:<hash>`, `search_cache:<generation>:movie:<id>` (and its
`:movie-seen:<id>` marker), the
suggestions `search_cache:<generation>:suggest:<hash>`,
and `filter_cache:*`.
"""

from django.conf import settings

SUGGESTIONS_INDEX = "movies_suggestions"
LEGACY_SUGGESTION_PREFIX = "suggestion:"
AUTOCOMPLETE_KEY = "movies:autocomplete"
GENERATION_KEY = "search:generation"
# Plain JSON lists for readers outside Django (its cache would prefix and pickle them).
FILTER_GENRES_KEY = "filter_cache:genres"
FILTER_YEARS_KEY = "filter_cache:years"
UPSERT_LIBRARY = "movies"
UPSERT_FUNCTION = "movie_upsert"
ADOPT_FUNCTION = "movie_adopt_suggestion"  # moves a legacy suggestion hash's strings


def index_alias() -> str:
    """The alias every query goes through; it points at the live versioned index."""
    return settings.REDISEARCH_INDEX_NAME


def versioned_index(version: int) -> str:
    return f"{index_alias()}_v{version}"


def movie_prefix() -> str:
    return settings.REDISEARCH_PREFIX


def movie_key(movie_id: int | str) -> str:
    return f"{movie_prefix()}{movie_id}"


def movie_id_of(key: str) -> str:
    """The movie id of a `movie:<id>` key (an FT.SEARCH document id)."""
    return key.removeprefix(movie_prefix())


def legacy_suggestion_key(movie_id: int | str) -> str:
    """A movie's suggestion hash as releases before upsert v6 wrote it."""
    return f"{LEGACY_SUGGESTION_PREFIX}{movie_id}"


def movie_key_pattern() -> str:
    """SCAN MATCH pattern of every movie hash."""
    return f"{movie_prefix()}*"


def legacy_suggestion_key_pattern() -> str:
    return f"{LEGACY_SUGGESTION_PREFIX}*"


def upsert_version_function(version: str) -> str:
    """The no-op function whose presence says which upsert version is loaded."""
    return f"{UPSERT_FUNCTION}_v{version}"


def search_cache_key(generation: int, fingerprint: str) -> str:
    return f"search_cache:{generation}:{fingerprint}"


def results_html_key(generation: int, query_digest: str) -> str:
    """A rendered results fragment, by a hash of the query string it was rendered for;
    in the result cache's family, so a new generation leaves it behind too."""
    return f"search_cache:{generation}:html:{query_digest}"


def movie_html_key(generation: int, movie_id: int | str) -> str:
    """A movie page's rendered article and "more like this"."""
    return f"search_cache:{generation}:movie:{movie_id}"


def movie_seen_key(generation: int, movie_id: int | str) -> str:
    """Marks a movie page viewed once: its rendered page is kept from the second view."""
    return f"search_cache:{generation}:movie-seen:{movie_id}"


def count_cache_key(generation: int, digest: str) -> str:
    """The number of matches of one query (a facet's matches without its own filter)."""
    return f"search_cache:{generation}:count:{digest}"


def suggest_cache_key(generation: int, digest: str) -> str:
    """The search box's suggestions for one typed text."""
    return f"search_cache:{generation}:suggest:{digest}"


def filter_cache_key(generation: int) -> str:
    """The whole-catalogue options as the pages use them (counts and the year range)."""
    return f"filter_cache:{generation}:options"


def filter_lock_key(generation: int) -> str:
    """Held by the one request that computes the filter options."""
    return f"{filter_cache_key(generation)}:computing"
