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
from search.values import MovieDetail, SimilarMovie

RENDERED_TTL = 3600  # as long as the results they show (results.SEARCH_CACHE_TTL)
# A query's first rendering is kept this long only: long enough for the page's own second
# request (record=1 after a second's pause, or Enter), short enough that the one-off
# queries of a long tail do not fill the cache with pages three times their result's size.
FIRST_RENDERING_TTL = 60
RESULTS_TEMPLATE = "search/_results.html"
FORM_TEMPLATE = "search/_search_form.html"
MOVIE_TEMPLATE = "search/_movie.html"
# Where the server time and the results go: data is HTML-escaped, so only the templates
# can write a comment.
TOOK_MS_SLOT = "<!--took_ms-->"
RESULTS_SLOT = "<!--results-->"


def query_digest(query_string: str) -> str:
    """What a rendered fragment is kept by: the query string its links repeat."""
    return hashlib.sha1(query_string.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class RenderedResults:
    """One search's results fragment (split around its server time) and the search form
    around it on the page (split around the fragment), as rendered for everyone, with the
    search they show (for the page's title and the search's recording)."""

    head: str
    tail: str
    form_head: str
    form_tail: str
    params: SearchParams
    total_count: int
    took_ms: float = 0.0  # when rendered now: the search's own time

    @classmethod
    def of(cls, context: dict, took_ms: float) -> "RenderedResults":
        """Rendered from the context of a result without an error (which always shows its
        server time). Without the request, so nothing of the visitor's (user, CSRF token,
        messages) can end up in what others are served."""
        took_slot, results_slot = mark_safe(TOOK_MS_SLOT), mark_safe(RESULTS_SLOT)  # noqa: S308
        fragment = render_to_string(RESULTS_TEMPLATE, {**context, "took_ms": took_slot})
        form = render_to_string(FORM_TEMPLATE, {**context, "results_html": results_slot})
        head, _, tail = fragment.partition(took_slot)
        form_head, _, form_tail = form.partition(results_slot)
        params, total_count = context["params"], context["result"].total_count
        return cls(head, tail, form_head, form_tail, params, total_count, took_ms)

    def html(self, took_ms: float) -> SafeString:
        """The fragment."""
        return mark_safe(self.head + localize(took_ms) + self.tail)  # noqa: S308 - rendered

    def page_html(self, took_ms: float) -> SafeString:
        """The form with the fragment in it: the search page's content."""
        return mark_safe(self.form_head + self.html(took_ms) + self.form_tail)  # noqa: S308

    def to_cache(self) -> dict:
        return {
            "head": self.head, "tail": self.tail, "form_head": self.form_head,
            "form_tail": self.form_tail, "params": asdict(self.params),
            "total_count": self.total_count,
        }  # fmt: skip

    @classmethod
    def from_cache(cls, data: dict) -> "RenderedResults":
        return cls(
            head=data["head"],
            tail=data["tail"],
            form_head=data["form_head"],
            form_tail=data["form_tail"],
            params=SearchParams(**data["params"]),
            total_count=data["total_count"],
        )


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


def keep_results(
    generation: int, digest: str, rendered: RenderedResults, searched_before: bool
) -> None:
    """Kept for a minute after a query's first search, and from its second search on (its
    result was in the cache) for as long as the result."""
    ttl = RENDERED_TTL if searched_before else FIRST_RENDERING_TTL
    cache.put(keys.results_html_key(generation, digest), rendered.to_cache(), ttl)


def cached_movie(generation: int, movie_id: int) -> RenderedMovie | None:
    return _cached(RenderedMovie, keys.movie_html_key(generation, movie_id))


def keep_movie(generation: int, movie_id: int, rendered: RenderedMovie) -> None:
    """Kept from a movie's second view on, as results are: a crawler walking the
    catalogue would otherwise fill the cache with pages seen once (about 5 KB each,
    against a marker of a few bytes), evicting what is read again."""
    if cache.add(keys.movie_seen_key(generation, movie_id), 1, RENDERED_TTL):
        return  # the first view (or the cache is down)
    cache.put(keys.movie_html_key(generation, movie_id), rendered.to_cache(), RENDERED_TTL)


def _cached(kind, key):
    data = cache.get(key)
    if data is None:
        return None
    try:
        return kind.from_cache(data)
    except (KeyError, TypeError):  # kept by an older layout: rendered again
        return None
