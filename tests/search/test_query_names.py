"""Query building for people's names: pure functions, no Redis."""

from search.queries.builder import (
    build_query,
    longest_names,
    name_runs,
    people_query,
    person_query,
)
from search.queries.text import MAX_WORDS, parse_text, person_keys


def test_person_keys_split_joint_credits_and_normalise():
    assert person_keys(["Edwin S. Porter and J. Searle Dawley"]) == [
        "edwin s porter",
        "j searle dawley",
    ]
    assert person_keys(["George S. Fleming, Edwin S. Porter"]) == [
        "george s fleming",
        "edwin s porter",
    ]
    assert person_keys(["Edwin S. Porter or Jacob Blair Smith"])[1] == "jacob blair smith"
    assert person_keys(["Jean-Claude Van Damme", "jean claude van damme", ""]) == [
        "jean claude van damme"
    ]
    assert person_keys(["Sandra Bullock", "Andy Garcia"]) == ["sandra bullock", "andy garcia"]


def test_name_runs_are_the_runs_of_two_to_five_words_of_each_part():
    assert name_runs(parse_text("jim sheridan")) == ["jim sheridan"]
    assert name_runs(parse_text("william desmond taylor")) == [
        "william desmond",
        "desmond taylor",
        "william desmond taylor",
    ]
    assert name_runs(parse_text("godfather")) == []
    # A quoted phrase is a part of its own: no run crosses its quotes.
    assert name_runs(parse_text('boxer "jim sheridan"')) == ["jim sheridan"]
    longest = parse_text(" ".join(f"w{i}" for i in range(MAX_WORDS)))
    runs = name_runs(longest)
    assert len(runs) == len(set(runs)) == 11 + 10 + 9 + 8
    assert max(len(run.split()) for run in runs) == 5


def test_longest_names_drop_a_name_within_a_longer_one():
    names = ["desmond taylor", "william desmond", "william desmond taylor"]
    assert longest_names(names) == ["william desmond taylor"]
    assert longest_names(["tom hanks", "meg ryan"]) == ["tom hanks", "meg ryan"]
    assert longest_names(["ann smith", "joann smith"]) == ["ann smith", "joann smith"]


def test_names_travel_in_params_and_only_rank_by_relevance():
    built = build_query(parse_text('jim "} | @x:{y" sheridan'), {"genre": ["drama"]}, {},
                        exact_tier=True)  # fmt: skip
    query, params = person_query(built, "director_key", list(built.person_names))
    assert query.startswith("@director_key:{$name0") and "sheridan" not in query.split("}")[0]
    assert set(built.person_names) <= set(params.values())
    assert params["genre0"] == "drama" and "@genre:{$genre0}" in query
    assert build_query(parse_text("jim sheridan"), {}, {}).person_names == ()


def test_people_query_looks_up_both_roles_by_tag_with_names_in_params():
    query, params = people_query(["jim sheridan", "x} | @y:{z"])
    assert query == "(@director_key:{$name0|$name1} | @cast_key:{$name0|$name1})"
    assert params == {"name0": "jim sheridan", "name1": "x} | @y:{z"}
