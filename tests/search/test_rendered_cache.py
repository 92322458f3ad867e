"""The rendered results and movie pages kept in the cache: served again only where they
are the same for everyone, by generation, and never at the cost of a visitor's own page."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from insights import store as insights_store
from search import keys, pages, store
from telemetry import timeseries
from tests.conftest import cache_settings

pytestmark = pytest.mark.usefixtures("catalogue")

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
HIT, MISS = 'cache;desc="hit"', 'cache;desc="miss"'


def without_time(response):
    return re.sub(r"· [0-9.]+ ms", "· ms", response.content.decode())


def searched_twice(client, query):
    """The page searched, then answered from what the first search kept."""
    return [client.get("/", query) for _ in range(2)]


def rendered_ttl(query_string):
    """Seconds left of the rendered page kept for `query_string`, or None when none is."""
    key = keys.results_html_key(store.generation(), pages.query_digest(query_string))
    return cache.ttl(key) if cache.has_key(key) else None


def test_a_repeated_search_page_is_answered_from_the_cache_as_it_was_rendered(client):
    first, again = searched_twice(client, {"q": "star wars"})
    assert [r["Server-Timing"] for r in (first, again)] == [MISS, HIT]
    assert without_time(again) == without_time(first)


def test_a_query_searched_once_is_kept_for_a_minute_only(client):
    client.get("/api/search", {"q": "heat"})  # another visitor's answer: a different key
    client.get("/", {"q": "notorious"})
    assert 0 < rendered_ttl("q=notorious") <= pages.FIRST_RENDERING_TTL


def test_a_query_searched_again_is_kept_as_long_as_its_result(client):
    client.get("/", {"q": "notorious"})
    cache.delete(keys.results_html_key(store.generation(), pages.query_digest("q=notorious")))
    assert client.get("/", {"q": "notorious"})["Server-Timing"] == MISS  # result cached
    assert rendered_ttl("q=notorious") > pages.FIRST_RENDERING_TTL


def test_the_page_and_its_fragment_share_one_rendering(client):
    searched_twice(client, {"q": "casablanca"})
    fragment = client.get("/", {"q": "casablanca", "partial": "1"})
    assert fragment["Server-Timing"] == HIT
    assert "<html" not in fragment.content.decode() and "Casablanca" in fragment.content.decode()


def test_a_cached_page_shows_each_visitor_their_own_navigation(staff_client):
    staff_page = searched_twice(staff_client, {"q": "heat"})[1]
    anonymous_page = Client().get("/", {"q": "heat"})
    assert anonymous_page["Server-Timing"] == HIT
    assert 'href="/insights/"' in staff_page.content.decode()
    html = anonymous_page.content.decode()
    assert 'href="/insights/"' not in html and "csrfmiddlewaretoken" not in html
    assert "Log in" in html and "Log out" not in html


def test_a_staff_page_served_from_the_cache_has_a_fresh_csrf_token(staff_client):
    searched_twice(Client(), {"q": "heat"})
    page = staff_client.get("/", {"q": "heat"})
    assert page["Server-Timing"] == HIT
    assert 'href="/operations/"' in page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()


def test_the_links_of_a_cached_page_repeat_the_visitors_own_query_string(client):
    searched_twice(client, {"q": "love", "utm_source": "mail"})
    page = client.get("/", {"q": "love"})
    assert "page=2" in page.content.decode() and "utm_source" not in page.content.decode()


def test_a_new_generation_renders_the_page_again(client):
    searched_twice(client, {"q": "godfather"})
    client.get("/movies/23819/")
    store.bump_generation()
    assert client.get("/", {"q": "godfather"})["Server-Timing"] == MISS
    assert client.get("/movies/23819/")["Server-Timing"] == MISS


def test_a_page_past_the_last_is_never_kept(client):
    for _ in range(2):
        page = client.get("/", {"q": "casablanca", "page": "50"})
        assert page.status_code == 400 and page["Server-Timing"] == MISS


@pytest.fixture
def fresh_analytics():
    """The analytics store is emptied before each test: this process forgets the series
    and salts it made there, before and after (as tests/insights does)."""
    timeseries.forget_ensured()
    insights_store.forget_salts()
    yield
    timeseries.forget_ensured()
    insights_store.forget_salts()


@pytest.mark.usefixtures("fresh_analytics")
def test_a_page_view_answered_from_the_cache_is_still_recorded(staff_client):
    for _ in range(3):  # rendered, rendered and kept, from the cache
        staff_client.get("/", {"q": "Vertigo"}, **BROWSER)
    report = staff_client.get("/api/analytics/search-activities", {"range": "24h"}).json()
    assert {row["query"]: row["count"] for row in report["top_queries"]} == {"vertigo": 3}
    views = staff_client.get("/api/analytics/page-views", {"range": "24h"}).json()
    assert views["total"] == 3


def test_pages_render_while_the_cache_is_down(client, settings):
    settings.CACHES = cache_settings("redis://127.0.0.1:1/3")
    for _ in range(2):
        page = client.get("/", {"q": "star wars"})
        assert page.status_code == 200 and page["Server-Timing"] == MISS
        assert "<mark>Star</mark> <mark>Wars</mark>" in page.content.decode()
    assert client.get("/movies/23819/")["Server-Timing"] == MISS


def test_text_that_looks_like_a_slot_is_shown_escaped(client):
    for _ in range(3):
        html = client.get("/", {"q": "<!--took_ms--> <!--results-->"}).content.decode()
        assert "&lt;!--took_ms--&gt; &lt;!--results--&gt;" in html
        assert "<!--took_ms-->" not in html and "<!--results-->" not in html


def test_a_repeated_movie_page_is_answered_from_the_cache_as_it_was_rendered(client):
    store.bump_generation()
    views = [client.get("/movies/23819/") for _ in range(3)]  # rendered, kept, from the cache
    assert [view["Server-Timing"] for view in views] == [MISS, MISS, HIT]
    assert views[2].content == views[0].content
    assert views[2].context["movie"].title == "The Godfather"


def test_a_movie_page_seen_once_is_not_kept(client):
    store.bump_generation()
    client.get("/movies/23819/")
    assert pages.cached_movie(store.generation(), 23819) is None
    client.get("/movies/23819/")
    assert pages.cached_movie(store.generation(), 23819) is not None


def test_the_api_says_whether_its_answer_came_from_the_cache(client):
    first = client.get("/api/search", {"q": "alien"})
    again = client.get("/api/search", {"q": "alien"})
    assert (first["Server-Timing"], again["Server-Timing"]) == (MISS, HIT)
