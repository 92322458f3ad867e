"""The load test's reading of the Server-Timing header (bench/load/server_timing.py)."""

from bench.load.server_timing import cache_answer


def test_a_hit_is_read():
    assert cache_answer('cache;desc="hit"') == "hit"


def test_a_miss_is_read_among_other_metrics():
    assert cache_answer('app;dur=2.1, cache;desc="miss";dur=0.3') == "miss"


def test_an_unquoted_description_is_read():
    assert cache_answer("cache;desc=HIT") == "hit"


def test_no_header_is_absent():
    assert cache_answer(None) == "absent"


def test_another_metric_describing_a_hit_is_not_the_cache():
    assert cache_answer('db;desc="hit", app;dur=1') == "absent"
