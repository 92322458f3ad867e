"""Sampled facet counts: a fair sample of the matches (slots spread over any run of
ids), not the first matches in index order, which follow the import order."""

import collections

from django.http import QueryDict

from search import facets, keys, records, store, upsert
from search.params import parse_params
from search.queries.text import parse_text
from search.results import search_uncached


def test_sample_slots_spread_a_run_of_ids_evenly():
    slots = collections.Counter(records.sample_slot(i) for i in range(1, 40 * records.SAMPLE_SLOTS))
    assert set(slots) == set(range(records.SAMPLE_SLOTS))
    mean = 40
    assert all(abs(count - mean) <= 0.1 * mean for count in slots.values())


def test_every_imported_movie_has_its_sample_slot(catalogue):
    movie = catalogue[0]
    stored = store.client().hget(keys.movie_key(movie["id"]), "sample_slot")
    assert stored == str(records.sample_slot(movie["id"]))


def test_refresh_fills_in_the_slot_of_movies_imported_without_one(catalogue):
    key = keys.movie_key(catalogue[1]["id"])
    store.client().hdel(key, "sample_slot")
    changed = upsert.refresh_derived_fields(
        records.derived_fields_of_hash, records.DERIVED_SOURCES, records.DERIVED_FIELDS
    )
    assert changed == 1
    assert store.client().hget(key, "sample_slot") == str(records.sample_slot(catalogue[1]["id"]))


def facet_counts(q, monkeypatch, sample):
    monkeypatch.setattr(facets, "FACET_SAMPLE", sample)
    params = parse_params(QueryDict(f"q={q}"), facets.filter_options())
    total = search_uncached(params).total_count
    counts, exact = facets.facets_for(params, parse_text(q), total)
    return {f: dict(rows) for f, rows in counts.items()}, exact


def test_sampled_counts_of_a_catalogue_imported_by_year_stay_close(catalogue, monkeypatch):
    # The bundled catalogue is in year order: its first 500 "love" films are the oldest,
    # a fifth of them silent, where a fair sample has a few percent.
    exact, is_exact = facet_counts("love", monkeypatch, 10_000)
    sampled, is_sampled_exact = facet_counts("love", monkeypatch, 500)
    assert is_exact and not is_sampled_exact
    for field in ("genre", "subgenre", "country"):
        top = sorted(exact[field], key=exact[field].get, reverse=True)[:3]
        for value in top:
            assert (
                abs(sampled[field].get(value, 0) - exact[field][value])
                <= 0.25 * exact[field][value]
            )


def test_an_index_without_sample_slots_falls_back_to_the_first_matches(catalogue, monkeypatch):
    monkeypatch.setattr(facets, "sample_clause", lambda matches: "@no_such_slot:[0 1]")
    sampled, exact = facet_counts("love", monkeypatch, 100)
    assert not exact and sum(sampled["genre"].values()) > 0
