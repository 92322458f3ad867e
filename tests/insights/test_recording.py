"""Requests through the real middleware into the real Redis Stack, read back through the
APIs, the dashboard and the keys themselves."""

import pytest

from config.events import PAGE_VIEW, recent_events
from config.redis_stores import get_redis
from insights import keys, search_store, series_reads, store
from insights.series import search_queries_series
from telemetry.units import DAY_MS, HOUR_MS
from tests.conftest import empty_store

from .conftest import BROWSER_UA, visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_n_requests_are_reported_exactly(client, staff_client, settings):
    settings.INSIGHTS_COUNTRY_HEADER = "CF-IPCountry"
    for n in range(7):
        visit(client, f"/movies/{n}/", HTTP_CF_IPCOUNTRY="US")
    for _ in range(3):
        visit(client, "/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")  # no header: Accept-Language
    visit(client, "/", ua=FIREFOX, HTTP_CF_IPCOUNTRY="XX")  # unknown, no Accept-Language

    for rng in ("realtime", "24h", "7d", "30d", "90d"):
        views = staff_client.get(f"/api/analytics/page-views?range={rng}").json()
        assert views["total"] == 11, rng
        assert views["top_pages"] == [
            {"page": "movie-detail", "views": 7},
            {"page": "home", "views": 4},
        ], rng
        assert sum(p["views"] for p in views["series"]) == 11
        assert views["unique_visitors"] == 2  # one IP, two browsers
        countries = staff_client.get(f"/api/analytics/user-countries?range={rng}").json()
        assert countries["total"] == 11
        assert countries["countries"] == [
            {"country": "United States", "views": 7, "share_pct": 63.6},
            {"country": "Germany", "views": 3, "share_pct": 27.3},
            {"country": "Unknown", "views": 1, "share_pct": 9.1},
        ]
    month = countries["current_month"]["countries"]
    assert {c["country"]: c["views"] for c in month} == {
        "United States": 7,
        "Germany": 3,
        "Unknown": 1,
    }
    page = staff_client.get("/insights/?range=24h")
    assert page.status_code == 200
    assert page.context["report"].page_views.total == 11
    assert page.context["report"].kpis[0].value == "11"
    assert b"movie-detail" in page.content and b"United States" in page.content


def test_bots_static_admin_apis_and_failures_are_not_counted(client, staff_client):
    visit(client, "/", ua="Googlebot/2.1 (+http://www.google.com/bot.html)")
    visit(client, "/", ua="")
    visit(client, "/static/fake.css")
    visit(client, "/admin/fake/")
    visit(client, "/health/fake")
    visit(client, "/plain/")
    visit(client, "/moved/")
    visit(client, "/no-such-page/")
    client.post("/", HTTP_USER_AGENT=BROWSER_UA)
    visit(client, "/api/search?q=alien")  # a search, but not a page view
    visit(client, "/")  # the only page view
    views = staff_client.get("/api/analytics/page-views?range=24h").json()
    assert views["total"] == 1
    assert views["top_pages"] == [{"page": "home", "views": 1}]
    # the dashboard's own requests are not page views either
    assert staff_client.get("/api/analytics/page-views?range=24h").json()["total"] == 1
    assert len(recent_events(10, kinds={PAGE_VIEW})) == 1


def test_one_visitor_counts_once_a_day_and_the_salt_rotates(client, staff_client, clock):
    day0 = clock.now
    for _ in range(5):
        visit(client, "/")
    visit(client, "/", ip="198.51.100.9")
    assert staff_client.get("/api/analytics/page-views?range=24h").json()["unique_visitors"] == 2
    analytics = get_redis("analytics")
    first_salt = analytics.get(keys.visitor_salt_key(day0))
    assert first_salt and analytics.pttl(keys.visitor_salt_key(day0)) <= DAY_MS

    clock.shift(DAY_MS)
    visit(client, "/")
    # a new day, a new salt; yesterday's is gone so its hashes cannot be recomputed
    assert analytics.get(keys.visitor_salt_key(day0)) is None
    assert analytics.get(keys.visitor_salt_key(clock.now)) not in (None, first_salt)
    daily = store.unique_visitors("daily", [clock.now - clock.now % DAY_MS])
    assert daily == 1
    # nothing anywhere holds the IP address
    for key in analytics.scan_iter("*"):
        if analytics.type(key) == "hash":
            assert not any("198.51" in f or "203.0" in f for f in analytics.hgetall(key))
    assert not any("203.0" in str(e["data"]) for e in recent_events(50))


