"""The "more like this" queries of one movie: by its director (sequels first), then
films of the same era sharing its genres."""

from collections.abc import Sequence
from dataclasses import dataclass

from search.queries.ft import FtQuery
from search.queries.text import person_keys, words_of

SIMILAR_ERA_YEARS = 5
SIMILAR_FIELDS = ("title", "year", "genre")
MAX_SIMILAR_GENRES = 5
MAX_TITLE_WORDS = 5
MAX_DIRECTORS = 3


@dataclass(frozen=True)
class SimilarQueries:
    ranked: tuple[FtQuery, ...]  # a director's films are few, so ranking them is cheap
    # A genre holds a quarter of a million films: the first of the same era, unranked.
    era: FtQuery | None


def similar_queries(
    director: str | None,
    title: str,
    genres: Sequence[str],
    year: int | None,
    limit: int,
) -> SimilarQueries:
    """Films by the same director with a title word in common (sequels), then those
    sharing a genre, then all the director's films; then the same era's genre-mates."""
    # The directors' full names as tags: a phrase over the director text intersects the
    # postings of common first names and surnames (about 3 ms a page at 1,000,000 movies).
    directors = person_keys([director])[:MAX_DIRECTORS] if director else []
    params = {f"d{i}": name for i, name in enumerate(directors)}
    director_clause = None
    if directors:
        director_clause = "@director_key:{" + "|".join(f"${name}" for name in params) + "}"
    genre_clause = None
    if genres:
        names = []
        for i, genre in enumerate(genres[:MAX_SIMILAR_GENRES]):
            params[f"g{i}"] = genre
            names.append(f"$g{i}")
        tags = "|".join(names)
        genre_clause = f"(@genre:{{{tags}}} | @subgenre:{{{tags}}})"
    # Optional title words (~) rank sequels and namesakes first without requiring them.
    title_words = [w for w in words_of(title or "") if len(w) >= 4][:MAX_TITLE_WORDS]
    optional = " ".join(f"~@title:{w}" for w in title_words)
    queries = []
    if director_clause and title_words:
        queries.append(f"{director_clause} @title:({'|'.join(title_words)})")
    if director_clause and genre_clause:
        queries.append(f"{director_clause} {genre_clause}")
    if director_clause:
        queries.append(director_clause)
    ranked = tuple(
        FtQuery(
            f"{query} {optional}" if optional else query,
            params,
            limit=limit + 1,
            return_fields=SIMILAR_FIELDS,
        )
        for query in queries
    )
    era = None
    if genre_clause:
        query = genre_clause
        if year:
            query = f"{genre_clause} @year:[{year - SIMILAR_ERA_YEARS} {year + SIMILAR_ERA_YEARS}]"
        era = FtQuery(query, params, return_fields=SIMILAR_FIELDS)
    return SimilarQueries(ranked=ranked, era=era)
