"""The rules of the live search unions (insights.live_unions): plain functions."""

from insights import keys, live_unions
from telemetry.units import DAY_MS, HOUR_MS

TODAY = 1_795_000_000_123 - 1_795_000_000_123 % DAY_MS


def test_a_union_holds_its_last_day_and_the_days_before():
    days = live_unions.source_days(3, TODAY + 5 * HOUR_MS)
    assert days == [TODAY, TODAY - DAY_MS, TODAY - 2 * DAY_MS]


def test_before_the_grace_only_todays_union_is_due():
    assert live_unions.days_to_prepare(TODAY + live_unions.LIVE_BUILD_GRACE_MS - 1) == [TODAY]


def test_after_the_grace_tomorrows_union_is_due_too():
    due = live_unions.days_to_prepare(TODAY + live_unions.LIVE_BUILD_GRACE_MS)
    assert due == [TODAY, TODAY + DAY_MS]


def test_every_kind_and_length_of_a_due_day_is_prepared():
    due = live_unions.unions_to_prepare(TODAY)
    assert due == [
        (kind, days, TODAY) for days in live_unions.LIVE_UNION_DAYS for kind in keys.SEARCH_KINDS
    ]


def test_a_search_goes_into_todays_union_and_tomorrows():
    at = TODAY + 3 * HOUR_MS
    assert live_unions.unions_of_search("all", at) == [
        (keys.search_live_key("all", days, day), keys.search_live_expires_at(day))
        for days in live_unions.LIVE_UNION_DAYS
        for day in (TODAY, TODAY + DAY_MS)
    ]


def test_thirty_consecutive_days_are_served_by_the_thirty_day_union():
    starts = [TODAY - i * DAY_MS for i in range(29, -1, -1)]
    assert live_unions.union_days_for("daily", starts) == 30


def test_a_range_of_another_length_has_no_union():
    starts = [TODAY - i * DAY_MS for i in range(6, -1, -1)]
    assert live_unions.union_days_for("daily", starts) is None


def test_hours_have_no_union():
    starts = [TODAY + i * HOUR_MS for i in range(30)]
    assert live_unions.union_days_for("hourly", starts) is None


def test_thirty_days_with_a_gap_have_no_union():
    starts = [TODAY - i * DAY_MS for i in range(30, 0, -1)]
    starts[-1] = TODAY
    assert live_unions.union_days_for("daily", starts) is None


def test_the_ready_sentinel_ranks_below_every_count():
    assert live_unions.LIVE_READY_SCORE < 1
    assert live_unions.LIVE_READY_MEMBER == ""  # never a query: an empty query is no search