def test_searches_from_pages_and_the_api(client, staff_client):
    for _ in range(3):
        visit(client, "/search/?q=Star+Wars&n=12&ms=10")
    visit(client, "/search/?q=star%20%20wars&n=12&ms=20")  # normalised to the same query
    visit(client, "/search/?q=zzyzx&n=0&ms=2")
    visit(client, "/api/search?q=alien&n=5&ms=3")  # an API search: analytics, no page view
    visit(client, "/api/search?q=qwxz&n=0&ms=1")
    visit(client, "/search/?q=")  # browsing without a query is a page view, not a search
    visit(client, "/search/?q=Star+Wars", ua="bingbot/2.0")  # bots' searches are ignored

    for rng in ("realtime", "24h", "7d", "30d"):
        body = staff_client.get(f"/api/analytics/search-activities?range={rng}").json()
        assert body["total_searches"] == 7, rng
        assert body["zero_result_searches"] == 2
        assert body["zero_result_rate"] == 28.6
        assert body["top_queries"][0] == {"query": "star wars", "count": 4}
        assert {q["query"] for q in body["top_queries"]} == {
            "star wars",
            "zyzx"[:0] + "zzyzx",
            "alien",
            "qwxz",
        }
        assert body["zero_result_queries"] == [
            {"query": "zzyzx", "count": 1},
            {"query": "qwxz", "count": 1},
        ] or body["zero_result_queries"] == [
            {"query": "qwxz", "count": 1},
            {"query": "zzyzx", "count": 1},
        ]
        assert body["distinct_queries"] == 4
        assert body["average_result_count"] == round((12 * 4 + 5) / 7, 1)
        assert body["average_response_ms"] == round((30 + 20 + 2 + 3 + 1) / 7, 2)
        assert sum(p["searches"] for p in body["series"]) == 7
    views = staff_client.get("/api/analytics/page-views?range=24h").json()
    assert views["top_pages"] == [{"page": "search", "views": 6}]
    # searches made on pages (user activity) vs every search (search analytics)
    assert (
        series_reads.series_totals(
            [search_queries_series()], "hourly", [(0, store.now_ms() + HOUR_MS)]
        )[(search_queries_series().key, 0)]
        == 5
    )


def test_series_are_created_with_labels_retention_and_buckets(client):
    visit(client, "/search/?q=heat&n=0")
    ts = get_redis("analytics").ts()
    expected = {
        "user_activity:page_views": 90,
        "user_activity:page_views:page:search": 90,
        "user_activity:country_distribution:ZZ": 180,
        "user_activity:search_queries": 30,
        "search_analytics:query_frequency": 30,
        "search_analytics:zero_results": 30,
        "search_analytics:result_counts": 30,
        "search_analytics:response_times": 7,
    }
    for key, days in expected.items():
        for level, retention in (
            ("", days * DAY_MS),
            (":minute", 3 * HOUR_MS),
            (":hourly", days * DAY_MS),
            (":daily", days * DAY_MS),
        ):
            info = ts.info(key + level)
            assert info.retention_msecs == retention, key + level
            assert info.duplicate_policy == "sum", key + level
            assert info.labels["granularity"] == (level[1:] or "raw")
            assert info.rules == [] or info.rules == {}  # buckets are app-written
        assert ts.range(key + ":daily", "-", "+")[0][0] % DAY_MS == 0  # bucket starts
    assert ts.info("user_activity:page_views:page:search").labels["page"] == "search"
    assert ts.info("user_activity:country_distribution:ZZ").labels["country"] == "Unknown"
    assert ts.range("search_analytics:zero_results:hourly", "-", "+")[0][1] == 1


def test_a_series_emptied_under_a_running_process_is_recreated(client):
    visit(client, "/")
    empty_store("analytics")  # not FLUSHDB: RediSearch would drop every index
    visit(client, "/")  # this process believed the series existed: that write is refused
    visit(client, "/")  # ... and the refusal made it create them again
    daily = get_redis("analytics").ts().range("user_activity:page_views:daily", "-", "+")
    assert daily[0][1] == 1
    info = get_redis("analytics").ts().info("user_activity:page_views:daily")
    assert info.labels == {"type": "page_views", "granularity": "daily"}
    assert info.retention_msecs == 90 * DAY_MS


def test_a_batch_of_hits_is_summed_per_key(client):
    t = store.now_ms()
    hits = [
        store.Hit(timestamp_ms=t, page="home", visitor="a"),
        store.Hit(timestamp_ms=t, page="home", visitor="b"),
        store.Hit(timestamp_ms=t + 1, page="search", visitor="a",
                  search=store.SearchHit("dune", 0, 2.5)),
    ]  # fmt: skip
    assert store.record_hits(hits) == 0
    ts = get_redis("analytics").ts()
    assert ts.range("user_activity:page_views", "-", "+") == [(t, 2.0), (t + 1, 1.0)]
    assert ts.range("user_activity:page_views:hourly", "-", "+")[0][1] == 3
    assert get_redis("analytics").hgetall(keys.page_views_daily_key(t)) == {
        "home": "2",
        "search": "1",
    }
    assert store.unique_visitors("daily", [t - t % DAY_MS]) == 2
    assert search_store.top_searches("zero_results", "daily", [t - t % DAY_MS]) == (
        [("dune", 1)],
        1,
    )


def test_page_activity_feed(client, staff_client):
    visit(client, "/movies/1/", HTTP_ACCEPT_LANGUAGE="fr-FR")
    visit(client, "/search/?q=amelie&n=2")
    body = staff_client.get("/api/analytics/page-activities?range=realtime&limit=5").json()
    assert [e["page"] for e in body["events"]] == ["search", "movie-detail"]  # newest first
    assert body["events"][1]["country"] == "France"
    assert body["events"][0]["search"] == "amelie" and body["events"][0]["results"] == 2
    one = staff_client.get("/api/analytics/page-activities?range=realtime&limit=1").json()
    assert len(one["events"]) == 1


def test_tracking_can_be_switched_off(client, staff_client, settings):
    settings.INSIGHTS_TRACKING_ENABLED = False
    visit(client, "/")
    visit(client, "/search/?q=x")
    assert get_redis("analytics").dbsize() == 0
    assert recent_events(5) == []


def test_the_middleware_sits_after_authentication_and_before_the_outage_handler(settings):
    chain = settings.MIDDLEWARE
    mine = chain.index("insights.middleware.InsightsTrackingMiddleware")
    assert chain.index("django.contrib.auth.middleware.AuthenticationMiddleware") < mine
    assert mine < chain.index("config.middleware.RedisOutageMiddleware")
