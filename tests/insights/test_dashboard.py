"""The dashboard and APIs: staff-only, bad input, escaping, CSV, ranges."""

import csv
import io

import pytest

from insights import reports
from insights.ranges import RANGES, InvalidRange, parse_range, window
from insights.series import PAGE_VIEWS_RETENTION_MS
from telemetry.units import HOUR_MS

from .conftest import visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]

APIS = ["page-views", "search-activities", "user-countries", "page-activities"]
PAGES = ["/insights/", "/insights/?range=90d", "/insights/export/pages.csv"]


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_users_are_sent_to_login(client, page):
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/insights/")


@pytest.mark.parametrize("api", APIS)
def test_anonymous_api_calls_are_refused_as_unauthenticated(client, api):
    response = client.get(f"/api/analytics/{api}")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required"}


@pytest.mark.parametrize("page", PAGES)
def test_non_staff_users_are_refused_the_pages(user_client, page):
    response = user_client.get(page)
    assert response.status_code == 403
    assert b"staff only" in response.content


@pytest.mark.parametrize("api", APIS)
def test_non_staff_users_are_refused_the_apis(user_client, api):
    assert user_client.get(f"/api/analytics/{api}").status_code == 403


def test_an_unknown_range_is_a_400_page_naming_the_ranges(staff_client):
    page = staff_client.get("/insights/?range=bogus")
    assert page.status_code == 400
    assert b"unknown range" in page.content and b"realtime, 24h, 7d, 30d, 90d" in page.content


@pytest.mark.parametrize("api", APIS)
def test_an_unknown_range_is_a_400_api_answer_naming_it(staff_client, api):
    response = staff_client.get(f"/api/analytics/{api}?range=1y")
    assert response.status_code == 400
    assert "unknown range '1y'" in response.json()["error"]


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1"])
def test_a_limit_out_of_bounds_is_a_400_naming_the_limit(staff_client, limit):
    response = staff_client.get(f"/api/analytics/page-activities?limit={limit}")
    assert response.status_code == 400
    assert "limit" in response.json()["error"]


def test_a_csv_export_of_an_unknown_range_is_a_plain_text_400(staff_client):
    response = staff_client.get("/insights/export/pages.csv?range=<script>")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_a_csv_export_of_an_unknown_table_is_a_404(staff_client):
    assert staff_client.get("/insights/export/secrets.csv").status_code == 404


def test_the_apis_answer_only_get(staff_client):
    assert staff_client.post("/api/analytics/page-views").status_code == 405


def test_range_names_are_case_sensitive():
    with pytest.raises(InvalidRange):
        parse_range("7D")


def test_no_range_is_the_7_day_range():
    assert parse_range(None).name == "7d"


@pytest.mark.parametrize("rng", RANGES.values(), ids=RANGES)
def test_every_range_charts_one_label_per_bucket(client, staff_client, rng):
    visit(client, "/")
    response = staff_client.get(f"/insights/?range={rng.name}")
    assert response.status_code == 200
    assert response.context["selected"] is rng
    data = response.context["chart_data"]
    assert len(data["views"]["labels"]) == rng.buckets
    assert sum(data["views"]["values"]) == 1


@pytest.mark.parametrize("rng", RANGES.values(), ids=RANGES)
def test_the_selected_range_is_marked_current(staff_client, rng):
    response = staff_client.get(f"/insights/?range={rng.name}")
    assert b'aria-current="page"' in response.content


def test_the_charts_load_only_bundled_scripts(staff_client):
    response = staff_client.get("/insights/")
    assert b"vendor/chartjs/chart.umd.min.js" in response.content
    assert b"js/insights.js" in response.content
    assert b"cdn" not in response.content.lower()


NOW = 1_795_000_000_123


def test_a_window_is_its_range_of_whole_buckets_around_now():
    win = window(RANGES["24h"], NOW)
    assert win.end_ms - win.start_ms == 24 * HOUR_MS
    assert win.start_ms % HOUR_MS == 0 and win.start_ms < NOW < win.end_ms
    assert len(win.bucket_starts) == 24


def test_the_previous_period_is_as_long_and_just_before():
    win = window(RANGES["24h"], NOW)
    assert win.previous == (win.start_ms - 24 * HOUR_MS, win.start_ms)
    assert len(win.previous_bucket_starts) == 24


def test_a_comparison_needs_the_previous_period_inside_the_retention():
    assert window(RANGES["7d"], NOW).compares_within(PAGE_VIEWS_RETENTION_MS)
    assert not window(RANGES["90d"], NOW).compares_within(PAGE_VIEWS_RETENTION_MS)


