"""The 30-day live search unions: built ahead of the first render of a day by the
background recorder's housekeeping, kept current by every recorded search, and giving
exactly the numbers a merge of the daily sets gives."""

from collections import Counter

import pytest

from config.redis_stores import get_redis
from insights import keys, live_unions, middleware, reports, search_store, store
from insights.ranges import RANGES
from telemetry.units import DAY_MS, HOUR_MS

from .conftest import visit

pytestmark = [pytest.mark.urls("tests.insights.urls"), pytest.mark.django_db]

DAY = DAY_MS
HOUR = HOUR_MS


def _search(client, clock, at_ms, query, results, log):
    clock.set(at_ms)
    visit(client, f"/search/?q={query.replace(' ', '+')}&n={results}")
    log.append((at_ms, query, results))


def _expected(log, last_day, days=30):
    """Ground truth from what was recorded: query -> count over the days ending then."""
    first = last_day - (days - 1) * DAY
    counts = {"all": Counter(), "zero_results": Counter()}
    for at_ms, query, results in log:
        if first <= at_ms < last_day + DAY:
            counts["all"][query] += 1
            if results == 0:
                counts["zero_results"][query] += 1
    return counts


def _tables(body):
    return {
        "top": [(q.query, q.count) for q in body.top_queries],
        "zero": [(q.query, q.count) for q in body.zero_result_queries],
        "distinct": body.distinct_queries,
        "zero_distinct": body.distinct_zero_result_queries,
        "total": body.total_searches,
        "zero_total": body.zero_result_searches,
    }


def _ranked(counter):
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


@pytest.fixture
def before_midnight(client, clock):
    """Searches over the days around tomorrow's 30-day window, made before any union is
    built; returns (log, today)."""
    today = clock.now - clock.now % DAY
    log = []
    _search(client, clock, today - 29 * DAY + HOUR, "dropped tomorrow", 0, log)  # today's only
    _search(client, clock, today - 28 * DAY + HOUR, "oldest kept", 2, log)
    for _ in range(3):
        _search(client, clock, today - 10 * DAY + HOUR, "heat", 5, log)
    _search(client, clock, today - DAY + 2 * HOUR, "alien", 0, log)
    _search(client, clock, today - DAY + 3 * HOUR, "alien", 0, log)
    _search(client, clock, today + 5 * 60_000, "heat", 1, log)
    return log, today


def _past_the_grace(clock, today):
    clock.set(today + live_unions.LIVE_BUILD_GRACE_MS + 1000)


def test_past_the_grace_the_recorder_builds_todays_and_tomorrows_unions(before_midnight, clock):
    _, today = before_midnight
    _past_the_grace(clock, today)
    assert middleware.prepare_unions() == 2 * len(keys.SEARCH_KINDS)


def test_a_built_union_is_not_built_again(before_midnight, clock):
    _, today = before_midnight
    _past_the_grace(clock, today)
    middleware.prepare_unions()
    assert middleware.prepare_unions() == 0


@pytest.fixture
def new_day(before_midnight, client, clock):
    """The recorder built the unions past the grace; more searches followed, one of
    today's written a moment after midnight. Returns (log, tomorrow) at tomorrow + 1 s."""
    log, today = before_midnight
    tomorrow = today + DAY
    _past_the_grace(clock, today)
    middleware.prepare_unions()
    # searches after the build reach tomorrow's union through the writer
    _search(client, clock, today + 20 * HOUR, "alien", 0, log)
    _search(client, clock, today + 23 * HOUR, "zodiac", 7, log)
    clock.set(tomorrow + 300)
    late = today + DAY - 1
    store.record_hit(
        store.Hit(timestamp_ms=late, page="search", search=store.SearchHit("zodiac", 0, 2.0))
    )
    log.append((late, "zodiac", 0))
    clock.set(tomorrow + 1000)
    return log, tomorrow


@pytest.mark.parametrize("kind", keys.SEARCH_KINDS)
def test_the_new_days_union_is_ready_and_lives_through_the_day(new_day, kind):
    _, tomorrow = new_day
    analytics = get_redis("analytics")
    live = keys.search_live_key(kind, 30, tomorrow)
    assert analytics.zscore(live, live_unions.LIVE_READY_MEMBER) == live_unions.LIVE_READY_SCORE
    assert analytics.pttl(live) > DAY


@pytest.fixture
def no_build(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the first render of the day built a union")

    monkeypatch.setattr(search_store, "build_live_union", refuse)


def test_the_first_render_of_the_day_builds_no_union(new_day, no_build, staff_client):
    page = staff_client.get("/insights/?range=30d")
    assert page.status_code == 200
    assert page.context["report"].searches.top_queries[0] == reports.QueryRow("heat", 4)


@pytest.mark.parametrize("name", ["30d", "90d"])  # the 90-day view ranks the 30 retained days
def test_the_union_ranks_exactly_the_searches_of_its_30_days(new_day, no_build, name):
    log, tomorrow = new_day
    expected = _expected(log, tomorrow)
    assert "dropped tomorrow" not in expected["all"]
    tables = _tables(reports.search_activities(RANGES[name]))
    assert tables["top"] == _ranked(expected["all"])
    assert tables["zero"] == _ranked(expected["zero_results"])
    assert tables["distinct"] == len(expected["all"])
    assert tables["zero_distinct"] == len(expected["zero_results"])


@pytest.mark.parametrize("name", ["30d", "90d"])
def test_the_union_agrees_with_the_totals_of_the_same_days(new_day, no_build, name):
    log, tomorrow = new_day
    expected = _expected(log, tomorrow)
    tables = _tables(reports.search_activities(RANGES[name]))
    assert tables["total"] == sum(expected["all"].values()) == 10
    assert tables["zero_total"] == sum(expected["zero_results"].values()) == 4


def test_without_the_live_unions_the_numbers_are_the_same(new_day, monkeypatch):
    _, tomorrow = new_day
    names = ("30d", "90d")
    with_unions = {name: _tables(reports.search_activities(RANGES[name])) for name in names}
    analytics = get_redis("analytics")
    for kind in keys.SEARCH_KINDS:
        analytics.delete(keys.search_live_key(kind, 30, tomorrow))
    monkeypatch.setattr(live_unions, "LIVE_UNION_DAYS", ())
    merged = {name: _tables(reports.search_activities(RANGES[name])) for name in names}
    assert merged == with_unions


@pytest.fixture
def just_after_midnight(clock):
    today = clock.now - clock.now % DAY
    clock.set(today + 1000)
    return today


def test_before_the_grace_only_todays_unions_are_built(just_after_midnight):
    assert search_store.prepare_search_unions() == len(keys.SEARCH_KINDS)


def test_before_the_grace_tomorrows_union_does_not_exist(just_after_midnight):
    today = just_after_midnight
    search_store.prepare_search_unions()
    analytics = get_redis("analytics")
    assert analytics.exists(keys.search_live_key("all", 30, today))
    assert not analytics.exists(keys.search_live_key("all", 30, today + DAY))


def test_an_empty_union_ranks_nothing(just_after_midnight):
    search_store.prepare_search_unions()
    body = reports.search_activities(RANGES["30d"])
    assert body.top_queries == [] and body.distinct_queries == 0
