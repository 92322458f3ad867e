"""The search box's suggestions behind the cache: kept per typed text and generation,
never kept when a lookup failed."""

import pytest
import redis

from search import query_store, store
from search.suggestions import cached_suggest, suggest

pytestmark = pytest.mark.usefixtures("catalogue")


def labels(suggestions):
    return [s.label for s in suggestions]


def test_the_second_ask_for_a_text_is_a_hit_with_the_same_suggestions():
    store.bump_generation()
    first, first_hit = cached_suggest("casabl")
    second, second_hit = cached_suggest("casabl")
    assert (first_hit, second_hit) == (False, True)
    assert labels(second) == labels(first) == labels(suggest("casabl"))
    assert any(label.startswith("Casablanca") for label in labels(first))


def test_texts_that_clean_alike_share_an_entry_and_others_do_not():
    store.bump_generation()
    cached_suggest("casabl")
    assert cached_suggest("  casabl\x01")[1] is True  # the same text once cleaned
    assert cached_suggest("casa")[1] is False


def test_a_new_generation_looks_the_text_up_again():
    cached_suggest("termin")
    assert cached_suggest("termin")[1] is True
    store.bump_generation()
    assert cached_suggest("termin")[1] is False


def test_a_degraded_lookup_is_served_but_not_kept(monkeypatch):
    store.bump_generation()

    def refused(*args, **kwargs):
        raise redis.ResponseError("Invalid query")

    monkeypatch.setattr(query_store, "autocomplete", refused)
    assert cached_suggest("casabl") == ([], False)
    monkeypatch.undo()
    suggestions, hit = cached_suggest("casabl")
    assert hit is False and any(label.startswith("Casablanca") for label in labels(suggestions))


def test_the_api_says_whether_its_suggestions_came_from_the_cache(client):
    store.bump_generation()
    first = client.get("/api/search/suggest", {"q": "casabl"})
    second = client.get("/api/search/suggest", {"q": "casabl"})
    assert first["Server-Timing"] == 'cache;desc="miss"'
    assert second["Server-Timing"] == 'cache;desc="hit"'
    assert second.json() == first.json() and first.json()["suggestions"]