EVIL = "<script>alert(1)</script>"


def test_a_search_query_is_escaped_on_the_dashboard(client, staff_client):
    visit(client, f"/search/?q={EVIL}&n=0")
    page = staff_client.get("/insights/?range=24h")
    assert EVIL.encode() not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content


def test_a_search_query_is_data_in_the_api(client, staff_client):
    visit(client, f"/search/?q={EVIL}&n=0")
    api = staff_client.get("/api/analytics/search-activities?range=24h").json()
    assert api["top_queries"] == [{"query": EVIL, "count": 1}]  # JSON: data, not markup


FORMULA = '=HYPERLINK("http://x")'


@pytest.fixture
def exported(client, staff_client, settings):
    """Three page views (two of them searches, one a formula) and a CSV reader."""
    settings.INSIGHTS_COUNTRY_HEADER = "CF-IPCountry"
    visit(client, "/search/?q=%3DHYPERLINK(%22http://x%22)&n=0", HTTP_CF_IPCOUNTRY="NL")
    visit(client, "/search/?q=heat&n=3", HTTP_CF_IPCOUNTRY="NL")
    visit(client, "/movies/9/", HTTP_CF_IPCOUNTRY="BE")

    def rows(table):
        response = staff_client.get(f"/insights/export/{table}.csv?range=24h")
        assert response.status_code == 200
        return list(csv.reader(io.StringIO(response.content.decode())))

    return rows


def test_a_csv_export_is_a_named_csv_attachment(exported, staff_client):
    response = staff_client.get("/insights/export/pages.csv?range=24h")
    assert response["Content-Type"].startswith("text/csv")
    assert "insights-pages-24h.csv" in response["Content-Disposition"]


def test_the_pages_export_lists_views_per_page(exported):
    assert exported("pages") == [["page", "views"], ["search", "2"], ["movie-detail", "1"]]


def test_the_searches_export_quotes_a_formula_like_query(exported):
    searches = exported("searches")
    assert searches[0] == ["query", "searches"]
    # a spreadsheet shows the query instead of running it
    assert sorted(searches[1:]) == [["'" + FORMULA.lower(), "1"], ["heat", "1"]]


def test_the_zero_result_export_lists_only_searches_that_found_nothing(exported):
    assert exported("zero-result-searches")[1:] == [["'" + FORMULA.lower(), "1"]]


def test_the_countries_export_lists_views_and_share(exported):
    assert exported("countries") == [
        ["country", "views", "share_pct"],
        ["Netherlands", "2", "66.7"],
        ["Belgium", "1", "33.3"],
    ]


# Two page views in the previous 24 hours, five in the last 24 (searches among them).
EARLIER = ["/", "/search/?q=a&n=1"]
LATER = ["/", "/", "/", "/search/?q=b&n=0", "/search/?q=c&n=2"]


@pytest.fixture
def kpis(client, clock):
    """The 24-hour KPI cards after EARLIER (26 hours ago) and LATER (now)."""
    clock.shift(-26 * HOUR_MS)
    for path in EARLIER:
        visit(client, path)
    clock.shift(26 * HOUR_MS)
    for path in LATER:
        visit(client, path)
    return {k.label: k for k in reports.dashboard(RANGES["24h"]).kpis}


def _searches(paths):
    return [p for p in paths if p.startswith("/search/")]


def test_the_page_views_card_shows_the_count_and_its_rise(kpis):
    change = (len(LATER) - len(EARLIER)) / len(EARLIER) * 100
    assert kpis["Page views"].value == str(len(LATER)) == "5"
    assert kpis["Page views"].change == reports.Change(
        text=f"{change:+.1f}%", tone=reports.Tone.GOOD, title="against the previous period"
    )
    assert kpis["Page views"].change.text == "+150.0%"


def test_the_searches_card_shows_their_rise(kpis):
    before, after = len(_searches(EARLIER)), len(_searches(LATER))
    assert kpis["Searches"].change.text == f"{(after - before) / before * 100:+.1f}%"
    assert kpis["Searches"].change.text == "+100.0%"


def test_the_zero_result_card_shows_the_rate(kpis):
    assert kpis["Zero-result rate"].value == "50.0%"  # "b" of "b" and "c"


def test_a_rising_zero_result_rate_is_bad(kpis):
    assert kpis["Zero-result rate"].change.text == "+50.0 pt"  # from 0% to 50%
    assert kpis["Zero-result rate"].change.tone == "bad"


def test_the_dashboard_shows_the_change(kpis, staff_client):
    page = staff_client.get("/insights/?range=24h")
    assert b"+150.0%" in page.content
