"""The staff dashboards in a real browser: log in through the form, see this session's
page views in insights, acknowledge a firing alert in operations; others are kept out."""

import re
import secrets
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.conftest import store_urls

# The first test also waits for the server to import the catalogue (minutes when the
# machine is overloaded).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CHART_TOTALS_JS = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  return chart ? chart.data.datasets.map((d) => d.data.reduce((sum, v) => sum + (v || 0), 0))
               : null;
}"""

CHART_HAS_DATA_JS = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  return !!chart && chart.data.labels.length > 0
    && chart.data.datasets.some((d) => d.data.some((v) => v !== null && v !== undefined));
}"""


def poll_json(page, path, found, timeout=30):
    """The API's answer once `found(answer)` holds; page views are written by a background
    thread, so they land a moment after the response."""
    deadline = time.monotonic() + timeout
    while True:
        response = page.request.get(path)
        assert response.ok, f"{path}: HTTP {response.status}"
        answer = response.json()
        if found(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.25)


def browse_as_a_visitor(page):
    """A movie page opened from a search, then a submitted search that finds nothing;
    returns that search's query (one no one else makes)."""
    probe = f"qzxv{secrets.token_hex(4)}"
    page.goto("/?q=terminator")
    page.locator(".movie-list").get_by_role("link", name="The Terminator", exact=True).click()
    expect(page.locator("h1")).to_contain_text("The Terminator")
    page.goto("/")
    page.locator("#q").fill(probe)
    page.locator("#q").press("Enter")  # a submitted search is recorded
    expect(page.locator("#search-results .summary")).to_contain_text("No movies found")
    return probe


def searches_landed(page, probe):
    return poll_json(
        page,
        "/api/analytics/search-activities?range=realtime&limit=100",
        lambda a: any(row["query"] == probe for row in a["zero_result_queries"]),
    )


def page_views_landed(page):
    return poll_json(
        page,
        "/api/analytics/page-views?range=realtime&limit=100",
        lambda a: {"movie", "search", "login"} <= {r["page"] for r in a["top_pages"]},
    )


def insights_after_browsing(page, served_app):
    """Browse, log in as staff onto insights, wait until this session's figures have
    landed and render the dashboard again; returns the probe query."""
    probe = browse_as_a_visitor(page)
    log_in(page, served_app.staff, "/insights/?range=realtime")
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()
    searches_landed(page, probe)
    page_views_landed(page)
    page.reload()  # the dashboard renders what has landed
    return probe


def test_staff_log_in_through_the_form_onto_the_dashboard_they_asked_for(page, served_app):
    log_in(page, served_app.staff, "/insights/?range=realtime")
    expect(page).to_have_url(re.compile(r"/insights/\?range=realtime$"))
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()


def test_insights_apis_show_this_sessions_searches_and_page_views(page, served_app):
    probe = browse_as_a_visitor(page)
    log_in(page, served_app.staff, "/insights/?range=realtime")
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()
    searches = searches_landed(page, probe)
    assert any(row["query"] == probe for row in searches["top_queries"]), searches
    views = page_views_landed(page)
    assert {"movie", "search", "login"} <= {r["page"] for r in views["top_pages"]}


def test_the_insights_tables_show_this_sessions_pages_searches_and_country(page, served_app):
    probe = insights_after_browsing(page, served_app)
    tables = page.locator("section.tables")
    top_pages = tables.locator(".card", has=page.get_by_role("heading", name="Top pages"))
    for name in ("search", "movie", "login"):
        expect(top_pages.get_by_role("cell", name=name, exact=True)).to_be_visible()
    zero = tables.locator(".card", has=page.get_by_role("heading", name="Zero-result searches"))
    expect(zero.locator("tbody")).to_contain_text(probe)
    countries = tables.locator(".card", has=page.get_by_role("heading", name="Countries"))
    expect(countries.locator("tbody")).to_contain_text("United States")  # Accept-Language en-US


def test_the_insights_kpi_and_activity_feed_show_this_session(page, served_app):
    probe = insights_after_browsing(page, served_app)
    page_views_kpi = page.locator(".kpi", has_text="Page views").locator(".kpi-value")
    expect(page_views_kpi).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    expect(page.locator("#activity-feed")).to_contain_text(f"searched “{probe}” (0 results)")


