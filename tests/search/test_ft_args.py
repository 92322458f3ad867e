"""FT.* arguments: every query states its scorer, timeout and dialect; user values
travel in PARAMS. Pure functions, no Redis."""

from search.keys import AUTOCOMPLETE_KEY, index_alias
from search.queries import ft
from search.queries.ft import FtQuery


def test_a_ranked_page_states_its_scorer_limit_params_timeout_and_dialect():
    q = FtQuery("@title:$t", {"t": "x"}, offset=20, limit=10, return_fields=("title",))
    assert ft.search_args(q) == [
        index_alias(), "@title:$t", "RETURN", 1, "title", "SCORER", "TFIDF", "LIMIT", 20, 10,
        "PARAMS", 2, "t", "x", "TIMEOUT", ft.QUERY_TIMEOUT_MS, "DIALECT", 2,
    ]  # fmt: skip


def test_a_query_without_parameters_sends_no_params():
    assert "PARAMS" not in ft.count_args("*", {})
    assert ft.count_args("*", {})[-4:] == ["TIMEOUT", ft.QUERY_TIMEOUT_MS, "DIALECT", 2]


def test_a_sorted_page_sorts_by_every_key_and_loads_the_page_rows_only():
    q = FtQuery("*", limit=5, return_fields=("title",), sort=(("year", False), ("title", True)))
    args = ft.sorted_args(q)
    assert args[2:8] == ["SORTBY", 4, "@year", "DESC", "@title", "ASC"]
    assert args.index("LOAD") > args.index("SORTBY")


def test_the_whole_catalogue_counts_run_without_a_time_limit():
    args = ft.facet_args(["genre"], "*", {}, timeout_ms=ft.UNLIMITED)
    assert args[args.index("TIMEOUT") + 1] == 0


def test_a_facet_sample_limits_the_rows_grouped():
    args = ft.facet_args(["genre", "country"], "*", {}, sample=500)
    assert args[2:5] == ["LIMIT", 0, 500]
    assert args[5:9] == ["GROUPBY", 2, "@genre", "@country"]


def test_autocomplete_asks_for_fuzzy_matches_after_the_prefix():
    assert ft.sugget_args("casa", 5, fuzzy=True) == [
        AUTOCOMPLETE_KEY, "casa", "FUZZY", "MAX", 5, "WITHPAYLOADS"
    ]  # fmt: skip


def test_a_prefix_is_cut_to_what_sugget_accepts():
    assert len(ft.autocomplete_prefix("a" * 150)) == ft.SUGGET_MAX_CHARS
    assert len(ft.autocomplete_prefix("é" * 150).encode()) <= ft.SUGGET_MAX_BYTES


def test_the_phonetic_fallback_states_its_own_timeout():
    args = ft.phonetic_args("@title:(kasablanka)", 5)
    assert args[args.index("TIMEOUT") + 1] == ft.SUGGEST_TIMEOUT_MS
