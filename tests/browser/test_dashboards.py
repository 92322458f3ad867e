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


def test_staff_login_then_insights_shows_this_sessions_page_views(page, served_app):
    probe = f"qzxv{secrets.token_hex(4)}"  # a search no one else makes
    page.goto("/?q=terminator")
    page.locator(".movie-list").get_by_role("link", name="The Terminator", exact=True).click()
    expect(page.locator("h1")).to_contain_text("The Terminator")
    page.goto("/")
    page.locator("#q").fill(probe)
    page.locator("#q").press("Enter")  # a submitted search is recorded
    expect(page.locator("#search-results .summary")).to_contain_text("No movies found")

    log_in(page, served_app.staff, "/insights/?range=realtime")
    expect(page).to_have_url(re.compile(r"/insights/\?range=realtime$"))
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()

    searches = poll_json(
        page,
        "/api/analytics/search-activities?range=realtime&limit=100",
        lambda a: any(row["query"] == probe for row in a["zero_result_queries"]),
    )
    assert any(row["query"] == probe for row in searches["top_queries"]), searches
    views = poll_json(
        page,
        "/api/analytics/page-views?range=realtime&limit=100",
        lambda a: {"movie", "search", "login"} <= {r["page"] for r in a["top_pages"]},
    )
    assert {"movie", "search", "login"} <= {r["page"] for r in views["top_pages"]}
    page.reload()  # the dashboard renders what has landed

    tables = page.locator("section.tables")
    top_pages = tables.locator(".card", has=page.get_by_role("heading", name="Top pages"))
    for name in ("search", "movie", "login"):
        expect(top_pages.get_by_role("cell", name=name, exact=True)).to_be_visible()
    zero = tables.locator(".card", has=page.get_by_role("heading", name="Zero-result searches"))
    expect(zero.locator("tbody")).to_contain_text(probe)
    countries = tables.locator(".card", has=page.get_by_role("heading", name="Countries"))
    expect(countries.locator("tbody")).to_contain_text("United States")  # Accept-Language en-US
    page_views_kpi = page.locator(".kpi", has_text="Page views").locator(".kpi-value")
    expect(page_views_kpi).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    expect(page.locator("#activity-feed")).to_contain_text(f"searched “{probe}” (0 results)")

    # The charts are drawn (Chart.js instances) and hold this session's figures.
    expect(page.locator("#views-chart")).to_be_visible()
    page_view_total, search_total = page.evaluate(CHART_TOTALS_JS, "views-chart")
    assert page_view_total >= 4  # search, movie, search, login at least
    assert search_total >= 2  # "terminator" and the probe
    (countries_total,) = page.evaluate(CHART_TOTALS_JS, "countries-chart")
    assert countries_total > 0


def test_operations_dashboard_metrics_and_acknowledging_an_alert(page, served_app, settings):
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
    expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    for metric in ("cpu_usage", "memory_usage", "redis_memory", "redis_clients"):
        expect(page.locator(f'[data-latest="{metric}"]')).to_have_text(re.compile(r"\d"))
    expect(page.locator('[data-info="version"]')).to_contain_text("7.4")
    expect(page.locator('[data-info="modules"]')).to_contain_text("search")
    for chart in ("chart-system", "chart-requests", "chart-redis"):
        page.wait_for_function(CHART_HAS_DATA_JS, arg=chart)

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


def test_dashboards_are_closed_to_anonymous_and_non_staff_users(page, served_app, watcher):
    for path in ("/insights/", "/operations/"):
        page.goto(path)
        expect(page).to_have_url(re.compile(rf"/accounts/login/\?next={re.escape(path)}$"))
        expect(page.get_by_role("button", name="Log in")).to_be_visible()

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
