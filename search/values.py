"""The values the search app hands to views and templates: movie cards, facet rows,
search results, suggestions, filter options. Each builds its JSON wire format (the
camelCase shapes of /api/search and /api/search/suggest) in one `to_json`."""

from dataclasses import dataclass
from functools import cached_property

from search.query_store import Document, tag_values
from search.store import TAG_SEPARATOR

# The fields a result card shows, as a query returns them.
RETURN_FIELDS = ("title", "year", "genre", "subgenre", "rating", "language", "country",
                 "director", "cast", "plot")  # fmt: skip
CARD_CAST = 6  # a result shows the leading names only


# Not frozen: a page builds its cards and facet rows on every render (a frozen dataclass
# takes three times as long to create), and marks its matches on the cards.
@dataclass(slots=True)
class MovieCard:
    """A movie as a results page and the API show it."""

    id: str
    title: str
    year: int | None
    genre: str | None
    subgenres: list[str]
    rating: float | None
    language: str | None
    country: str | None
    director: str | None
    cast: list[str]
    plot: str
    # Escaped HTML with <mark>, set by `results.highlight_movies`; never in the JSON.
    title_html: str = ""
    snippet_html: str = ""

    @classmethod
    def from_hash(cls, data: dict[str, str], movie_id: int | str) -> "MovieCard":
        return cls(**_card_fields(data, movie_id))

    @classmethod
    def from_document(cls, doc: Document) -> "MovieCard":
        card = _card_fields(doc.fields, doc.movie_id)
        card["cast"] = card["cast"][:CARD_CAST]
        return cls(**card)

    @classmethod
    def from_json(cls, data: dict) -> "MovieCard":
        return cls(**data)

    def to_json(self) -> dict:
        return {
            "id": self.id, "title": self.title, "year": self.year, "genre": self.genre,
            "subgenres": self.subgenres, "rating": self.rating, "language": self.language,
            "country": self.country, "director": self.director, "cast": self.cast,
            "plot": self.plot,
        }  # fmt: skip


def _card_fields(data: dict[str, str], movie_id: int | str) -> dict:
    return {
        "id": str(movie_id),
        "title": data.get("title", ""),
        "year": int(data["year"]) if data.get("year") else None,
        "genre": data.get("genre"),
        "subgenres": tag_values("subgenre", data.get("subgenre")),
        "rating": float(data["rating"]) if data.get("rating") else None,
        "language": data.get("language"),
        "country": data.get("country"),
        "director": data.get("director"),
        "cast": data["cast"].split(TAG_SEPARATOR) if data.get("cast") else [],
        "plot": data.get("plot") or "",
    }


@dataclass(slots=True)
class MovieDetail(MovieCard):
    """A movie's own page: every credit, its Wikipedia link and its timestamps."""

    wikipedia_url: str | None = None
    created_at: int | None = None
    updated_at: int | None = None

    @classmethod
    def from_hash(cls, data: dict[str, str], movie_id: int | str) -> "MovieDetail":
        return cls(
            **_card_fields(data, movie_id),
            wikipedia_url=data.get("wikipedia_url"),
            created_at=int(data["created_at"]) if data.get("created_at") else None,
            updated_at=int(data["updated_at"]) if data.get("updated_at") else None,
        )


@dataclass(frozen=True)
class SimilarMovie:
    id: str
    title: str
    year: str | None  # as stored
    genre: str | None


@dataclass(slots=True)
class FacetRow:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """One page of a search, held in its cached form (the /api/search answer less
    `took_ms`) and read through typed attributes: a cached answer is served as it was
    stored, and its movies and facet rows become values only when read."""

    cached_form: dict
    cached: bool = False  # this answer came from the cache
    took_ms: float = 0.0  # this answer's server time

    @classmethod
    def of(
        cls,
        *,
        movies: list[MovieCard],
        total_count: int,
        facets: dict[str, list[FacetRow]],
        facets_estimated: list[str],
        page: int,
        size: int,
        pages: int,
        capped: bool,
        did_you_mean: str | None,
        typos_included: bool,
    ) -> "SearchResult":
        return cls({
            "movies": [movie.to_json() for movie in movies],
            "totalCount": total_count,
            "facets": {
                facet: [{"value": row.value, "count": row.count} for row in rows]
                for facet, rows in facets.items()
            },
            "facetsExact": not facets_estimated,
            "facetsEstimated": facets_estimated,
            "page": page,
            "size": size,
            "pages": pages,
            "capped": capped,
            "didYouMean": did_you_mean,
            "typosIncluded": typos_included,
        })  # fmt: skip

    @classmethod
    def from_cache(cls, data: dict) -> "SearchResult":
        return cls(data)

    def to_cache(self) -> dict:
        return self.cached_form

    @cached_property
    def movies(self) -> list[MovieCard]:
        return [MovieCard.from_json(movie) for movie in self.cached_form["movies"]]

    @cached_property
    def facets(self) -> dict[str, list[FacetRow]]:
        return {
            facet: [FacetRow(row["value"], row["count"]) for row in rows]
            for facet, rows in self.cached_form["facets"].items()
        }

    @property
    def total_count(self) -> int:
        return self.cached_form["totalCount"]

    @property
    def facets_exact(self) -> bool:
        return self.cached_form["facetsExact"]

    @property
    def facets_estimated(self) -> list[str]:
        """The facets whose counts are scaled from a sample (entries cached before the
        list: every facet when any was)."""
        form = self.cached_form
        return form.get("facetsEstimated", [] if form["facetsExact"] else list(form["facets"]))

    @property
    def page(self) -> int:
        return self.cached_form["page"]

    @property
    def size(self) -> int:
        return self.cached_form["size"]

    @property
    def pages(self) -> int:
        return self.cached_form["pages"]

    @property
    def capped(self) -> bool:
        return self.cached_form["capped"]

    @property
    def did_you_mean(self) -> str | None:
        return self.cached_form["didYouMean"]

    @property
    def typos_included(self) -> bool:
        return self.cached_form.get("typosIncluded", True)  # entries cached before it

    def to_json(self) -> dict:
        """The /api/search answer."""
        form = self.cached_form
        return {
            "movies": form["movies"],
            "totalCount": form["totalCount"],
            "facets": form["facets"],
            "facetsExact": form["facetsExact"],
            "facetsEstimated": self.facets_estimated,
            "took_ms": self.took_ms,
            "page": form["page"],
            "pages": form["pages"],
            "size": form["size"],
            "capped": form["capped"],
            "didYouMean": form["didYouMean"],
            "typosIncluded": self.typos_included,
        }


@dataclass(frozen=True)
class Suggestion:
    """One title for the search box."""

    id: str
    label: str

    def to_json(self) -> dict:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class FilterOptions:
    """Every facet value with its count over the whole catalogue, the year range, and
    whether any movie is rated; `generation` is the cache generation they belong to."""

    facets: dict[str, list[tuple[str, int]]]
    years: tuple[int | None, int | None]
    has_ratings: bool | None  # None: cached before the options said so
    generation: int = 0

    def to_cache(self) -> dict:
        return {"facets": self.facets, "years": self.years, "has_ratings": self.has_ratings}

    @classmethod
    def from_cache(cls, data: dict, generation: int) -> "FilterOptions":
        return cls(
            facets=data["facets"],
            years=data["years"],
            has_ratings=data.get("has_ratings"),
            generation=generation,
        )
