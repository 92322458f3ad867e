"""The values the search app hands to views and templates: movie cards, facet rows,
search results, suggestions, filter options. Each builds its JSON wire format (the
camelCase shapes of /api/search and /api/search/suggest) in one `to_json`."""

from dataclasses import dataclass, replace

from search.store import TAG_SEPARATOR, Document, tag_values

# The fields a result card shows, as a query returns them.
RETURN_FIELDS = ("title", "year", "genre", "subgenre", "rating", "language", "country",
                 "director", "cast", "plot")  # fmt: skip
CARD_CAST = 6  # a result shows the leading names only


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class FacetRow:
    value: str
    count: int


@dataclass(frozen=True)
class SearchResult:
    """One page of a search. `took_ms` and `cached` describe this answer, not the
    search, so they are not cached."""

    movies: list[MovieCard]
    total_count: int
    facets: dict[str, list[FacetRow]]
    facets_exact: bool
    page: int
    size: int
    pages: int
    capped: bool
    did_you_mean: str | None
    typos_included: bool = True
    cached: bool = False
    took_ms: float = 0.0

    def to_cache(self) -> dict:
        """The cached form: the API's shape without this answer's `took_ms`."""
        return {
            "movies": [movie.to_json() for movie in self.movies],
            "totalCount": self.total_count,
            "facets": {
                facet: [{"value": row.value, "count": row.count} for row in rows]
                for facet, rows in self.facets.items()
            },
            "facetsExact": self.facets_exact,
            "page": self.page,
            "size": self.size,
            "pages": self.pages,
            "capped": self.capped,
            "didYouMean": self.did_you_mean,
            "typosIncluded": self.typos_included,
        }

    @classmethod
    def from_cache(cls, data: dict) -> "SearchResult":
        return cls(
            movies=[MovieCard.from_json(movie) for movie in data["movies"]],
            total_count=data["totalCount"],
            facets={
                facet: [FacetRow(row["value"], row["count"]) for row in rows]
                for facet, rows in data["facets"].items()
            },
            facets_exact=data["facetsExact"],
            page=data["page"],
            size=data["size"],
            pages=data["pages"],
            capped=data["capped"],
            did_you_mean=data["didYouMean"],
            typos_included=data.get("typosIncluded", True),  # entries cached before it
        )

    def to_json(self) -> dict:
        """The /api/search answer."""
        cached = self.to_cache()
        return {
            "movies": cached["movies"],
            "totalCount": self.total_count,
            "facets": cached["facets"],
            "facetsExact": self.facets_exact,
            "took_ms": self.took_ms,
            "page": self.page,
            "pages": self.pages,
            "size": self.size,
            "capped": self.capped,
            "didYouMean": self.did_you_mean,
            "typosIncluded": self.typos_included,
        }

    def with_movies(self, movies: list[MovieCard]) -> "SearchResult":
        return replace(self, movies=movies)


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
