"""Retention and expiry with a controllable clock (store.now_ms), and long ranges read
from the compactions."""

import pytest

from config.redis_stores import get_redis
from insights import keys, reports, retention
from insights.ranges import RANGES
from telemetry.units import DAY_MS, HOUR_MS

from .conftest import visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]

DAY = DAY_MS


def _raw_samples(key):
    return [(t, v) for t, v in get_redis("analytics").ts().range(key, "-", "+") if v]


def _visit_movie(client, clock, at_ms):
    clock.set(at_ms)
    visit(client, "/movies/1/", HTTP_ACCEPT_LANGUAGE="en-US")


def test_a_daily_page_hash_is_gone_once_its_retention_is_over(client, clock):
    _visit_movie(client, clock, clock.now - 100 * DAY)
    # its day ended 100 days ago: 90 days of retention are over
    assert not get_redis("analytics").exists(keys.page_views_daily_key(clock.now))


def test_a_sample_older_than_the_retention_stays_until_a_newer_one_trims_it(client, clock):
    _visit_movie(client, clock, clock.now - 100 * DAY)
    assert len(_raw_samples("user_activity:page_views")) == 1


def test_a_monthly_country_hash_outlives_the_page_retention(client, clock):
    _visit_movie(client, clock, clock.now - 100 * DAY)
    month = keys.user_countries_monthly_key(clock.now)
    analytics = get_redis("analytics")
    # countries are kept 180 days: the month's hash lives on
    assert analytics.hget(month, "United States") == "1"
    assert analytics.pttl(month) > 60 * DAY


def test_a_daily_page_hash_expires_90_days_after_its_day(client, clock):
    _visit_movie(client, clock, clock.now - 80 * DAY)
    day = keys.page_views_daily_key(clock.now)
    analytics = get_redis("analytics")
    assert analytics.hget(day, "movie-detail") == "1"
    assert 9 * DAY < analytics.pttl(day) <= 11 * DAY


@pytest.fixture
def views_100_80_and_0_days_ago(client, clock):
    """One page view 100 days ago, one 80 days ago and one now; returns now."""
    real_now = clock.now
    for days_ago in (100, 80, 0):
        _visit_movie(client, clock, real_now - days_ago * DAY)
    return real_now


def test_a_new_sample_trims_raw_page_views_older_than_90_days(views_100_80_and_0_days_ago):
    now = views_100_80_and_0_days_ago
    samples = _raw_samples("user_activity:page_views")
    # retention counts from the newest sample: the 100-day-old view is trimmed
    assert next(t for t, _ in samples) >= now - 81 * DAY
    assert len(samples) == 2


def test_the_day_buckets_trim_from_their_own_newest_bucket(views_100_80_and_0_days_ago):
    now = views_100_80_and_0_days_ago
    eighty_days_ago = now - 80 * DAY
    assert [t for t, _ in _raw_samples("user_activity:page_views:daily")] == [
        eighty_days_ago - eighty_days_ago % DAY,
        now - now % DAY,
    ]


def test_the_country_series_keeps_180_days(client, clock, views_100_80_and_0_days_ago):
    _visit_movie(client, clock, views_100_80_and_0_days_ago + DAY)
    assert len(_raw_samples("user_activity:country_distribution:US")) == 4


def test_the_90_day_reports_count_the_retained_views(client, clock, views_100_80_and_0_days_ago):
    _visit_movie(client, clock, views_100_80_and_0_days_ago + DAY)
    # the 80-day-old view, today's and tomorrow's; not the 100-day-old one
    assert reports.page_views(RANGES["90d"]).total == 3
    assert reports.user_countries(RANGES["90d"]).total == 3


def _search(client, clock, at_ms, path):
    clock.set(at_ms)
    visit(client, path)


def test_a_search_older_than_30_days_leaves_no_ranking(client, clock):
    _search(client, clock, clock.now - 40 * DAY, "/search/?q=old+query&n=0")
    analytics = get_redis("analytics")
    assert not analytics.exists(keys.search_activities_key("daily", clock.now))
    assert not analytics.exists(keys.search_activities_key("daily", clock.now, "zero_results"))


def test_a_daily_search_ranking_expires_30_days_after_its_day(client, clock):
    _search(client, clock, clock.now - 20 * DAY, "/search/?q=kept+query&n=1")
    kept = keys.search_activities_key("daily", clock.now)
    analytics = get_redis("analytics")
    assert analytics.zscore(kept, "kept query") == 1
    assert 9 * DAY < analytics.pttl(kept) <= 11 * DAY


def test_the_hourly_ranking_serves_only_the_short_ranges(client, clock):
    _search(client, clock, clock.now - 20 * DAY, "/search/?q=kept+query&n=1")
    # minute and hourly sets only serve the realtime and 24h views: gone long ago
    assert not get_redis("analytics").exists(keys.search_activities_key("hourly", clock.now))


