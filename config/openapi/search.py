"""The search part of the OpenAPI document: the movie search and the title suggestions
(public), with the schemas of their answers."""

from typing import Any

from django.urls import reverse

from config.openapi.paths import api_get, query
from config.openapi.schemas import COUNT, INTEGER, STRING, array, closed_object, nullable, ref
from search import params
from search.queries.text import MAX_QUERY_CHARS
from search.ranking import SORTS


def search_components() -> dict[str, Any]:
    """The schemas of the search answers, by name: a movie, a page of results, suggestions."""
    facets = list(params.FACET_LABELS)
    return {
        "Movie": closed_object(
            {
                "id": {**STRING, "description": "The movie's id; its page is /movies/<id>/."},
                "title": STRING,
                "year": nullable({**INTEGER, "description": "Release year; null if unknown."}),
                "genre": nullable({**STRING, "description": "The main genre, lower-case."}),
                "subgenres": array(STRING),
                "rating": nullable(
                    {"type": "number", "minimum": 0, "maximum": 10, "description": "0 to 10."}
                ),
                "language": nullable(STRING),
                "country": nullable(STRING),
                "director": nullable(STRING),
                "cast": array(STRING, "The leading names only."),
                "plot": STRING,
            },
            "A movie as the result list shows it; null where the catalogue has no value.",
        ),
        "FacetValue": closed_object({"value": STRING, "count": COUNT}),
        "SearchResult": closed_object(
            {
                "movies": array(ref("Movie"), "The page's movies, in the order applied."),
                "totalCount": {**COUNT, "description": "Movies matching the query and filters."},
                "facets": closed_object(
                    {facet: array(ref("FacetValue")) for facet in facets},
                    "Per filter, its values with the number of matches under the current "
                    "query and the other filters; the most frequent first.",
                ),
                "facetsExact": {
                    "type": "boolean",
                    "description": "true when the filter counts are exact, as they are up to "
                    "500 matches; false when they are estimated from the first 500 matches, "
                    "scaled to the total (as Algolia's exhaustiveFacetsCount). The estimate "
                    "leans towards the films imported first.",
                },
                "facetsEstimated": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(facets)},
                    "uniqueItems": True,
                    "description": "The filters whose counts are estimated (empty when "
                    "facetsExact is true). A filter chosen alone keeps the catalogue's exact "
                    "counts while the others are estimated.",
                },
                "took_ms": {
                    "type": "number",
                    "minimum": 0,
                    "description": "The server's time for the search, in milliseconds.",
                },
                "page": {"type": "integer", "minimum": 1, "description": "The page shown."},
                "pages": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Pages of results that can be browsed (1 when none match).",
                },
                "size": {"type": "integer", "enum": list(params.PAGE_SIZES)},
                "capped": {
                    "type": "boolean",
                    "description": f"true when more than {params.MAX_RESULT_WINDOW:,} "
                    "movies match: only that many can be paged through.",
                },
                "didYouMean": nullable(
                    {
                        "type": "string",
                        "description": "When nothing is found: the closest spelling of the "
                        "query that finds movies (FT.SPELLCHECK); otherwise null.",
                    }
                ),
                "typosIncluded": {
                    "type": "boolean",
                    "description": "Whether words one or two typos away were searched too "
                    "(one typo from 5 letters, two from 9; a swap of two adjacent letters is "
                    "one). They are searched only when the words as typed, with the filters, "
                    "find fewer than 50 movies; exact words rank above corrected ones.",
                },
            }
        ),
        "Suggestion": closed_object(
            {
                "id": {**STRING, "description": "The movie's id; its page is /movies/<id>/."},
                "label": {**STRING, "description": "The title and year, as shown."},
            }
        ),
        "Suggestions": closed_object({"suggestions": array(ref("Suggestion"))}),
    }


