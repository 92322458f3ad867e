"""The parts of the search and movie pages that are the same for every visitor, rendered
once and cached by generation (beside the result cache, so a new generation leaves them
behind too): a repeated query costs one cache GET and no template work. What differs per
visitor (navigation, CSRF tokens, messages) is in the page around them, rendered each time.
"""

import hashlib
from dataclasses import asdict, dataclass

from django.template.loader import render_to_string
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from search import cache, keys
from search.params import SearchParams
from search.values import MovieDetail, SearchResult, SimilarMovie

RENDERED_TTL = 3600  # as long as the results they show (results.SEARCH_CACHE_TTL)
RESULTS_TEMPLATE = "search/_results.html"
MOVIE_TEMPLATE = "search/_movie.html"
# Where the server time goes: data is HTML-escaped, so only the template can write a comment.
TOOK_MS_SLOT = "<!--took_ms-->"


def query_digest(query_string: str) -> str:
    """What a rendered fragment is kept by: the query string its links repeat."""
    return hashlib.sha1(query_string.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RenderedResults:
    """One search's results fragment as rendered for everyone, split around its server
    time, with the search it shows (for the form around it and the search's recording)."""

    head: str
    tail: str
    params: SearchParams
    result: SearchResult
    default_sort: str
    years: tuple[int | None, int | None]

    def html(self, took_ms: float) -> SafeString:
        return mark_safe(self.head + localize(took_ms) + self.tail)  # noqa: S308 - rendered

    def to_cache(self) -> dict:
        return {
            "head": self.head, "tail": self.tail, "params": asdict(self.params),
            "result": self.result.to_cache(), "default_sort": self.default_sort,
            "years": self.years,
        }  # fmt: skip

    @classmethod
    def from_cache(cls, data: dict) -> "RenderedResults":
        return cls(
            head=data["head"],
            tail=data["tail"],
            params=SearchParams(**data["params"]),
            result=SearchResult.from_cache(data["result"]),
            default_sort=data["default_sort"],
            years=data["years"],
        )


def render_results(context: dict) -> tuple[str, str]:
    """The results fragment of `context` (a result without an error, which always shows
    its server time) split around that time. Rendered without the request, so nothing of
    the visitor's (user, CSRF token, messages) can end up in what others are served."""
    slot = mark_safe(TOOK_MS_SLOT)  # noqa: S308 - a constant
    head, _, tail = render_to_string(RESULTS_TEMPLATE, {**context, "took_ms": slot}).partition(slot)
    return head, tail


@dataclass(frozen=True)
class RenderedMovie:
    """A movie page's article and "more like this" as rendered for everyone."""

    html: SafeString
    movie: MovieDetail
    similar: list[SimilarMovie]

    def to_cache(self) -> dict:
        return {"html": self.html, "movie": asdict(self.movie),
                "similar": [asdict(m) for m in self.similar]}  # fmt: skip

    @classmethod
    def from_cache(cls, data: dict) -> "RenderedMovie":
        return cls(
            html=mark_safe(data["html"]),  # noqa: S308 - rendered by the template, escaped
            movie=MovieDetail(**data["movie"]),
            similar=[SimilarMovie(**m) for m in data["similar"]],
        )

    @classmethod
    def of(cls, movie: MovieDetail, similar: list[SimilarMovie]) -> "RenderedMovie":
        # Without the request, as the results fragment: nothing of the visitor's in it.
        html = render_to_string(MOVIE_TEMPLATE, {"movie": movie, "similar": similar})
        return cls(html, movie, similar)


def cached_results(generation: int, digest: str) -> RenderedResults | None:
    return _cached(RenderedResults, keys.results_html_key(generation, digest))


def keep_results(generation: int, digest: str, rendered: RenderedResults) -> None:
    cache.put(keys.results_html_key(generation, digest), rendered.to_cache(), RENDERED_TTL)


def cached_movie(generation: int, movie_id: int) -> RenderedMovie | None:
    return _cached(RenderedMovie, keys.movie_html_key(generation, movie_id))


def keep_movie(generation: int, movie_id: int, rendered: RenderedMovie) -> None:
    cache.put(keys.movie_html_key(generation, movie_id), rendered.to_cache(), RENDERED_TTL)


def _cached(kind, key):
    data = cache.get(key)
    if data is None:
        return None
    try:
        return kind.from_cache(data)
    except (KeyError, TypeError):  # kept by an older layout: rendered again
        return None
