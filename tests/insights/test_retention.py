"""Retention and expiry with a controllable clock (store.now_ms), and long ranges read
from the compactions."""

import pytest

from config.redis_stores import get_redis
from insights import reports, store
from insights.ranges import RANGES
from telemetry.units import DAY_MS, HOUR_MS

from .conftest import visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]

DAY = DAY_MS


def _raw_samples(key):
    return [(t, v) for t, v in get_redis("analytics").ts().range(key, "-", "+") if v]


def test_page_views_are_trimmed_after_90_days_and_daily_hashes_expire(client, clock):
    real_now = clock.now
    clock.set(real_now - 100 * DAY)
    visit(client, "/movies/1/", HTTP_ACCEPT_LANGUAGE="en-US")
    old_day = store.page_views_daily_key(clock.now)
    old_month = store.user_countries_monthly_key(clock.now)
    analytics = get_redis("analytics")
    # its day ended 100 days ago: 90 days of retention are over, the hash is already gone
    assert not analytics.exists(old_day)
    # countries are kept 180 days: the month's hash lives on
    assert analytics.hget(old_month, "United States") == "1"
    assert analytics.pttl(old_month) > 60 * DAY
    assert len(_raw_samples("user_activity:page_views")) == 1

    clock.set(real_now - 80 * DAY)
    visit(client, "/movies/1/", HTTP_ACCEPT_LANGUAGE="en-US")
    kept_day = store.page_views_daily_key(clock.now)
    assert analytics.hget(kept_day, "movie-detail") == "1"
    assert 9 * DAY < analytics.pttl(kept_day) <= 11 * DAY

    clock.set(real_now)
    visit(client, "/movies/1/", HTTP_ACCEPT_LANGUAGE="en-US")
    # retention counts from the newest sample: the 100-day-old view is trimmed, the
    # 80-day-old one is kept, in the raw series and in its daily compaction
    assert next(t for t, _ in _raw_samples("user_activity:page_views")) >= real_now - 81 * DAY
    assert len(_raw_samples("user_activity:page_views")) == 2
    # the day buckets trim from their own newest bucket (today): the 100-day-old is gone
    assert [t for t, _ in _raw_samples("user_activity:page_views:daily")] == [
        real_now - 80 * DAY - (real_now - 80 * DAY) % DAY,
        real_now - real_now % DAY,
    ]
    clock.shift(DAY)
    visit(client, "/movies/1/", HTTP_ACCEPT_LANGUAGE="en-US")
    # the country series keeps 180 days: all four views
    assert len(_raw_samples("user_activity:country_distribution:US")) == 4
    body = reports.page_views(RANGES["90d"])
    assert body["total"] == 3
    assert reports.user_countries(RANGES["90d"])["total"] == 3


def test_searches_are_kept_30_days(client, clock):
    real_now = clock.now
    clock.set(real_now - 40 * DAY)
    visit(client, "/search/?q=old+query&n=0")
    analytics = get_redis("analytics")
    assert not analytics.exists(store.search_activities_key("daily", clock.now))
    assert not analytics.exists(store.search_activities_key("daily", clock.now, "zero_results"))
    clock.set(real_now - 20 * DAY)
    visit(client, "/search/?q=kept+query&n=1")
    kept = store.search_activities_key("daily", clock.now)
    assert analytics.zscore(kept, "kept query") == 1
    assert 9 * DAY < analytics.pttl(kept) <= 11 * DAY
    # minute and hourly sets only serve the realtime and 24h views: gone long ago
    assert not analytics.exists(store.search_activities_key("hourly", clock.now))
    clock.set(real_now)
    visit(client, "/search/?q=new+query&n=1")
    assert len(_raw_samples("search_analytics:query_frequency")) == 2
    assert len(_raw_samples("user_activity:search_queries")) == 2
    body = reports.search_activities(RANGES["90d"])
    assert body["total_searches"] == 2
    assert {q["query"] for q in body["top_queries"]} == {"kept query", "new query"}
    assert body["zero_result_searches"] == 0


def test_long_ranges_read_compactions_and_compare_with_the_period_before(client, clock):
    real_now = clock.now
    today = real_now - real_now % DAY
    clock.set(today - 9 * DAY + 5000)  # in the previous 7-day period
    for _ in range(4):
        visit(client, "/")
    clock.set(today - 3 * DAY + 7000)
    for _ in range(2):
        visit(client, "/movies/2/")
    clock.set(real_now)
    for _ in range(4):
        visit(client, "/")
    body = reports.page_views(RANGES["7d"])
    assert body["total"] == 6
    assert body["previous_total"] == 4
    assert body["change_pct"] == 50.0
    by_day = {p["t"][:10]: p["views"] for p in body["series"]}
    assert len(by_day) == 7 and sum(by_day.values()) == 6
    assert max(by_day.values()) == 4
    assert body["top_pages"] == [
        {"page": "home", "views": 4},
        {"page": "movie-detail", "views": 2},
    ]
    # the days come from the day buckets, not from raw samples
    daily = get_redis("analytics").ts().range("user_activity:page_views:daily", "-", "+")
    assert (today - 3 * DAY, 2.0) in daily and (today - 9 * DAY, 4.0) in daily
    # 90 days: the previous period is beyond retention, so no comparison is claimed
    long = reports.page_views(RANGES["90d"])
    assert long["total"] == 10 and long["previous_total"] is None and long["change_pct"] is None
    kpis = reports.dashboard(RANGES["90d"])["kpis"]
    assert kpis[0]["change"]["text"] == "—"
    assert "retention" in kpis[0]["change"]["title"]


def test_an_idle_series_shows_nothing_beyond_its_retention(client, clock):
    """Retention trims from a series' newest sample: with no writes since, old searches
    are still stored, but reads stop at the retention (30 days for searches)."""
    real_now = clock.now
    clock.set(real_now - 25 * DAY)
    visit(client, "/search/?q=aging&n=1")
    assert reports.search_activities(RANGES["30d"])["total_searches"] == 1
    clock.set(real_now + 10 * DAY)  # 35 days later, nothing recorded in between
    assert len(_raw_samples("search_analytics:query_frequency")) == 1  # still stored
    for name in ("30d", "90d"):
        assert reports.search_activities(RANGES[name])["total_searches"] == 0


def test_visitor_hyperloglogs_and_salts_expire(client, clock):
    visit(client, "/")
    analytics = get_redis("analytics")
    minute = store.unique_visitors_key("minute", clock.now)
    hourly = store.unique_visitors_key("hourly", clock.now)
    daily = store.unique_visitors_key("daily", clock.now)
    assert 0 < analytics.pttl(minute) <= 2 * HOUR_MS
    assert DAY_MS < analytics.pttl(hourly) <= 3 * DAY_MS
    assert 89 * DAY < analytics.pttl(daily) <= 91 * DAY
    assert 0 < analytics.pttl(store.visitor_salt_key(clock.now)) <= DAY
