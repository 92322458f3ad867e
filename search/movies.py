"""One movie: its page's details and the films "more like this"."""

from dataclasses import replace

from search import query_store, store
from search.queries.similar import similar_queries
from search.values import MovieDetail, SimilarMovie


def movie_detail(movie_id: int | str) -> MovieDetail | None:
    data = store.get_movie(movie_id)
    if not data:
        return None
    return MovieDetail.from_hash(data, movie_id)


def more_like_this(movie: MovieDetail, limit: int = 6) -> list[SimilarMovie]:
    """Films by the same director that share a genre (sequels, with a title word in
    common, first), then the director's other films, then films of the same era sharing
    its genres."""
    found = []
    seen = {movie.id}

    def add(docs):
        for doc in docs:
            if doc.movie_id not in seen and len(found) < limit:
                seen.add(doc.movie_id)
                found.append(SimilarMovie(doc.movie_id, doc.get("title", ""),
                                          doc.get("year"), doc.get("genre")))  # fmt: skip

    genres = [g for g in [movie.genre, *movie.subgenres] if g]
    queries = similar_queries(movie.director, movie.title, genres, movie.year, limit)
    for query in queries.ranked:
        add(query_store.ft_search(query).docs)
        if len(found) >= limit:
            return found
    if queries.era is not None:
        add(query_store.first_matches(replace(queries.era, limit=limit + len(found) + 1)))
    return found
