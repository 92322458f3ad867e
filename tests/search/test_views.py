"""The search page, the JSON APIs and the movie page, through Django's test client."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import store

pytestmark = pytest.mark.usefixtures("catalogue")


def test_search_page_renders_results_facets_and_pagination_without_javascript(client):
    response = client.get("/", {"q": "star wars"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form id="search-form"' in html and 'method="get"' in html
    assert "<mark>Star</mark> <mark>Wars</mark>" in html
    assert 'name="genre" value="science fiction"' in html
    assert 'class="pagination"' in html and "page=2" in html
    assert response.context["result"].total_count > 100
    assert response["Content-Type"].startswith("text/html")


def test_partial_fragment_for_search_as_you_type(client):
    response = client.get("/", {"q": "casabl", "partial": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and "Casablanca" in html


def test_state_lives_in_the_url(client):
    response = client.get("/", {"q": "love", "genre": "drama", "sort": "year_desc", "page": "2"})
    html = response.content.decode()
    assert 'value="year_desc" selected' in html
    assert 'value="drama" id="f-genre-1" checked' in html or 'value="drama"' in html
    assert "page=3" in html and "genre=drama" in html and "sort=year_desc" in html


def test_bad_input_gives_400_with_the_reason(client):
    response = client.get("/", {"sort": "nope"})
    assert response.status_code == 400
    assert "Unknown sort" in response.content.decode()
    api = client.get("/api/search", {"year_min": "2000", "year_max": "1999"})
    assert api.status_code == 400
    assert "reversed" in api.json()["error"]
    assert client.get("/api/search", {"genre": "nonexistent"}).status_code == 400


def test_page_past_the_end(client):
    api = client.get("/api/search", {"q": "casablanca", "page": "50"})
    assert api.status_code == 400 and "past the last page" in api.json()["error"]
    page = client.get("/", {"q": "casablanca", "page": "50"})
    assert page.status_code == 400 and "past the last page" in page.content.decode()


def test_api_shape(client):
    body = client.get("/api/search", {"q": "godfather", "size": "10"}).json()
    assert set(body) >= {"movies", "totalCount", "facets", "took_ms"}
    assert body["movies"][0]["title"] == "The Godfather"
    assert body["movies"][0]["id"] == "23819"
    assert {"genre", "subgenre", "language", "country"} == set(body["facets"])
    assert body["facets"]["genre"][0] == {"value": "crime", "count": 5} or body["facets"]["genre"]
    assert isinstance(body["took_ms"], float)


def test_zero_results_page_offers_a_way_back(client):
    html = client.get("/", {"q": '"the godfater"'}).content.decode()
    assert "No movies found" in html
    assert "Did you mean" in html and "the godfather" in html
    assert "Browse all movies" in html


def test_highlight_is_safe_against_html_in_the_data(client, scratch_ids):
    from search.importer import MovieWriter
    from search.records import validate

    (movie_id,) = scratch_ids()
    writer = MovieWriter()
    writer.add(validate({"id": movie_id, "title": "<script>alert(1)</script> Zorblax",
                         "year": 2001, "plot": "A <b>bold</b> Zorblax & friends."}))  # fmt: skip
    writer.flush()
    store.bump_generation()
    html = client.get("/", {"q": "zorblax"}).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Zorblax</mark>" in html
    assert "A &lt;b&gt;bold&lt;/b&gt; <mark>Zorblax</mark> &amp; friends." in html
    page = client.get(f"/movies/{movie_id}/").content.decode()
    assert "<script>alert(1)</script>" not in page


def suggested_labels(client, q):
    answer = client.get("/api/search/suggest", {"q": q}).json()
    return [s["label"] for s in answer["suggestions"]]


def test_autocomplete_completes_a_prefix_with_its_article(client):
    assert "The Terminator (1984)" in suggested_labels(client, "the termin")


def test_autocomplete_completes_a_title_typed_without_its_article(client):
    assert "The Terminator (1984)" in suggested_labels(client, "termin")


def test_autocomplete_falls_back_to_titles_that_sound_alike(client):
    assert "The Terminator (1984)" in suggested_labels(client, "tarminator")


def test_autocomplete_finds_a_title_with_a_typo(client):
    assert "Casablanca (1942)" in suggested_labels(client, "casablanka")


def test_autocomplete_answers_at_most_five_titles(client):
    assert len(suggested_labels(client, "the")) == 5


def test_autocomplete_of_one_character_answers_nothing(client):
    assert suggested_labels(client, "x") == []


def test_autocomplete_refuses_text_longer_than_the_search_box_takes(client):
    assert client.get("/api/search/suggest", {"q": "a" * 501}).status_code == 400


def test_movie_page_has_every_field_and_credit(client):
    response = client.get("/movies/23819/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The Godfather" in html and "Francis Ford Coppola" in html
    assert "Marlon Brando" in html
    assert "https://en.wikipedia.org/wiki/The_Godfather" in html
    assert "Wikipedia contributors" in html and "CC BY-SA" in html


def test_movie_page_shows_more_like_this_without_the_film_itself(client):
    similar = client.get("/movies/23819/").context["similar"]
    assert any(m.title.startswith("The Godfather Part") for m in similar)
    assert all(m.id != "23819" for m in similar)


def test_more_like_this_of_a_co_directed_film_shows_what_each_director_made(catalogue):
    from search.movies import more_like_this, movie_detail
    from search.queries.text import person_keys

    devil = movie_detail(515)  # A Good Little Devil: Edwin S. Porter, J. Searle Dawley
    directors = set(person_keys([devil.director]))
    by_id = {str(r["id"]): r for r in catalogue}
    credits = [set(person_keys([by_id[m.id]["director"]])) for m in more_like_this(devil)]
    assert len(directors) == 2 and credits and all(c & directors for c in credits)
    assert any(len(c & directors) == 1 for c in credits)  # one of them without the other


def test_an_unknown_movie_is_a_404(client):
    assert client.get("/movies/999999999/").status_code == 404


def test_more_like_this_falls_back_to_films_of_the_same_genres_and_era(catalogue):
    from collections import Counter

    from search.movies import more_like_this, movie_detail
    from search.queries.similar import SIMILAR_ERA_YEARS
    from search.queries.text import person_keys

    films_by = Counter(k for r in catalogue for k in person_keys([r.get("director") or ""]))
    loner = next(r for r in catalogue if r.get("genre") and r.get("year") and r.get("director")
                 and all(films_by[k] == 1 for k in person_keys([r["director"]]))
                 and r["year"] > 1950)  # fmt: skip
    similar = more_like_this(movie_detail(loner["id"]))
    assert len(similar) == 6
    by_id = {str(r["id"]): r for r in catalogue}
    wanted = {loner["genre"], *loner.get("subgenres", [])}
    for film in similar:
        record = by_id[film.id]
        assert film.id != str(loner["id"])
        assert wanted & {record.get("genre"), *record.get("subgenres", [])}
        assert abs(record["year"] - loner["year"]) <= SIMILAR_ERA_YEARS


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    q=st.text(max_size=60),
    sort=st.sampled_from(["relevance", "year_desc", "x", ""]),
    page=st.one_of(st.just(""), st.integers(-5, 2000).map(str), st.text(max_size=5)),
    year=st.one_of(st.just(""), st.integers(1000, 3000).map(str), st.text(max_size=6)),
)
def test_no_input_makes_a_500(client, q, sort, page, year):
    params = {"q": q, "sort": sort, "page": page, "year_min": year}
    for url in ("/", "/api/search"):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (url, params)
    assert client.get("/api/search/suggest", {"q": q}).status_code == 200


def test_searches_are_recorded_by_insights_but_not_each_keystroke(staff_client, settings):
    settings.INSIGHTS_RECORD_IN_BACKGROUND = False  # write in the request, to read back now
    browser = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}
    staff_client.get("/", {"q": "Casablanca!"}, **browser)
    staff_client.get("/api/search", {"q": "casablanca"}, **browser)
    staff_client.get("/", {"q": "zzqqxxyy"}, **browser)
    staff_client.get("/", {"q": "casab", "partial": "1"}, **browser)  # typing: not recorded
    staff_client.get("/", {"q": "casablanca", "partial": "1", "record": "1"}, **browser)
    report = staff_client.get("/api/analytics/search-activities", {"range": "24h"}).json()
    top = {row["query"]: row["count"] for row in report["top_queries"]}
    assert top == {"casablanca": 3, "zzqqxxyy": 1}
    assert [row["query"] for row in report["zero_result_queries"]] == ["zzqqxxyy"]
    assert report["total_searches"] == 4
