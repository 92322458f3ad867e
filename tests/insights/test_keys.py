"""The names and lifetimes of the analytics keys (insights.keys): plain functions."""

from datetime import UTC, datetime

import pytest

from insights import keys
from insights.series import COUNTRY_RETENTION_MS, PAGE_VIEWS_RETENTION_MS
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS


def _ms(*args):
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


MOMENT = _ms(2026, 3, 14, 15, 9, 26)


def test_page_views_are_hashed_per_utc_day():
    assert keys.page_views_daily_key(MOMENT) == "page_views:daily:2026-03-14"


def test_a_daily_page_hash_expires_the_retention_after_its_day_ends():
    day_end = _ms(2026, 3, 15)
    assert keys.page_views_daily_expires_at(MOMENT) == day_end + PAGE_VIEWS_RETENTION_MS


def test_countries_are_hashed_per_utc_month():
    assert keys.user_countries_monthly_key(MOMENT) == "user_countries:monthly:2026-03"


def test_a_monthly_country_hash_expires_the_retention_after_its_month_ends():
    month_end = _ms(2026, 4, 1)
    assert keys.user_countries_monthly_expires_at(MOMENT) == month_end + COUNTRY_RETENTION_MS


def test_the_december_hash_ends_with_the_year():
    december = _ms(2026, 12, 31, 23, 59)
    assert keys.user_countries_monthly_expires_at(december) == _ms(2027, 1, 1) + (
        COUNTRY_RETENTION_MS
    )


@pytest.mark.parametrize(
    ("granularity", "name"),
    [
        ("minute", "unique_visitors:minute:2026-03-14T15:09"),
        ("hourly", "unique_visitors:hourly:2026-03-14T15"),
        ("daily", "unique_visitors:daily:2026-03-14"),
    ],
)
def test_visitors_are_counted_per_bucket(granularity, name):
    assert keys.unique_visitors_key(granularity, MOMENT) == name


@pytest.mark.parametrize(
    ("granularity", "bucket_end"),
    [
        ("minute", _ms(2026, 3, 14, 15, 10)),
        ("hourly", _ms(2026, 3, 14, 16)),
        ("daily", _ms(2026, 3, 15)),
    ],
)
def test_a_visitor_bucket_outlives_its_end_by_its_ttl(granularity, bucket_end):
    expected = bucket_end + keys.VISITOR_TTL_MS[granularity]
    assert keys.unique_visitors_expires_at(granularity, MOMENT) == expected


def test_a_salt_belongs_to_one_day_and_dies_with_it():
    assert keys.visitor_salt_key(MOMENT) == "unique_visitors:salt:2026-03-14"
    assert keys.visitor_salt_expires_at(MOMENT) == _ms(2026, 3, 15)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("all", "search_activities:hourly:2026-03-14T15"),
        ("zero_results", "search_activities:zero_results:hourly:2026-03-14T15"),
    ],
)
def test_searches_are_ranked_per_bucket_and_kind(kind, name):
    assert keys.search_activities_key("hourly", MOMENT, kind) == name


def test_a_search_bucket_outlives_its_end_by_its_ttl():
    expected = _ms(2026, 3, 14, 15, 10) + keys.SEARCH_TTL_MS["minute"]
    assert keys.search_activities_expires_at("minute", MOMENT) == expected


def test_the_minute_and_hour_buckets_are_kept_only_for_the_short_ranges():
    assert keys.SEARCH_TTL_MS["minute"] == keys.VISITOR_TTL_MS["minute"] == HOUR_MS
    assert keys.SEARCH_TTL_MS["hourly"] == keys.VISITOR_TTL_MS["hourly"] == 2 * DAY_MS


def test_a_live_union_is_named_by_its_length_and_last_day():
    day = _ms(2026, 3, 14)
    assert keys.search_live_key("all", 30, day) == "search_activities:live:30d:2026-03-14"
    assert (
        keys.search_live_key("zero_results", 30, day)
        == "search_activities:zero_results:live:30d:2026-03-14"
    )


def test_a_live_union_lives_an_hour_past_its_last_day():
    day = _ms(2026, 3, 14)
    assert keys.search_live_expires_at(day) == _ms(2026, 3, 15, 1)


def test_a_merge_of_a_range_is_named_by_its_kind_granularity_and_bounds():
    assert keys.search_union_key("all", "daily", 1, 2) == "search_activities:union:all:daily:1:2"


def test_the_merge_of_closed_days_lives_until_today_ends():
    today = _ms(2026, 3, 14)
    assert keys.search_closed_union_key("all", 1, 2) == "search_activities:union:all:closed:1:2"
    assert keys.search_closed_union_expires_at(today) == _ms(2026, 3, 15) + MINUTE_MS