def test_the_insights_charts_hold_this_sessions_figures(page, served_app):
    """Drawn (Chart.js instances), with this session's figures."""
    insights_after_browsing(page, served_app)
    expect(page.locator("#views-chart")).to_be_visible()
    page_view_total, search_total = page.evaluate(CHART_TOTALS_JS, "views-chart")
    assert page_view_total >= 4  # search, movie, search, login at least
    assert search_total >= 2  # "terminator" and the probe
    (countries_total,) = page.evaluate(CHART_TOTALS_JS, "countries-chart")
    assert countries_total > 0


def test_the_operations_dashboard_shows_metrics_redis_info_and_charts(page, served_app):
    log_in(page, served_app.staff, "/operations/")
    expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    for metric in ("cpu_usage", "memory_usage", "redis_memory", "redis_clients"):
        expect(page.locator(f'[data-latest="{metric}"]')).to_have_text(re.compile(r"\d"))
    expect(page.locator('[data-info="version"]')).to_contain_text("7.4")
    expect(page.locator('[data-info="modules"]')).to_contain_text("search")
    for chart in ("chart-system", "chart-requests", "chart-redis"):
        page.wait_for_function(CHART_HAS_DATA_JS, arg=chart)


def test_acknowledging_a_firing_alert_shows_on_the_page_and_in_redis(page, served_app, settings):
    staff = served_app.staff
    # Lower a threshold in the admin so the collector (every 2 s here) fires an alert.
    log_in(page, staff, "/admin/operations/alertthreshold/")
    page.get_by_role("link", name="Memory usage").click()
    page.get_by_label("Threshold").fill("1")
    page.get_by_label("Hold for (seconds)").fill("1")
    page.get_by_label("Hysteresis").fill("0.5")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("applies from the next evaluation")

    page.goto("/operations/")
    alert_row = page.locator("#active-alerts tbody tr", has_text="memory_usage")
    acknowledge = alert_row.get_by_role("button", name="Acknowledge")
    # Held 1 s and seen by the next pass: seconds, unless the machine is overloaded.
    expect(acknowledge).to_be_visible(timeout=90_000)
    expect(alert_row.locator(".pill.active")).to_have_text("active")
    action = alert_row.locator("form").get_attribute("action")
    alert_id = re.fullmatch(r"/operations/alerts/([0-9a-f]{16})/acknowledge", action).group(1)

    acknowledge.click()

    expect(page).to_have_url(re.compile(r"/operations/$"))
    expect(page.locator("ul.messages")).to_contain_text(f"Alert acknowledged by {staff.username}")
    expect(alert_row.locator(".pill.acknowledged")).to_have_text("acknowledged")
    expect(alert_row).to_contain_text(f"by {staff.username}")
    expect(alert_row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.locator("#alert-history tbody tr", has_text="memory_usage").first).to_contain_text(
        "acknowledged"
    )

    # Redis agrees: read through the operations store, pointed at the served server.
    from operations import alert_store

    served = served_app.served
    settings.REDIS_URLS = store_urls(served.redis_port, password=served.redis_password)
    alert = alert_store.get_active_alert(alert_id)
    assert alert.state == "acknowledged"
    assert alert.acknowledged_by == staff.username
    assert alert.acknowledged_at


def test_anonymous_visitors_of_the_dashboards_are_sent_to_log_in(page):
    for path in ("/insights/", "/operations/"):
        page.goto(path)
        expect(page).to_have_url(re.compile(rf"/accounts/login/\?next={re.escape(path)}$"))
        expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_users_who_are_not_staff_get_403_from_the_dashboards(page, served_app, watcher):
    watcher.allow(403, rf"^{re.escape(served_app.url)}/(insights|operations)/$")
    with page.expect_response(f"{served_app.url}/operations/") as answer:
        log_in(page, served_app.viewer, "/operations/")
    assert answer.value.status == 403
    expect(page.locator("main")).to_contain_text("staff only")
    expect(page.get_by_role("button", name=f"Log out {served_app.viewer.username}")).to_be_visible()

    response = page.goto("/insights/")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("staff only")
    expect(page.get_by_role("link", name="Insights")).to_have_count(0)  # not in the nav either