def search_paths() -> dict[str, Any]:
    """The path items of /api/search and /api/search/suggest, by path."""
    low_year, high_year = params.RANGE_FIELDS["year"]
    low_rating, high_rating = params.RANGE_FIELDS["rating"]
    year = {"type": "integer", "minimum": low_year, "maximum": high_year}
    rating = {"type": "number", "minimum": low_rating, "maximum": high_rating}
    parameters = [
        query(
            "q",
            STRING,
            'Free text over titles, directors, cast and plots; "quoted phrases" match exactly. '
            "Words are split at punctuation as RediSearch's tokenizer does, and nothing typed "
            "is query syntax. The last word matches as a prefix while it is typed, from 4 "
            "letters; a shorter one completes only the start of a title. Stop words (the, "
            "of, it, …) match by title only.",
        )
    ]
    for facet, label in params.FACET_LABELS.items():
        parameters.append(
            query(
                facet,
                {"type": "array", "items": STRING},
                f"{label} filter: repeat for several values (OR'd); different filters are "
                f"AND'd. Case-insensitive; at most {params.MAX_FILTER_VALUES} values are "
                "used. An unknown value is a 400.",
                style="form",
                explode=True,
            )
        )
    parameters += [
        query("year_min", year, "Earliest year (inclusive)."),
        query("year_max", year, "Latest year (inclusive); not before year_min."),
        query("rating_min", rating, "Lowest rating (inclusive)."),
        query("rating_max", rating, "Highest rating (inclusive); not below rating_min."),
        query(
            "sort",
            {"type": "string", "enum": list(SORTS), "default": "relevance"},
            "Result order. Without it, a search is ranked by relevance, and with no words "
            "the newest come first (`year_desc`), or the highest rated (`rating_desc`) when "
            "some movie is rated; with no words `relevance` means that default too. Ties are "
            "broken by further fields (year: then title; rating: then year and title; title: "
            "then year), so a page holds the same movies every time.",
        ),
        query(
            "page",
            {"type": "integer", "minimum": 1, "maximum": 999_999_999, "default": 1},
            f"Page number. Only the first {params.MAX_RESULT_WINDOW:,} results can be "
            "browsed, and a page past the last one is a 400.",
        ),
        query(
            "size",
            {
                "type": "integer",
                "enum": list(params.PAGE_SIZES),
                "default": params.DEFAULT_PAGE_SIZE,
            },
            "Movies per page.",
        ),
    ]
    outage = "The search store is unavailable."
    search = api_get(
        "searchMovies",
        "search",
        "Search the movies",
        "Full-text search with filters, filter counts, sorting and pagination. Public.\n\n"
        "Ranking: movies whose whole title is the query come first (as typed before with a "
        "leading article); while the last word is typed, titles starting with the text "
        "next (when at most 50 do); then the films of a person the query names in full "
        "(two to five words: directed, then acted in, at most 50); then TFIDF relevance "
        "with field weights title 5, director 2, cast 2, plot 1. Every page ranks with the "
        "same query, so totals and pages agree. English stemming, synonym groups "
        "(film/movie, cartoon/animated, cop/police, …) and sci-fi = science fiction.\n\n"
        "Results are cached for an hour per parsed query, filters, sort, page and size; an "
        "import makes cached results unreachable. A search that RediSearch answers with an "
        "error is a 400 with the engine's reason; a missing index (after a FLUSHDB) is a "
        "503.",
        parameters,
        schema="SearchResult",
        ok_description="One page of results.",
        bad_request="A bad parameter (unknown sort or filter value, a reversed or "
        "out-of-range year or rating range, a page that is not a positive number, a "
        "size not offered, a page past the last one or beyond the browsable results), "
        "or a query RediSearch refused; the reason is in `error`.",
        staff=False,
        outage=outage,
    )
    suggest = api_get(
        "suggestTitles",
        "search",
        "Suggest titles for the search box",
        "Up to 5 titles by prefix (FT.SUGGET), then close fuzzy matches, and when neither "
        "finds anything, titles that sound alike (a phonetic index: `tarminator` finds The "
        "Terminator). Fewer than 2 letters suggest nothing. Among titles that match equally "
        "well, better-rated films come first (an unrated film counts as a 5). A text longer "
        "than FT.SUGGET takes (100 characters or 200 UTF-8 bytes) is looked up by its first "
        "99 characters, and only titles starting with all of it are suggested. Should "
        "RediSearch answer a lookup with an error, the suggestions found before it are "
        "returned. Public.",
        [query("q", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "What was typed.")],
        schema="Suggestions",
        ok_description="The suggestions, best first.",
        bad_request=f"`q` is longer than {MAX_QUERY_CHARS} characters.",
        staff=False,
        outage=outage,
    )
    return {reverse("api-search"): search, reverse("api-suggest"): suggest}
