"""The dashboard and APIs: staff-only, bad input, escaping, CSV, ranges."""

import csv
import io

import pytest

from insights import reports
from insights.ranges import RANGES, InvalidRange, parse_range, window

from .conftest import visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]

APIS = ["page-views", "search-activities", "user-countries", "page-activities"]
PAGES = ["/insights/", "/insights/?range=90d", "/insights/export/pages.csv"]


def test_anonymous_users_are_sent_to_login(client):
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=/insights/")
    for api in APIS:
        response = client.get(f"/api/analytics/{api}")
        assert response.status_code == 401
        assert response.json() == {"error": "authentication required"}


def test_non_staff_users_are_refused(user_client):
    for page in PAGES:
        response = user_client.get(page)
        assert response.status_code == 403
        assert b"staff only" in response.content
    for api in APIS:
        assert user_client.get(f"/api/analytics/{api}").status_code == 403


def test_bad_input_is_a_400_with_the_reason(staff_client):
    page = staff_client.get("/insights/?range=bogus")
    assert page.status_code == 400
    assert b"unknown range" in page.content and b"realtime, 24h, 7d, 30d, 90d" in page.content
    for api in APIS:
        response = staff_client.get(f"/api/analytics/{api}?range=1y")
        assert response.status_code == 400
        assert "unknown range '1y'" in response.json()["error"]
    for limit in ("0", "101", "ten", "-1"):
        response = staff_client.get(f"/api/analytics/page-activities?limit={limit}")
        assert response.status_code == 400
        assert "limit" in response.json()["error"]
    csv_response = staff_client.get("/insights/export/pages.csv?range=<script>")
    assert csv_response.status_code == 400
    assert csv_response["Content-Type"].startswith("text/plain")
    assert staff_client.get("/insights/export/secrets.csv").status_code == 404
    assert staff_client.post("/api/analytics/page-views").status_code == 405
    with pytest.raises(InvalidRange):
        parse_range("7D")
    assert parse_range(None).name == "7d"


def test_every_range_renders_with_its_buckets(client, staff_client):
    visit(client, "/")
    for rng in RANGES.values():
        response = staff_client.get(f"/insights/?range={rng.name}")
        assert response.status_code == 200
        assert response.context["selected"] is rng
        data = response.context["chart_data"]
        assert len(data["views"]["labels"]) == rng.buckets
        assert sum(data["views"]["values"]) == 1
        assert b'aria-current="page"' in response.content
        assert b"vendor/chartjs/chart.umd.min.js" in response.content
        assert b"js/insights.js" in response.content
        assert b"cdn" not in response.content.lower()


def test_window_boundaries():
    now = 1_795_000_000_123
    win = window(RANGES["24h"], now)
    assert win.end_ms - win.start_ms == 24 * 3_600_000
    assert win.start_ms % 3_600_000 == 0 and win.start_ms < now < win.end_ms
    assert win.previous == (win.start_ms - 24 * 3_600_000, win.start_ms)
    assert len(win.bucket_starts) == 24 and len(win.previous_bucket_starts) == 24
    assert window(RANGES["7d"], now).compares_within(90 * 86_400_000)
    assert not window(RANGES["90d"], now).compares_within(90 * 86_400_000)


def test_search_queries_are_escaped_everywhere(client, staff_client):
    evil = "<script>alert(1)</script>"
    visit(client, f"/search/?q={evil}&n=0")
    page = staff_client.get("/insights/?range=24h")
    assert evil.encode() not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content
    api = staff_client.get("/api/analytics/search-activities?range=24h").json()
    assert api["top_queries"] == [{"query": evil, "count": 1}]  # JSON: data, not markup


def test_csv_exports(client, staff_client, settings):
    settings.INSIGHTS_COUNTRY_HEADER = "CF-IPCountry"
    visit(client, "/search/?q=%3DHYPERLINK(%22http://x%22)&n=0", HTTP_CF_IPCOUNTRY="NL")
    visit(client, "/search/?q=heat&n=3", HTTP_CF_IPCOUNTRY="NL")
    visit(client, "/movies/9/", HTTP_CF_IPCOUNTRY="BE")

    def rows(table):
        response = staff_client.get(f"/insights/export/{table}.csv?range=24h")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert f"insights-{table}-24h.csv" in response["Content-Disposition"]
        return list(csv.reader(io.StringIO(response.content.decode())))

    assert rows("pages") == [["page", "views"], ["search", "2"], ["movie-detail", "1"]]
    searches = rows("searches")
    assert searches[0] == ["query", "searches"]
    # a formula-like query is quoted so a spreadsheet shows it instead of running it
    assert sorted(searches[1:]) == [['\'=hyperlink("http://x")', "1"], ["heat", "1"]]
    assert rows("zero-result-searches")[1:] == [['\'=hyperlink("http://x")', "1"]]
    assert rows("countries") == [
        ["country", "views", "share_pct"],
        ["Netherlands", "2", "66.7"],
        ["Belgium", "1", "33.3"],
    ]


def test_kpis_show_change_against_the_previous_period(client, staff_client, clock):
    clock.shift(-26 * 3_600_000)  # in the previous 24 hours
    visit(client, "/")
    visit(client, "/search/?q=a&n=1")
    clock.shift(26 * 3_600_000)
    for _ in range(3):
        visit(client, "/")
    visit(client, "/search/?q=b&n=0")
    visit(client, "/search/?q=c&n=2")
    kpis = {k.label: k for k in reports.dashboard(RANGES["24h"]).kpis}
    assert kpis["Page views"].value == "5"
    assert kpis["Page views"].change == reports.Change(
        text="+150.0%", tone=reports.Tone.GOOD, title="against the previous period"
    )
    assert kpis["Searches"].change.text == "+100.0%"
    assert kpis["Zero-result rate"].value == "50.0%"
    assert kpis["Zero-result rate"].change.text == "+50.0 pt"
    assert kpis["Zero-result rate"].change.tone == "bad"
    page = staff_client.get("/insights/?range=24h")
    assert b"+150.0%" in page.content
