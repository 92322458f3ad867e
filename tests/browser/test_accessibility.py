"""Every page, in the states a person sees it, passes axe-core's WCAG 2 A/AA rules
(axe.py). The pages are checked against the URL resolver, so a new page without a check
here fails `test_every_page_route_has_an_accessibility_check`."""

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from playwright.sync_api import expect

from config.middleware import CONTENT_SECURITY_POLICY
from config.redis_stores import get_redis
from tests.browser.axe import assert_accessible
from tests.browser.conftest import Account, log_in
from tests.browser.test_dashboards import CHART_HAS_DATA_JS, poll_json
from tests.conftest import store_urls

# The first test also waits for the server to import the catalogue (minutes when the
# machine is overloaded).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# Named routes that answer with something other than an HTML page of their own.
NOT_PAGES = {
    "favicon": "a redirect to the icon",
    "health-redis": "JSON",
    "metrics": "Prometheus text",
    "logout": "POST only, then a redirect",
    "insights:export": "a CSV download",
    "operations:acknowledge": "POST only, then a redirect",
}
NOT_PAGE_PREFIXES = ("admin/", "api/")  # Django's own admin; the JSON APIs

# Rows the dashboards' scrolling lists must hold so that they do scroll (each row is
# about 30 px in a box of 320 px): axe judges a scrollable region only when it overflows.
OVERFLOWING_ROWS = 15

OVERFLOWS_JS = "(element) => element.scrollHeight > element.clientHeight"


