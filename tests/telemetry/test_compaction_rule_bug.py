"""Why the app writes its own bucket series outside DB 0 (telemetry.timeseries).

In the bundled RedisTimeSeries (1.12, Redis Stack 7.4) compaction rules misbehave outside
DB 0: a duplicate or out-of-order sample silently deletes the rule, and LATEST finds
nothing. These tests reproduce it on the real server (the analytics store, DB 1); when
one fails, the bug is fixed and app-written buckets could go back to TS.CREATERULE.
"""

from config.redis_stores import get_redis


def ts_with_rule(db_client):
    ts = db_client.ts()
    ts.create("bugcheck", duplicate_policy="SUM")
    ts.create("bugcheck:agg")
    ts.createrule("bugcheck", "bugcheck:agg", "sum", 1000)
    return ts


def test_a_duplicate_sample_deletes_the_rule_outside_db_0():
    analytics = get_redis("analytics")
    assert analytics.connection_pool.connection_kwargs["db"] != 0
    ts = ts_with_rule(analytics)
    ts.add("bugcheck", 1500, 1)
    ts.add("bugcheck", 1500, 1)  # a duplicate: two requests in one millisecond
    ts.add("bugcheck", 2500, 1)
    ts.add("bugcheck", 3500, 1)
    assert ts.info("bugcheck").rules in ([], {})  # the rule is gone
    assert ts.range("bugcheck:agg", "-", "+") == []  # and nothing was compacted


def test_latest_finds_nothing_outside_db_0():
    ts = ts_with_rule(get_redis("analytics"))
    ts.add("bugcheck", 1500, 1)
    assert ts.range("bugcheck:agg", "-", "+", latest=True) == []  # DB 0 answers [(1000, 1)]
