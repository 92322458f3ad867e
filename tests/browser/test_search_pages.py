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


def test_ticking_a_genre_updates_total_facets_and_url_together(page):
    page.goto("/?q=heat")
    summary = page.locator("#search-results .summary")
    before = api(page, "/api/search?q=heat")
    assert before["facetsExact"], "pick a query with exact counts for this test"
    genre_counts = {row["value"]: row["count"] for row in before["facets"]["genre"]}
    expect(summary).to_contain_text(f"of {before['totalCount']} movies")
    assert page.evaluate(FACETS_JS) == facet_counts(before["facets"])

    page.locator('fieldset[data-facet="genre"] input[value="comedy"]').check()

    expect(page).to_have_url(re.compile(r"/\?q=heat&genre=comedy$"))
    expect(summary).to_contain_text(f"of {genre_counts['comedy']} movies")
    comedy = api(page, "/api/search?q=heat&genre=comedy")
    shown = page.evaluate(FACETS_JS)
    assert shown == facet_counts(comedy["facets"])
    # OR within the genre facet: its own counts stay; the other facets now count comedies.
    assert shown["genre"] == facet_counts(before["facets"])["genre"]
    assert shown["subgenre"] != facet_counts(before["facets"])["subgenre"]
    for facet in ("subgenre", "language", "country"):
        for value, count in shown.get(facet, {}).items():
            assert int(count) <= genre_counts["comedy"], (facet, value, count)
    expect(page.locator('[data-facet="genre"] input[value="comedy"]')).to_be_checked()

    page.locator('fieldset[data-facet="genre"] input[value="drama"]').check()

    expect(page).to_have_url(re.compile(r"/\?q=heat&genre=comedy&genre=drama$"))
    # One genre per film, so the union is the sum.
    expect(summary).to_contain_text(f"of {genre_counts['comedy'] + genre_counts['drama']} movies")
    both = api(page, "/api/search?q=heat&genre=comedy&genre=drama")
    assert page.evaluate(FACETS_JS) == facet_counts(both["facets"])

    page.reload()  # the URL alone restores the state
    expect(summary).to_contain_text(f"of {both['totalCount']} movies")
    expect(page.locator('[data-facet="genre"] input[value="comedy"]')).to_be_checked()
    expect(page.locator('[data-facet="genre"] input[value="drama"]')).to_be_checked()


def test_pagination_and_the_back_button(page):
    page.goto("/?q=heat")
    summary = page.locator("#search-results .summary")
    expect(summary).to_contain_text("1–20 of")
    first_page = result_titles(page)
    assert len(first_page) == 20

    page.locator("nav.pagination").get_by_role("link", name="2", exact=True).click()

    expect(page).to_have_url(re.compile(r"/\?q=heat&page=2$"))
    expect(summary).to_contain_text("21–40 of")
    expect(page.locator("nav.pagination [aria-current=page]")).to_have_text("2")
    second_page = result_titles(page)
    assert len(second_page) == 20
    assert not set(first_page) & set(second_page)

    page.go_back()

    expect(page).to_have_url(re.compile(r"/\?q=heat$"))
    expect(summary).to_contain_text("1–20 of")
    expect(page.locator("nav.pagination [aria-current=page]")).to_have_text("1")
    assert result_titles(page) == first_page
    expect(page.locator("#q")).to_have_value("heat")

    page.go_forward()

    expect(page).to_have_url(re.compile(r"/\?q=heat&page=2$"))
    expect(summary).to_contain_text("21–40 of")
    assert result_titles(page) == second_page


def test_movie_page_fields_credit_and_more_like_this(page):
    page.goto("/?q=terminator")
    page.locator(".movie-list").get_by_role("link", name="The Terminator", exact=True).click()

    expect(page).to_have_url(re.compile(r"/movies/\d+/$"))
    expect(page.locator("h1")).to_have_text("The Terminator (1984)")
    expect(page).to_have_title(re.compile(r"^The Terminator \(1984\)"))
    facts = page.locator("dl.facts")
    expect(facts.locator("dt:text-is('Year') + dd")).to_have_text("1984")
    director = facts.locator("dt:text-is('Director') + dd")
    expect(director).to_have_text("James Cameron")
    expect(director.get_by_role("link")).to_have_attribute("href", "/?q=%22James%20Cameron%22")
    expect(facts.locator("dt:text-is('Cast') + dd")).to_contain_text("Arnold Schwarzenegger")
    expect(page.locator("p.plot")).to_contain_text("cyborg assassin")

    credit = page.locator("p.credit")
    expect(credit).to_contain_text("Wikipedia contributors")
    expect(credit.get_by_role("link", name="“The Terminator”")).to_have_attribute(
        "href", "https://en.wikipedia.org/wiki/The_Terminator"
    )
    expect(credit.get_by_role("link", name="CC BY-SA")).to_have_attribute(
        "href", re.compile(r"^https://creativecommons\.org/licenses/by-sa/")
    )

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
