"""The first screen: with no words, what a visitor recognises comes first (the newest
films, or the best rated where the catalogue has ratings); the visitor's sort still wins."""

import pytest
from django.core.management import call_command

from search.facets import filter_options
from search.params import default_sort
from tests.search.test_search import search, titles


@pytest.fixture(autouse=True)
def _catalogue(catalogue):
    return catalogue


def year_then_title(movie):
    return (-movie.year, movie.title.casefold())


def test_the_empty_search_lists_the_newest_films_first(bundled):
    result = search(size="50")
    newest = max(r["year"] for r in bundled if r.get("year"))
    assert result.movies[0].year == newest
    assert "After Dark in Central Park" not in titles(result)
    # Ties (a year holds hundreds of films) go by title, so the page is the same each time.
    assert [year_then_title(m) for m in result.movies] == sorted(
        year_then_title(m) for m in result.movies
    )
    assert result.total_count == len(bundled)


def test_pages_of_the_empty_search_never_repeat_a_film():
    size = 50
    pages = [search(size=str(size), page=str(n)) for n in (1, 2, 3)]
    ids = [m.id for p in pages for m in p.movies]
    assert len(ids) == len(set(ids)) == len(pages) * size
    keys = [year_then_title(m) for p in pages for m in p.movies]
    assert keys == sorted(keys)


def test_with_filters_and_no_words_the_newest_come_first_too(bundled):
    result = search(genre="western", size="20")
    years = [m.year for m in result.movies]
    westerns = [r["year"] for r in bundled if (r.get("genre") or "").lower() == "western"]
    assert years == sorted(years, reverse=True) and years[0] == max(filter(None, westerns))


def test_the_visitors_sort_without_words_wins_ties_broken_by_title(bundled):
    oldest = search(sort="year_asc", size="10")
    assert oldest.movies[0].year == min(r["year"] for r in bundled if r.get("year"))
    assert titles(oldest)[0] == "After Dark in Central Park"  # then by title
    assert titles(search(sort="title_asc", size="10")) != titles(search(size="10"))


def test_relevance_without_words_is_the_default_order():
    # Without words every film is equally relevant.
    assert titles(search(sort="relevance", size="10")) == titles(search(size="10"))


def test_with_words_the_default_order_is_relevance():
    assert titles(search(q="star wars"))[0] == "Star Wars"


def test_the_default_order_without_words_is_by_rating_when_the_catalogue_has_ratings(
    scratch_ids,
):
    assert default_sort("", filter_options()) == "year_desc"  # the bundled films have no ratings
    ids = scratch_ids(30)
    call_command("generate_movies", "--count", "30", "--seed", "4", "--start-id", str(ids[0]))
    assert default_sort("", filter_options()) == "rating_desc"
    assert default_sort("love", filter_options()) == "relevance"
    movies = search(size="50").movies
    rated = [m for m in movies if m.rating is not None]
    assert len(rated) == 30 and movies[:30] == rated  # unrated films after every rated one
    keys = [(-m.rating, -m.year, m.title.casefold()) for m in rated]
    assert keys == sorted(keys)


def test_the_page_shows_the_sort_it_applied_and_a_sort_left_as_shown_is_not_a_choice(client):
    html = client.get("/").content.decode()
    assert '<option value="year_desc" selected>Newest first</option>' in html
    assert '<input type="hidden" name="default_sort" value="year_desc">' in html
    assert 'data-sort="year_desc"' in html
    # The plain form sends the sort it showed; typed words then get relevance.
    response = client.get("/", {"q": "star wars", "sort": "year_desc", "default_sort": "year_desc"})
    assert response.context["params"].sort == "relevance"
    assert response.context["result"].movies[0].title == "Star Wars"
    assert '<option value="relevance" selected>Relevance</option>' in response.content.decode()
    # A sort the visitor changed is kept.
    chosen = client.get("/", {"q": "star wars", "sort": "year_asc", "default_sort": "year_desc"})
    assert chosen.context["params"].sort == "year_asc"
    assert client.get("/", {"q": "star wars", "sort": "year_desc"}).context["params"].sort == (
        "year_desc"
    )


def test_the_api_answers_the_empty_search_newest_first(client):
    movies = client.get("/api/search").json()["movies"]
    assert movies[0]["year"] == max(m["year"] for m in movies)
    assert client.get("/api/search", {"sort": "nope"}).status_code == 400


def test_a_sorted_search_breaks_ties_by_title():
    movies = search(q="love", sort="year_desc", size="100").movies
    keys = [year_then_title(m) for m in movies]
    assert len(set(m.year for m in movies)) < len(movies)  # there are ties to break
    assert keys == sorted(keys)
