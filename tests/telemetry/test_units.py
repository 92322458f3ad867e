"""Time units and bucket alignment."""

from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS, bucket_end, bucket_start, now_ms


def test_units_are_minutes_hours_and_days_in_milliseconds():
    assert (MINUTE_MS, HOUR_MS, DAY_MS) == (60 * 1000, 60 * 60 * 1000, 24 * 60 * 60 * 1000)


def test_a_bucket_starts_at_the_epoch_aligned_multiple_of_its_size():
    moment = 3 * DAY_MS + 5 * HOUR_MS + 7
    assert bucket_start(moment, DAY_MS) == 3 * DAY_MS
    assert bucket_start(moment, HOUR_MS) == 3 * DAY_MS + 5 * HOUR_MS


def test_a_bucket_ends_where_the_next_one_starts():
    moment = 3 * DAY_MS + 1
    assert bucket_end(moment, DAY_MS) == 4 * DAY_MS
    assert bucket_end(4 * DAY_MS, DAY_MS) == 5 * DAY_MS  # a bucket start is in its own bucket


def test_now_is_wall_clock_milliseconds():
    import time

    before = int(time.time() * 1000)
    assert before <= now_ms() <= int(time.time() * 1000)