def page_routes(patterns=None, prefix="", namespace=""):
    """Every named route of the URL resolver that serves an HTML page: {name: route}."""
    found = {}
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(NOT_PAGE_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.update(page_routes(entry.url_patterns, route, inner))
        elif isinstance(entry, URLPattern) and entry.name:
            name = namespace + entry.name
            if name not in NOT_PAGES:
                found[name] = route
    return found


@dataclass(frozen=True)
class Check:
    """One page in one state: `visit(page, app, watcher)` leaves it ready for axe."""

    id: str
    route: str | None  # the view whose URL it is shown at; None: a URL of no route
    visit: Callable


def movie_path(page):
    response = page.request.get("/api/search?q=terminator")
    assert response.ok
    return f"/movies/{response.json()['movies'][0]['id']}/"


def wait_for_results(page, text):
    expect(page.locator("#search-results .summary")).to_contain_text(text)


def visit_search_empty(page, app, watcher):
    page.goto("/")
    wait_for_results(page, "movies")


def visit_search_results(page, app, watcher):
    page.goto("/?q=heat")
    wait_for_results(page, "of")
    expect(page.locator("nav.pagination")).to_be_visible()


def visit_search_results_on_a_phone(page, app, watcher):
    page.set_viewport_size({"width": 390, "height": 844})
    visit_search_results(page, app, watcher)


def visit_search_filtered_all_values_shown(page, app, watcher):
    page.goto("/?q=love&genre=comedy&genre=drama&year_min=1980&sort=year_desc")
    wait_for_results(page, "Clear filters")
    page.locator("button.more-values").first.click()  # the values past the first eight
    expect(page.locator("fieldset.facet li.extra").first).to_be_visible()


def visit_search_suggestions_open(page, app, watcher):
    page.goto("/")
    page.locator("#q").press_sequentially("termin", delay=30)
    expect(page.locator("#suggestions li[role=option]").first).to_be_visible()
    page.locator("#q").press("ArrowDown")
    expect(page.locator("#q")).to_have_attribute("aria-activedescendant", "suggestion-0")


def visit_search_no_results_did_you_mean(page, app, watcher):
    page.goto('/?q="the godfater"')
    expect(page.locator("a.did-you-mean")).to_have_text("the godfather")


def visit_search_bad_input(page, app, watcher):
    watcher.allow(400, r"/\?q=heat&year_min=")
    response = page.goto("/?q=heat&year_min=abc")
    assert response.status == 400
    expect(page.locator(".notice[role=alert]")).to_be_visible()


def visit_search_past_the_last_page(page, app, watcher):
    watcher.allow(400, r"/\?q=terminator&page=")
    response = page.goto("/?q=terminator&page=100")
    assert response.status == 400
    expect(page.locator(".notice[role=alert]")).to_contain_text("past the last page")


def visit_movie(page, app, watcher):
    page.goto(movie_path(page))
    expect(page.locator("section.similar").get_by_role("link").first).to_be_visible()


def visit_login(page, app, watcher):
    page.goto("/accounts/login/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def visit_login_failed(page, app, watcher):
    log_in(page, Account(app.viewer.username, "not-the-password"), "/")
    expect(page.locator("p.error")).to_contain_text("didn't match")


def visit_form_expired(page, app, watcher):
    watcher.allow(403, r"/accounts/login/$")
    page.goto("/accounts/login/")
    page.context.clear_cookies()  # as when the session and its CSRF cookie are gone
    page.get_by_label("Username").fill(app.viewer.username)
    page.get_by_label("Password").fill(app.viewer.password)
    with page.expect_response(app.url + "/accounts/login/") as answer:
        page.get_by_role("button", name="Log in").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()


def visit_not_allowed(page, app, watcher):
    watcher.allow(403, r"/insights/$")
    log_in(page, app.viewer, "/")
    response = page.goto("/insights/")
    assert response.status == 403
    expect(page.locator("main")).to_contain_text("staff only")


def visit_insights_dashboard(page, app, watcher):
    log_in(page, app.staff, "/insights/?range=realtime")
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()
    # Enough page views for the activity feed to scroll, landed before the page renders.
    movie = movie_path(page)
    for _ in range(OVERFLOWING_ROWS):
        assert page.request.get(movie).ok
    poll_json(
        page,
        f"/api/analytics/page-activities?range=realtime&limit={OVERFLOWING_ROWS}",
        lambda answer: len(answer["events"]) >= OVERFLOWING_ROWS,
    )
    page.reload()
    page.wait_for_function(CHART_HAS_DATA_JS, arg="views-chart")
    page.wait_for_function(CHART_HAS_DATA_JS, arg="countries-chart")
    assert page.locator("#activity-feed").evaluate(OVERFLOWS_JS), "the feed does not scroll"


def visit_insights_bad_range(page, app, watcher):
    watcher.allow(400, r"/insights/\?range=")
    log_in(page, app.staff, "/insights/?range=forever")
    expect(page.get_by_role("heading", name="Bad request")).to_be_visible()


def fill_alert_history(app):
    """Resolved alerts in the served app's history, shaped as the alert engine writes
    them, so the dashboard's history list scrolls. Through the operations store's own
    key; the rules' states, which the collector reads, are left alone."""
    from operations import keys

    served = app.served
    resolved_at = datetime.now(UTC) - timedelta(hours=1)  # older than this session's
    fired_at = resolved_at - timedelta(minutes=2)
    resolved = {
        "type": "cpu_usage", "severity": "warning", "state": "resolved",
        "message": "CPU usage resolved: back to 12 %, below 80 %", "value": 12.0,
        "threshold": 90.0, "timestamp": fired_at.isoformat(),
        "timestamp_ms": int(fired_at.timestamp() * 1000), "resolved_at": resolved_at.isoformat(),
        "acknowledged_by": None, "acknowledged_at": None,
    }  # fmt: skip
    # Appended at the old end of the list: the newest entries stay this session's own.
    entries = [{**resolved, "id": secrets.token_hex(8)} for _ in range(OVERFLOWING_ROWS)]
    with override_settings(REDIS_URLS=store_urls(served.redis_port, served.redis_password)):
        get_redis("operations").rpush(keys.ALERTS_KEY, *(json.dumps(entry) for entry in entries))


def visit_operations_dashboard(page, app, watcher):
    fill_alert_history(app)
    log_in(page, app.staff, "/operations/")
    expect(page.get_by_role("heading", name="Operations", exact=True)).to_be_visible()
    for chart in ("chart-system", "chart-requests", "chart-redis"):
        page.wait_for_function(CHART_HAS_DATA_JS, arg=chart)
    expect(page.locator('[data-latest="cpu_usage"]')).to_have_text(re.compile(r"\d"))
    history = page.locator("#alert-history").locator("xpath=..")
    expect(history.locator("tbody tr").nth(OVERFLOWING_ROWS - 1)).to_be_attached()
    assert history.evaluate(OVERFLOWS_JS), "the alert history does not scroll"


def visit_not_found(page, app, watcher):
    watcher.allow(404, r"/no-such-page/$")
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def serve_rendered(page, app, watcher, path, status, html):
    """An error page that the served app shows only when something breaks, rendered by
    Django here and answered in place of `path` with the app's own CSP."""
    watcher.allow(status, re.escape(path) + "$")
    page.route(
        app.url + path,
        lambda route: route.fulfill(
            status=status,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
            body=html,
        ),
    )
    response = page.goto(path)
    assert response.status == status


def visit_unavailable(page, app, watcher):
    request = RequestFactory().get("/?q=heat")
    request.user = AnonymousUser()
    html = render_to_string("503.html", request=request)
    serve_rendered(page, app, watcher, "/?q=heat", 503, html)
    expect(page.get_by_role("heading", name="We'll be right back")).to_be_visible()


def visit_server_error(page, app, watcher):
    serve_rendered(page, app, watcher, "/movies/1/", 500, render_to_string("500.html"))
    expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()


CHECKS = [
    Check("search-empty", "search", visit_search_empty),
    Check("search-results", "search", visit_search_results),
    Check("search-results-phone", "search", visit_search_results_on_a_phone),
    Check("search-filtered", "search", visit_search_filtered_all_values_shown),
    Check("search-suggestions-open", "search", visit_search_suggestions_open),
    Check("search-did-you-mean", "search", visit_search_no_results_did_you_mean),
    Check("search-bad-input-400", "search", visit_search_bad_input),
    Check("search-past-last-page-400", "search", visit_search_past_the_last_page),
    Check("movie", "movie", visit_movie),
    Check("login", "login", visit_login),
    Check("login-failed", "login", visit_login_failed),
    Check("form-expired-403", "login", visit_form_expired),
    Check("staff-only-403", "insights:dashboard", visit_not_allowed),
    Check("insights-dashboard", "insights:dashboard", visit_insights_dashboard),
    Check("insights-bad-range-400", "insights:dashboard", visit_insights_bad_range),
    Check("operations-dashboard", "operations:dashboard", visit_operations_dashboard),
    Check("not-found-404", None, visit_not_found),
    Check("unavailable-503", "search", visit_unavailable),
    Check("server-error-500", "movie", visit_server_error),
]


def test_every_page_route_has_an_accessibility_check():
    routes = page_routes()
    assert {"search", "movie", "login", "insights:dashboard", "operations:dashboard"} <= set(
        routes
    ), routes  # the walk itself works
    missing = set(routes) - {check.route for check in CHECKS}
    assert not missing, f"pages without an accessibility check in CHECKS: {sorted(missing)}"


@pytest.mark.parametrize("check", CHECKS, ids=[check.id for check in CHECKS])
def test_page_has_no_wcag_violation(check, page, served_app, watcher):
    check.visit(page, served_app, watcher)
    path = urlsplit(page.url).path
    if check.route is None:
        with pytest.raises(Resolver404):
            resolve(path)
    else:
        assert resolve(path).view_name == check.route, f"{check.id} landed on {page.url}"
    assert_accessible(page, check.id)


def test_a_violation_fails_with_rule_impact_place_and_help(page):
    """The check itself can fail: a page with an unlabelled field."""
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Form</title></head>'
        '<body><main><h1>Form</h1><input type="text" id="nameless"></main></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "the unlabelled field")
    message = str(failure.value)
    assert message.startswith("the unlabelled field: 1 WCAG 2 A/AA rule(s) violated"), message
    assert "- label (critical): Form elements must have labels" in message
    assert 'at "#nameless"' in message
    assert re.search(r"help: https://dequeuniversity\.com/rules/axe/[\d.]+/label\b", message)
