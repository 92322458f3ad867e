"""The JSON wire format of search results and suggestions, built from the values."""

from dataclasses import replace

from search.query_store import Document
from search.values import FacetRow, MovieCard, SearchResult, Suggestion

HASH = {"title": "Alien", "year": "1979", "genre": "science fiction",
        "subgenre": "horror|thriller", "rating": "8.5", "language": "English",
        "country": "United States", "director": "Ridley Scott",
        "cast": "|".join(f"Actor {n}" for n in range(8)), "plot": "In space."}  # fmt: skip
CARD_KEYS = ["id", "title", "year", "genre", "subgenres", "rating", "language", "country",
             "director", "cast", "plot"]  # fmt: skip


def test_a_card_has_the_api_fields_in_order_and_typed():
    card = MovieCard.from_hash(HASH, 42).to_json()
    assert list(card) == CARD_KEYS
    assert card["id"] == "42" and card["year"] == 1979 and card["rating"] == 8.5
    assert card["subgenres"] == ["horror", "thriller"]


def test_a_result_card_shows_the_leading_six_names_of_the_cast():
    card = MovieCard.from_document(Document("movie:42", HASH))
    assert card.id == "42" and card.cast == [f"Actor {n}" for n in range(6)]


def test_a_card_without_optional_fields_has_nulls_and_empty_lists():
    card = MovieCard.from_hash({"title": "Untitled"}, 1).to_json()
    assert card["year"] is None and card["rating"] is None
    assert card["cast"] == [] and card["subgenres"] == [] and card["plot"] == ""


def result():
    return SearchResult.of(
        movies=[MovieCard.from_hash(HASH, 42)], total_count=1,
        facets={"genre": [FacetRow("science fiction", 1)]}, facets_estimated=[], page=1,
        size=20, pages=1, capped=False, did_you_mean=None, typos_included=False,
    )  # fmt: skip


def test_the_search_api_answer_has_its_keys_in_order():
    assert list(result().to_json()) == [
        "movies", "totalCount", "facets", "facetsExact", "facetsEstimated", "took_ms", "page",
        "pages", "size", "capped", "didYouMean", "typosIncluded",
    ]  # fmt: skip
    assert result().to_json()["facets"] == {"genre": [{"value": "science fiction", "count": 1}]}


def test_the_cached_form_is_the_api_answer_without_this_answers_timing():
    cached = result().to_cache()
    assert "took_ms" not in cached and "cached" not in cached
    assert SearchResult.from_cache(cached).to_json() == result().to_json()


def test_a_result_reads_back_its_movies_and_facets_as_values():
    read = SearchResult.from_cache(result().to_cache())
    assert read.movies == [MovieCard.from_hash(HASH, 42)]
    assert read.facets == {"genre": [FacetRow("science fiction", 1)]}
    assert (read.total_count, read.pages, read.typos_included) == (1, 1, False)


def test_a_result_cached_before_typos_were_reported_says_they_were_included():
    form = {k: v for k, v in result().to_cache().items() if k != "typosIncluded"}
    assert SearchResult.from_cache(form).typos_included is True


def test_highlight_fields_stay_out_of_the_json():
    card = replace(MovieCard.from_hash(HASH, 42), title_html="<mark>x</mark>")
    assert "title_html" not in card.to_json()


def test_a_suggestion_is_an_id_and_a_label():
    assert Suggestion("7", "Alien (1979)").to_json() == {"id": "7", "label": "Alien (1979)"}
