"""Redis error replies on the user paths: a clear 400 or a degraded answer, never a 5xx."""

import pytest
import redis

from search import query_store, store
from search.suggestions import suggest

pytestmark = pytest.mark.usefixtures("catalogue")

LONGEST_TITLE = (
    "Cornell-Columbia-University of Pennsylvania Boat Race at Ithaca, N.Y., Showing Lehigh "
    "Valley Observation Train"
)
PASTED_SENTENCE = (
    "A retired detective is drawn back for one last case when a string of robberies across "
    "the city seems to follow the plot of a forgotten novel written decades ago"
)


@pytest.mark.parametrize(
    "q",
    [
        "a" * 99,
        "a" * 100,  # FT.SUGGET: "Invalid query" from 100 characters
        "a" * 500,
        "é" * 100,  # FT.SUGGET: "Invalid query length" from 200 bytes
        "日本" * 40,
        "😀" * 60,
        PASTED_SENTENCE,
        (PASTED_SENTENCE + " ") * 3,
    ],
    ids=lambda q: f"{len(q)}x{q[:1]}",
)
def test_autocomplete_answers_long_text(client, q):
    response = client.get("/api/search/suggest", {"q": q})
    assert response.status_code == 200
    assert isinstance(response.json()["suggestions"], list)


def test_autocomplete_finds_a_title_of_more_than_100_characters(monkeypatch):
    assert len(LONGEST_TITLE) == 110
    for typed in (LONGEST_TITLE[:105], LONGEST_TITLE, LONGEST_TITLE.upper()):
        labels = [s.label for s in suggest(typed)]
        assert labels[:1] == [f"{LONGEST_TITLE} (1901)"], typed
    # Past its first 99 characters the text must still match: a title sharing only
    # those is no completion (left alone, the phonetic step matches its first words).
    monkeypatch.setattr(query_store, "phonetic_suggestions", lambda *args, **kwargs: [])
    assert suggest(LONGEST_TITLE[:99] + " Xylophone") == []


def test_autocomplete_text_beyond_the_search_boxs_limit_is_refused_with_the_reason(client):
    response = client.get("/api/search/suggest", {"q": "a" * 501})
    assert response.status_code == 400
    assert response.json()["error"] == "q is longer than 500 characters"


@pytest.mark.parametrize(
    "q",
    [
        "a" * 100,
        "a" * 2000,
        "supercalifragilisticexpialidocious" * 5,
        " ".join(["kidnapp"] * 300),
        '"star wars" ' * 150,
        "日本語の映画 " * 100,
        "😀 ﷽ ǀǁ İstanbul ß \u0301 \u202e " * 30,
        PASTED_SENTENCE * 4,
    ],
    ids=lambda q: f"{len(q)}x{q[:1]}",
)
def test_long_and_odd_search_text_never_makes_a_5xx(client, q):
    for params in ({"q": q}, {"q": q, "partial": "1"}, {"q": q, "sort": "year_desc"}):
        assert client.get("/", params).status_code == 200
    assert client.get("/api/search", {"q": q}).status_code == 200
    assert client.get("/api/search/suggest", {"q": q[:500]}).status_code == 200


REFUSAL = redis.ResponseError("Syntax error at offset 12 near kidnapp")


def refuse(*args, **kwargs):
    raise REFUSAL


def test_a_search_redisearch_refuses_is_a_400_with_the_reason(client, monkeypatch):
    monkeypatch.setattr(query_store, "ft_search", refuse)
    monkeypatch.setattr(query_store, "ft_search_keys", refuse)
    api = client.get("/api/search", {"q": "kidnapp"})
    assert api.status_code == 400
    assert api.json()["error"] == (
        "the search engine could not run this search (Syntax error at offset 12 near "
        "kidnapp); try fewer or shorter words"
    )
    page = client.get("/", {"q": "kidnapp"})
    assert page.status_code == 400
    assert "The search engine could not run this search (Syntax error" in page.content.decode()
    fragment = client.get("/", {"q": "kidnapp", "partial": "1"})
    assert fragment.status_code == 400
    html = fragment.content.decode()
    assert "<html" not in html and "could not run this search" in html


def test_filter_counts_redisearch_refuses_are_a_400_with_the_reason(client, monkeypatch):
    store.bump_generation()  # no cached options: they are counted now
    monkeypatch.setattr(query_store, "facet_counts", refuse)
    api = client.get("/api/search", {"q": "kidnapp"})
    assert api.status_code == 400 and "could not run this search" in api.json()["error"]
    for params in ({}, {"q": "kidnapp"}, {"q": "kidnapp", "partial": "1"}):
        page = client.get("/", params)
        assert page.status_code == 400
        assert "could not run this search (Syntax error" in page.content.decode()


def test_autocomplete_degrades_when_redisearch_refuses(client, monkeypatch):
    real = query_store.autocomplete
    monkeypatch.setattr(query_store, "autocomplete", refuse)
    response = client.get("/api/search/suggest", {"q": "casabl"})
    assert response.status_code == 200 and response.json() == {"suggestions": []}

    def fuzzy_refused(*args, fuzzy=True, **kwargs):
        return refuse() if fuzzy else real(*args, fuzzy=fuzzy, **kwargs)

    monkeypatch.setattr(query_store, "autocomplete", fuzzy_refused)
    response = client.get("/api/search/suggest", {"q": "casabl"})
    assert response.status_code == 200  # what was found before the refusal is kept
    assert "Casablanca (1942)" in [s["label"] for s in response.json()["suggestions"]]


def test_the_movie_page_leaves_out_more_like_this_when_redisearch_refuses(client, monkeypatch):
    monkeypatch.setattr(query_store, "ft_search", refuse)
    monkeypatch.setattr(query_store, "first_matches", refuse)
    response = client.get("/movies/23819/")
    assert response.status_code == 200
    assert "The Godfather" in response.content.decode() and response.context["similar"] == []


def test_a_missing_index_is_an_outage_not_a_server_error(client, monkeypatch):
    def no_index(*args, **kwargs):
        raise redis.ResponseError("movies_index: no such index")

    monkeypatch.setattr(query_store, "ft_search", no_index)
    monkeypatch.setattr(query_store, "ft_search_keys", no_index)
    api = client.get("/api/search", {"q": "kidnapp"})
    assert api.status_code == 503 and "unavailable" in api.json()["error"]
    page = client.get("/", {"q": "kidnapp"})
    assert page.status_code == 503 and "right back" in page.content.decode()
