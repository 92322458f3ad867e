"""The search pages in a real browser: typing, autocomplete, filters, pagination, the
movie page. Queries use the bundled catalogue; expected figures are read from the API
of the same server, so the page is checked against the backend, not against constants."""

import re

import pytest
from playwright.sync_api import expect

# The first test also waits for the server to import the catalogue (minutes when the
# machine is overloaded).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

FACETS_JS = """() => Object.fromEntries([...document.querySelectorAll("fieldset.facet")].map(
  (group) => [group.dataset.facet, Object.fromEntries([...group.querySelectorAll("li")].map(
    (li) => [li.querySelector("input").value, li.querySelector(".count").textContent.trim()]))]))"""


def api(page, path):
    response = page.request.get(path)
    assert response.ok, f"{path}: HTTP {response.status}"
    return response.json()


def facet_counts(api_facets):
    """The API's facets as the page shows them: {facet: {value: "count"}}, empty groups
    left out (the page hides them)."""
    return {
        facet: {row["value"]: str(row["count"]) for row in rows}
        for facet, rows in api_facets.items()
        if rows
    }


def result_titles(page):
    return page.locator("#search-results .movie-list .movie h2 a").all_text_contents()


def test_search_as_you_type_shows_results_without_submitting(page):
    page.goto("/")
    summary = page.locator("#search-results .summary")
    expect(summary).to_be_visible()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    page.locator("#q").press_sequentially("terminator", delay=30)

    expected = api(page, "/api/search?q=terminator")
    expect(summary).to_contain_text(f"of {expected['totalCount']} movies for terminator")
    expect(page.locator("#search-results .movie h2 a").first).to_have_text(
        expected["movies"][0]["title"]
    )
    expect(page).to_have_url(re.compile(r"/\?q=terminator$"))
    assert page.evaluate("window.loadedOnce") is True, "the page reloaded instead of updating"


def test_autocomplete_with_the_keyboard_opens_the_chosen_movie(page):
    page.goto("/")
    box = page.locator("#q")
    options = page.locator("#suggestions li[role=option]")
    labels = [s["label"] for s in api(page, "/api/search/suggest?q=termin")["suggestions"]]
    assert len(labels) >= 2

    box.press_sequentially("termin", delay=30)
    expect(options).to_have_text(labels)  # the list for the whole prefix, not an older one
    expect(box).to_have_attribute("aria-expanded", "true")

    box.press("ArrowDown")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    expect(box).to_have_attribute("aria-activedescendant", "suggestion-1")
    box.press("ArrowUp")
    box.press("ArrowDown")  # back on the second

    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/movies/\d+/$"))
    expect(page.locator("h1")).to_have_text(labels[1])  # "Title (year)", as suggested


def open_heat(page):
    """The search page for "heat" and the API's answer for it (exact facet counts)."""
    page.goto("/?q=heat")
    before = api(page, "/api/search?q=heat")
    assert before["facetsExact"], "pick a query with exact counts for this test"
    return before


def genre_counts_of(answer):
    return {row["value"]: row["count"] for row in answer["facets"]["genre"]}


def tick(page, genre):
    page.locator(f'fieldset[data-facet="genre"] input[value="{genre}"]').check()


def test_the_search_page_shows_the_apis_total_and_facets(page):
    before = open_heat(page)
    expect(page.locator("#search-results .summary")).to_contain_text(
        f"of {before['totalCount']} movies"
    )
    assert page.evaluate(FACETS_JS) == facet_counts(before["facets"])


def test_ticking_a_genre_updates_total_facets_and_url_together(page):
    before = open_heat(page)
    tick(page, "comedy")

    expect(page).to_have_url(re.compile(r"/\?q=heat&genre=comedy$"))
    expect(page.locator("#search-results .summary")).to_contain_text(
        f"of {genre_counts_of(before)['comedy']} movies"
    )
    comedy = api(page, "/api/search?q=heat&genre=comedy")
    assert page.evaluate(FACETS_JS) == facet_counts(comedy["facets"])
    expect(page.locator('[data-facet="genre"] input[value="comedy"]')).to_be_checked()


def test_a_ticked_genre_keeps_its_own_counts_and_narrows_the_others(page):
    """OR within the genre facet: its own counts stay; the other facets count comedies."""
    before = open_heat(page)
    comedies = genre_counts_of(before)["comedy"]
    tick(page, "comedy")
    expect(page).to_have_url(re.compile(r"/\?q=heat&genre=comedy$"))
    expect(page.locator("#search-results .summary")).to_contain_text(f"of {comedies} movies")

    shown = page.evaluate(FACETS_JS)
    assert shown["genre"] == facet_counts(before["facets"])["genre"]
    assert shown["subgenre"] != facet_counts(before["facets"])["subgenre"]
    for facet in ("subgenre", "language", "country"):
        for value, count in shown.get(facet, {}).items():
            assert int(count) <= comedies, (facet, value, count)


