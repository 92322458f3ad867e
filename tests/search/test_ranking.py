"""Ranking policy: pure functions, no Redis."""

from search.ranking import (
    autocomplete_strings,
    best_correction,
    close_to_prefix,
    default_sort,
    sort_keys,
    spelling_distance,
    suggestion_score,
    title_match_rank,
)


def test_the_whole_title_as_typed_ranks_before_the_same_title_with_an_article():
    assert title_match_rank("scenic route", "Scenic Route") == 0
    assert title_match_rank("scenic route", "The Scenic Route") == 1


def test_a_title_that_starts_with_the_text_ranks_after_the_whole_titles():
    assert title_match_rank("star wa", "Star Wars") == 2
    assert title_match_rank("termin", "The Terminator") == 3


def test_better_rated_films_score_higher_and_an_unrated_one_is_middling():
    assert suggestion_score(9.0) > suggestion_score(None) > suggestion_score(3.0)
    assert suggestion_score("") == suggestion_score(None) == suggestion_score(5.0)


def test_autocomplete_strings_add_the_title_without_its_leading_article():
    assert autocomplete_strings("The Terminator", 1984) == [
        "The Terminator (1984)",
        "Terminator (1984)",
    ]
    assert autocomplete_strings("An American in Paris", None) == [
        "An American in Paris",
        "American in Paris",
    ]


def test_autocomplete_strings_keep_a_title_that_only_starts_like_an_article():
    assert autocomplete_strings("Theatre of Blood", 1973) == ["Theatre of Blood (1973)"]
    assert autocomplete_strings("The", 2001) == ["The (2001)"]


def test_a_fuzzy_suggestion_must_be_close_to_the_typed_start():
    assert close_to_prefix("casablanka", "Casablanca (1942)")
    assert close_to_prefix("termin", "The Terminator (1984)")  # its article left out
    assert not close_to_prefix("casablanka", "Cat Ballou (1965)")


def test_titles_that_sound_alike_are_ordered_by_spelling_distance():
    typed = ["tarminator"]
    assert spelling_distance(typed, "The Terminator") < spelling_distance(typed, "Dominator")


def test_the_correction_offered_has_the_fewest_edits_then_the_most_uses():
    assert best_correction("godfathr", [("godfather", 1.0), ("godfathers", 9.0)]) == "godfather"
    assert best_correction("bat", [("cat", 1.0), ("hat", 5.0)]) == "hat"


def test_without_words_the_default_sort_is_by_rating_when_there_are_ratings():
    assert default_sort(has_words=False, has_ratings=True) == "rating_desc"
    assert default_sort(has_words=False, has_ratings=False) == "year_desc"
    assert default_sort(has_words=True, has_ratings=True) == "relevance"


def test_every_sort_but_relevance_breaks_its_ties():
    assert sort_keys("relevance") == ()
    assert sort_keys("rating_desc") == (
        ("rating", False), ("year", False), ("title", True), ("id", True),
    )  # fmt: skip
    assert sort_keys("title_asc") == (("title", True), ("year", False), ("id", True))
