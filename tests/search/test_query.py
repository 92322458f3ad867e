"""The query builder: user text never becomes query syntax."""

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import query_store
from search.highlight import Highlighter
from search.queries.builder import build_query, word_clause
from search.queries.ft import FtQuery
from search.queries.text import adjacent_swaps, normalise_query, parse_text, stem, title_keys

NASTY = [
    '"', '""', "'", "-", "--x", ":", "@", "@title:foo", "{", "}", "{a|b}", "|", "*", "%",
    "%%x%%", "~", "(", ")", "((", "))", "[1 2]", "\\", "\x00", "\x1b[31m", "🎬🍿", "",
    "   ", "Spider-Man", "Mission: Impossible", "M*A*S*H", "$title", "=>{$weight:9}",
    "-(", "*" * 50, "a" * 10_000, "ÅÄÖ ünïcødé", "\u202e", "'; DROP TABLE movies; --",
]  # fmt: skip


def test_words_only_letters_and_digits():
    text_query = parse_text('Spider-Man: "Far From Home" @x {y} 2019')
    assert text_query.words == ("spider", "man", "x", "y", "2019")
    assert text_query.phrases == (("far", "from", "home"),)
    assert text_query.prefix_last is True
    assert parse_text("star ").prefix_last is False
    assert parse_text('"star wars"').prefix_last is False


def test_typo_rules_follow_meilisearch():
    assert word_clause("it", prefix=False) == "it"  # no typo under 5 letters
    assert word_clause("alien", prefix=False).count("%") == 2  # one typo from 5
    assert "%%" in word_clause("terminator", prefix=False)  # two from 9
    assert "laien" in word_clause("alien", prefix=False)  # a swap counts as one typo
    assert word_clause("1984", prefix=False) == "1984"
    assert adjacent_swaps("abc") == ["bac", "acb"]
    assert "(@title|director|cast:(star*))" in word_clause("star", prefix=True)


def test_without_typos_only_the_words_as_typed():
    assert word_clause("alien", prefix=False, typos=False) == "alien"
    exact_only = replace(parse_text("terminator alien"), typos=False)
    assert "%" not in build_query(exact_only, {}, {}).query
    assert parse_text("terminator it").has_typo_variants
    assert not parse_text("it up 1984").has_typo_variants
    assert not parse_text("there").has_typo_variants  # a stop word: matched by title only
    # The highlighter marks what the search matched: variants only when it searched them.
    assert "<mark>" in Highlighter(parse_text("ghost ")).mark("ghast")
    assert "<mark>" not in Highlighter(replace(parse_text("ghost "), typos=False)).mark("ghast")


def test_the_word_being_typed_is_marked_as_a_prefix_in_titles_only():
    typing = Highlighter(parse_text("fath"))
    assert "<mark>Father</mark>" in typing.mark("Father of the Bride")
    assert "<mark>" not in typing.snippet("His father leaves.")
    assert "<mark>father</mark>" in Highlighter(parse_text("father")).snippet("His father leaves.")


def test_filters_travel_in_params_never_in_the_query():
    built = build_query(parse_text("x"), {"country": ["United States", "a}|{b"]}, {})
    assert "United" not in built.query and "a}|{b" not in built.query
    assert built.params["country0"] == "United States"
    assert built.params["country1"] == "a}|{b"


def test_disjunctive_facets_leave_their_own_filter_out():
    filters = {"genre": ["drama"], "country": ["France"]}
    built = build_query(parse_text(""), filters, {}, exclude_facet="genre")
    assert "@genre" not in built.query and "@country" in built.query


def test_normalised_forms():
    assert normalise_query("  The  MATRIX!! ") == "the matrix"
    assert title_keys("The Matrix: Reloaded") == ["the matrix reloaded", "matrix reloaded"]


@pytest.mark.parametrize("text", NASTY)
def test_nasty_text_runs_on_the_real_server(catalogue, text):
    built = build_query(parse_text(text), {}, {"year": (1990, None)})
    total = query_store.ft_search(FtQuery(built.query, built.params, limit=1)).total
    assert total >= 0


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=80))
def test_any_text_is_a_valid_query(catalogue, text):
    built = build_query(parse_text(text), {"genre": [text[:20] or "x"]}, {})
    total = query_store.ft_search(FtQuery(built.query, built.params, limit=1)).total
    assert total >= 0


def test_stemming_keeps_the_first_letter():
    # The highlighter compares stems only of words that share their first letter.
    tricky = ["skies", "dying", "lying", "tying", "ugly", "early", "yelling", "young",
              "yes", "news", "only", "idly", "generously", "cats", "agreed"]  # fmt: skip
    assert all(stem(word)[0] == word[0] for word in tricky)
