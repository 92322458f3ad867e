"""The 30-day live search unions: built ahead of the first render of a day by the
background recorder's housekeeping, kept current by every recorded search, and giving
exactly the numbers a merge of the daily sets gives."""

from collections import Counter

import pytest

from config.redis_stores import get_redis
from insights import middleware, reports, store
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
        "top": [(q["query"], q["count"]) for q in body["top_queries"]],
        "zero": [(q["query"], q["count"]) for q in body["zero_result_queries"]],
        "distinct": body["distinct_queries"],
        "zero_distinct": body["distinct_zero_result_queries"],
        "total": body["total_searches"],
        "zero_total": body["zero_result_searches"],
    }


def _ranked(counter):
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def test_the_union_is_ready_before_the_first_render_of_a_new_day(
    client, staff_client, clock, monkeypatch
):
    today = clock.now - clock.now % DAY
    tomorrow = today + DAY
    log = []
    # searches over the days around the new day's 30-day window
    _search(
        client, clock, today - 29 * DAY + HOUR, "dropped tomorrow", 0, log
    )  # today's window only
    _search(client, clock, today - 28 * DAY + HOUR, "oldest kept", 2, log)
    for _ in range(3):
        _search(client, clock, today - 10 * DAY + HOUR, "heat", 5, log)
    _search(client, clock, today - DAY + 2 * HOUR, "alien", 0, log)
    _search(client, clock, today - DAY + 3 * HOUR, "alien", 0, log)
    _search(client, clock, today + 5 * 60_000, "heat", 1, log)

    # the recorder's housekeeping, past the grace after midnight: today's and tomorrow's
    clock.set(today + store.LIVE_BUILD_GRACE_MS + 1000)
    assert middleware.prepare_unions() == 2 * len(store.SEARCH_KINDS)
    assert middleware.prepare_unions() == 0  # built once: later rounds (any process) skip

    # searches after the build reach tomorrow's union through the writer, including one
    # of today that a recorder only writes a moment after midnight
    _search(client, clock, today + 20 * HOUR, "alien", 0, log)
    _search(client, clock, today + 23 * HOUR, "zodiac", 7, log)
    clock.set(tomorrow + 300)
    late = today + DAY - 1
    store.record_hit(
        store.Hit(timestamp_ms=late, page="search", search=store.SearchHit("zodiac", 0, 2.0))
    )
    log.append((late, "zodiac", 0))

    # the new day's first render: the union is ready and the render must not build one
    clock.set(tomorrow + 1000)
    analytics = get_redis("analytics")
    for kind in store.SEARCH_KINDS:
        live = store.search_live_key(kind, 30, tomorrow)
        assert analytics.zscore(live, store.LIVE_READY_MEMBER) == store.LIVE_READY_SCORE
        assert analytics.pttl(live) > DAY

    def no_build(*args, **kwargs):
        raise AssertionError("the first render of the day built a union")

    monkeypatch.setattr(store, "build_live_union", no_build)
    page = staff_client.get("/insights/?range=30d")
    assert page.status_code == 200
    first = {name: _tables(reports.search_activities(RANGES[name])) for name in ("30d", "90d")}

    expected = _expected(log, tomorrow)
    assert "dropped tomorrow" not in expected["all"]
    for name in ("30d", "90d"):  # the 90-day view ranks the 30 retained days
        assert first[name]["top"] == _ranked(expected["all"]), name
        assert first[name]["zero"] == _ranked(expected["zero_results"]), name
        assert first[name]["distinct"] == len(expected["all"])
        assert first[name]["zero_distinct"] == len(expected["zero_results"])
        # the tables agree with the totals of the same period
        assert first[name]["total"] == sum(expected["all"].values()) == 10
        assert first[name]["zero_total"] == sum(expected["zero_results"].values()) == 4
    assert page.context["report"]["searches"]["top_queries"][0] == {"query": "heat", "count": 4}

    # without the live unions (the merge of the daily sets) the numbers are the same
    monkeypatch.undo()
    clock.set(tomorrow + 1000)
    monkeypatch.setattr(store, "now_ms", lambda: clock.now)
    for kind in store.SEARCH_KINDS:
        analytics.delete(store.search_live_key(kind, 30, tomorrow))
    monkeypatch.setattr(store, "LIVE_UNION_DAYS", ())
    merged = {name: _tables(reports.search_activities(RANGES[name])) for name in ("30d", "90d")}
    assert merged == first


def test_before_the_grace_only_todays_union_is_built(clock):
    today = clock.now - clock.now % DAY
    clock.set(today + 1000)
    assert store.prepare_search_unions() == len(store.SEARCH_KINDS)
    analytics = get_redis("analytics")
    assert analytics.exists(store.search_live_key("all", 30, today))
    assert not analytics.exists(store.search_live_key("all", 30, today + DAY))
    # a render reads the empty union: no searches, nothing ranked
    body = reports.search_activities(RANGES["30d"])
    assert body["top_queries"] == [] and body["distinct_queries"] == 0
