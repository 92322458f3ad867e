"""Known-item searches on the bundled catalogue: a whole title or a person's full name
typed in the search box finds that film, or that person's films, first."""

import json

import pytest
from django.core.management import call_command

from search import importer, keys, store
from search.queries.builder import build_query
from search.queries.text import parse_text
from search.tiers import person_tier as front_person_tier
from tests.search.test_search import search, titles


@pytest.fixture(autouse=True)
def _catalogue(catalogue):
    return catalogue


@pytest.mark.parametrize("q", ["Scenic Route", "scenic route ", "SCENIC ROUTE."])
def test_a_title_typed_exactly_comes_before_the_same_title_with_an_article(q):
    # Scenic Route (2013) and The Scenic Route (1978) are both in the catalogue.
    assert titles(search(q=q))[:2] == ["Scenic Route", "The Scenic Route"]


def test_a_title_typed_with_its_article_comes_before_the_one_without():
    assert titles(search(q="The Scenic Route"))[0] == "The Scenic Route"


def films_of(bundled, name):
    """(directed, acted in) ids of the bundled films of one person."""
    directed = {str(r["id"]) for r in bundled if name in (r.get("director") or "")}
    acted = {str(r["id"]) for r in bundled if name in (r.get("cast") or [])} - directed
    return directed, acted


@pytest.mark.parametrize(
    ("q", "name"),
    [
        ("Jonathan Kaplan", "Jonathan Kaplan"),  # a director
        # Directed 15 films and acted in 4; "William Desmond" is another actor.
        ("William Desmond Taylor", "William Desmond Taylor"),
        ("jim sheridan ", "Jim Sheridan"),  # directed 5 films and acted in one
        ('"Jim Sheridan"', "Jim Sheridan"),  # as the movie page links to a name
    ],
)
def test_a_full_name_ranks_that_persons_films_first_directed_before_acted(bundled, q, name):
    directed, acted = films_of(bundled, name)
    assert directed
    result = search(q=q, size="50")
    ids = [m.id for m in result.movies]
    assert set(ids[: len(directed)]) == directed
    assert set(ids[len(directed) : len(directed) + len(acted)]) == acted


def test_a_name_among_other_words_ranks_that_persons_matching_films_first():
    assert titles(search(q="jim sheridan boxer"))[0] == "The Boxer"


@pytest.mark.parametrize("q", ["William Desmond Taylor", "jim sheridan "])
def test_the_person_tier_keeps_totals_and_pages_consistent(q):
    by_year = search(q=q, size="10", sort="year_asc")
    pages = [search(q=q, size="10", page=str(n)) for n in (1, 2, 3)]
    assert {p.total_count for p in pages} == {by_year.total_count}
    ids = [m.id for p in pages for m in p.movies]
    assert len(ids) == len(set(ids)) == min(30, by_year.total_count)
    assert [m.id for m in search(q=q, size="50").movies][:30] == ids


def person_tier(q):
    built = build_query(parse_text(q), {}, {}, exact_tier=True)
    return [doc.key for doc in front_person_tier(built, set())]


def test_reindex_fills_in_the_name_fields_of_movies_imported_before_them(tmp_path, scratch_ids):
    (movie_id,) = scratch_ids(1)
    record = {"id": movie_id, "title": "Quixotic Zephyr", "plot": "A zephyr.",
              "director": "Ann Example and Zebulon Quill", "cast": ["Bo One"]}  # fmt: skip
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    importer.import_file(path)
    key = keys.movie_key(movie_id)
    assert store.client().hget(key, "director_key") == "ann example|zebulon quill"
    store.client().hdel(key, "director_key", "cast_key")  # as an older release wrote it
    store.wait_until_indexed(store.live_index_name())
    assert person_tier("zebulon quill") == []

    call_command("create_index", "--reindex", verbosity=0)

    assert store.client().hget(key, "director_key") == "ann example|zebulon quill"
    assert store.client().hget(key, "cast_key") == "bo one"
    assert person_tier("zebulon quill") == person_tier("bo one") == [key]