@pytest.fixture
def searches_40_20_and_0_days_ago(client, clock):
    """A zero-result search 40 days ago, a search 20 days ago and one now."""
    real_now = clock.now
    _search(client, clock, real_now - 40 * DAY, "/search/?q=old+query&n=0")
    _search(client, clock, real_now - 20 * DAY, "/search/?q=kept+query&n=1")
    _search(client, clock, real_now, "/search/?q=new+query&n=1")


def test_a_new_search_trims_the_search_series_to_30_days(searches_40_20_and_0_days_ago):
    assert len(_raw_samples("search_analytics:query_frequency")) == 2
    assert len(_raw_samples("user_activity:search_queries")) == 2


def test_the_90_day_view_counts_the_30_retained_days_of_searches(searches_40_20_and_0_days_ago):
    body = reports.search_activities(RANGES["90d"])
    assert body.total_searches == 2
    assert {q.query for q in body.top_queries} == {"kept query", "new query"}
    assert body.zero_result_searches == 0


@pytest.fixture
def views_in_two_weeks(client, clock):
    """4 views of the home page 9 days ago (the previous 7-day period), 2 of a movie 3
    days ago and 4 of the home page now; returns the start of today."""
    real_now = clock.now
    today = real_now - real_now % DAY
    clock.set(today - 9 * DAY + 5000)
    for _ in range(4):
        visit(client, "/")
    clock.set(today - 3 * DAY + 7000)
    for _ in range(2):
        visit(client, "/movies/2/")
    clock.set(real_now)
    for _ in range(4):
        visit(client, "/")
    return today


def test_a_7_day_report_compares_with_the_7_days_before(views_in_two_weeks):
    body = reports.page_views(RANGES["7d"])
    assert body.total == 2 + 4
    assert body.previous_total == 4
    assert body.change_pct == 50.0


def test_a_7_day_report_has_one_point_per_day(views_in_two_weeks):
    by_day = {p.t[:10]: p.views for p in reports.page_views(RANGES["7d"]).series}
    assert len(by_day) == 7 and sum(by_day.values()) == 6
    assert max(by_day.values()) == 4


def test_a_7_day_report_ranks_its_pages(views_in_two_weeks):
    assert reports.page_views(RANGES["7d"]).top_pages == [
        reports.PageRow(page="home", views=4),
        reports.PageRow(page="movie-detail", views=2),
    ]


def test_the_days_come_from_the_day_buckets(views_in_two_weeks):
    today = views_in_two_weeks
    daily = get_redis("analytics").ts().range("user_activity:page_views:daily", "-", "+")
    assert (today - 3 * DAY, 2.0) in daily and (today - 9 * DAY, 4.0) in daily


def test_a_90_day_report_claims_no_comparison_beyond_the_retention(views_in_two_weeks):
    long = reports.page_views(RANGES["90d"])
    assert long.total == 4 + 2 + 4
    assert long.previous_total is None and long.change_pct is None


def test_a_kpi_without_comparison_says_why(views_in_two_weeks):
    kpis = reports.dashboard(RANGES["90d"]).kpis
    assert kpis[0].change.text == "—"
    assert "retention" in kpis[0].change.title


@pytest.fixture
def search_25_days_ago(client, clock):
    real_now = clock.now
    _search(client, clock, real_now - 25 * DAY, "/search/?q=aging&n=1")
    return real_now


def test_a_search_inside_the_retention_is_counted(search_25_days_ago):
    assert reports.search_activities(RANGES["30d"]).total_searches == 1


@pytest.mark.parametrize("name", ["30d", "90d"])
def test_an_idle_series_shows_nothing_beyond_its_retention(clock, search_25_days_ago, name):
    """Retention trims from a series' newest sample: with no writes since, the old
    search is still stored, but reads stop at the retention (30 days for searches)."""
    clock.set(search_25_days_ago + 10 * DAY)  # 35 days later, nothing recorded in between
    assert len(_raw_samples("search_analytics:query_frequency")) == 1  # still stored
    assert reports.search_activities(RANGES[name]).total_searches == 0


@pytest.mark.parametrize(
    ("granularity", "low", "high"),
    [
        ("minute", 0, 2 * HOUR_MS),
        ("hourly", DAY, 3 * DAY),
        ("daily", 89 * DAY, 91 * DAY),
    ],
)
def test_a_visitor_hyperloglog_expires_with_its_ttl(client, clock, granularity, low, high):
    visit(client, "/")
    pttl = get_redis("analytics").pttl(keys.unique_visitors_key(granularity, clock.now))
    assert low < pttl <= high


def test_the_visitor_salt_expires_within_a_day(client, clock):
    visit(client, "/")
    assert 0 < get_redis("analytics").pttl(keys.visitor_salt_key(clock.now)) <= DAY


def test_a_read_starts_at_the_first_whole_bucket_inside_the_retention():
    now = 1_795_000_000_123
    start = retention.retained_from(7 * DAY, "daily", now)
    assert start % DAY == 0
    assert now - 7 * DAY <= start < now - 7 * DAY + DAY


def test_a_read_of_raw_samples_starts_exactly_at_the_retention():
    now = 1_795_000_000_123
    assert retention.retained_from(7 * DAY, "raw", now) == now - 7 * DAY