def test_a_second_genre_adds_its_movies(page):
    before = open_heat(page)
    genre_counts = genre_counts_of(before)
    tick(page, "comedy")
    expect(page).to_have_url(re.compile(r"/\?q=heat&genre=comedy$"))
    tick(page, "drama")

    expect(page).to_have_url(re.compile(r"/\?q=heat&genre=comedy&genre=drama$"))
    # One genre per film, so the union is the sum.
    expect(page.locator("#search-results .summary")).to_contain_text(
        f"of {genre_counts['comedy'] + genre_counts['drama']} movies"
    )
    both = api(page, "/api/search?q=heat&genre=comedy&genre=drama")
    assert page.evaluate(FACETS_JS) == facet_counts(both["facets"])


def test_the_url_alone_restores_the_ticked_genres(page):
    page.goto("/?q=heat&genre=comedy&genre=drama")
    both = api(page, "/api/search?q=heat&genre=comedy&genre=drama")
    expect(page.locator("#search-results .summary")).to_contain_text(
        f"of {both['totalCount']} movies"
    )
    expect(page.locator('[data-facet="genre"] input[value="comedy"]')).to_be_checked()
    expect(page.locator('[data-facet="genre"] input[value="drama"]')).to_be_checked()


def go_to_page_two(page):
    """The first page of results for "heat", then a click on page 2; both pages' titles."""
    page.goto("/?q=heat")
    summary = page.locator("#search-results .summary")
    expect(summary).to_contain_text("1–20 of")
    first_page = result_titles(page)
    page.locator("nav.pagination").get_by_role("link", name="2", exact=True).click()
    expect(page).to_have_url(re.compile(r"/\?q=heat&page=2$"))
    expect(summary).to_contain_text("21–40 of")
    return first_page, result_titles(page)


def test_page_two_shows_the_next_twenty_results(page):
    first_page, second_page = go_to_page_two(page)
    assert len(first_page) == 20
    expect(page.locator("nav.pagination [aria-current=page]")).to_have_text("2")
    assert len(second_page) == 20
    assert not set(first_page) & set(second_page)


def test_the_back_button_returns_to_the_first_page(page):
    first_page, _ = go_to_page_two(page)

    page.go_back()

    expect(page).to_have_url(re.compile(r"/\?q=heat$"))
    expect(page.locator("#search-results .summary")).to_contain_text("1–20 of")
    expect(page.locator("nav.pagination [aria-current=page]")).to_have_text("1")
    assert result_titles(page) == first_page
    expect(page.locator("#q")).to_have_value("heat")


def test_the_forward_button_returns_to_page_two(page):
    _, second_page = go_to_page_two(page)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/\?q=heat$"))

    page.go_forward()

    expect(page).to_have_url(re.compile(r"/\?q=heat&page=2$"))
    expect(page.locator("#search-results .summary")).to_contain_text("21–40 of")
    assert result_titles(page) == second_page


def open_the_terminator(page):
    page.goto("/?q=terminator")
    page.locator(".movie-list").get_by_role("link", name="The Terminator", exact=True).click()
    expect(page).to_have_url(re.compile(r"/movies/\d+/$"))


def test_the_movie_page_shows_its_fields(page):
    open_the_terminator(page)
    expect(page.locator("h1")).to_have_text("The Terminator (1984)")
    expect(page).to_have_title(re.compile(r"^The Terminator \(1984\)"))
    facts = page.locator("dl.facts")
    expect(facts.locator("dt:text-is('Year') + dd")).to_have_text("1984")
    director = facts.locator("dt:text-is('Director') + dd")
    expect(director).to_have_text("James Cameron")
    expect(director.get_by_role("link")).to_have_attribute("href", "/?q=%22James%20Cameron%22")
    expect(facts.locator("dt:text-is('Cast') + dd")).to_contain_text("Arnold Schwarzenegger")
    expect(page.locator("p.plot")).to_contain_text("cyborg assassin")


def test_the_movie_page_credits_wikipedia_under_its_licence(page):
    open_the_terminator(page)
    credit = page.locator("p.credit")
    expect(credit).to_contain_text("Wikipedia contributors")
    expect(credit.get_by_role("link", name="“The Terminator”")).to_have_attribute(
        "href", "https://en.wikipedia.org/wiki/The_Terminator"
    )
    expect(credit.get_by_role("link", name="CC BY-SA")).to_have_attribute(
        "href", re.compile(r"^https://creativecommons\.org/licenses/by-sa/")
    )


def test_more_like_this_leads_to_another_film_of_the_director(page):
    open_the_terminator(page)
    similar = page.locator("section.similar")
    expect(similar.get_by_role("heading", name="More like this")).to_be_visible()
    links = similar.get_by_role("link")
    expect(links.first).to_be_visible()
    assert "The Terminator" not in links.all_text_contents()
    first_similar = links.first.text_content()

    links.first.click()

    # The director's films come first: the first suggestion is another James Cameron film.
    expect(page.locator("h1")).to_contain_text(first_similar)
    expect(page.locator("dl.facts dt:text-is('Director') + dd")).to_have_text("James Cameron")
