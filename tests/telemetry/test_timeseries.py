"""Series definitions, their creation, app-written buckets and dashboard windows, on the
real server in a store outside DB 0."""

import itertools

from telemetry.timeseries import (
    Compaction,
    Samples,
    Series,
    Window,
    ensure_series,
    forget_ensured,
    read_window,
)
from telemetry.units import DAY_MS, HOUR_MS, MINUTE_MS


def bucket(aggregation, bucket_ms, suffix, app_written=None):
    return Compaction(
        aggregation, bucket_ms, 30 * DAY_MS, suffix, app_written, labels={"resolution": suffix}
    )


def counter(key="spec:counter"):
    """A SUM counter whose 5m and 1h buckets the app writes."""
    return Series(
        key,
        7 * DAY_MS,
        {"group": "spec", "resolution": "raw"},
        "SUM",
        (bucket("sum", 5 * MINUTE_MS, "5m", "SUM"), bucket("sum", HOUR_MS, "1h", "SUM")),
    )


def gauge(key="spec:gauge"):
    """A LAST gauge whose hourly average a TS.CREATERULE rule fills."""
    return Series(key, 7 * DAY_MS, {"group": "spec"}, "LAST", (bucket("avg", HOUR_MS, "1h"),))


def rules_of(db, key):
    rules = db.ts().info(key).rules or {}
    return set(rules) if isinstance(rules, dict) else {rule[0] for rule in rules}


def test_ensure_series_creates_each_series_and_bucket_series_with_their_options(db):
    series = counter()
    ensure_series(db, [series])
    raw = db.ts().info(series.key)
    assert raw.retention_msecs == 7 * DAY_MS
    assert raw.duplicate_policy == "sum"
    assert raw.labels == {"group": "spec", "resolution": "raw"}
    hourly = db.ts().info("spec:counter:sum_1h")
    assert hourly.retention_msecs == 30 * DAY_MS
    assert hourly.duplicate_policy == "sum"
    assert hourly.labels == {"group": "spec", "resolution": "1h"}


def test_ensure_series_returns_how_many_series_it_created(db):
    series = counter()
    assert ensure_series(db, [series], remember=False) == 1 + len(series.compactions)
    assert ensure_series(db, [series], remember=False) == 0


def test_a_remembered_series_costs_no_round_trip_until_forgotten(db):
    series = counter()
    ensure_series(db, [series])
    db.delete(series.key)
    assert ensure_series(db, [series]) == 0  # remembered: not even looked at
    assert not db.exists(series.key)
    forget_ensured()
    assert ensure_series(db, [series]) == 1
    assert db.exists(series.key)


def test_without_the_memo_only_a_series_missing_a_key_is_created(db):
    db.ts().create("spec:counter", retention_msecs=1000)  # but not its bucket series
    db.ts().create("spec:other", retention_msecs=1000)
    db.ts().create("spec:other:sum_5m")
    db.ts().create("spec:other:sum_1h")
    assert ensure_series(db, [counter(), counter("spec:other")], remember=False) == 2
    assert db.exists("spec:counter:sum_5m", "spec:counter:sum_1h") == 2
    assert db.ts().info("spec:other").retention_msecs == 1000  # complete: left as it is


def test_ensure_series_reasserts_the_options_of_a_series_that_exists(db):
    db.ts().create("spec:counter", retention_msecs=1000, duplicate_policy="LAST")
    ensure_series(db, [counter()])
    info = db.ts().info("spec:counter")
    assert info.retention_msecs == 7 * DAY_MS
    assert info.duplicate_policy == "sum"
    assert info.labels == {"group": "spec", "resolution": "raw"}


def test_only_rule_kept_compactions_get_a_rule(db):
    ensure_series(db, [gauge(), counter()])
    assert rules_of(db, "spec:gauge") == {"spec:gauge:avg_1h"}
    assert rules_of(db, "spec:counter") == set()


def test_the_rule_check_restores_a_lost_rule(db):
    ensure_series(db, [gauge()])
    db.ts().deleterule("spec:gauge", "spec:gauge:avg_1h")
    assert ensure_series(db, [gauge()], check_rules=True) == 1
    assert rules_of(db, "spec:gauge") == {"spec:gauge:avg_1h"}


def test_the_rule_check_deletes_a_rule_on_an_app_written_compaction(db):
    ensure_series(db, [counter()])
    db.ts().createrule("spec:counter", "spec:counter:sum_1h", "sum", HOUR_MS)
    assert ensure_series(db, [counter()], check_rules=True) == 1
    assert rules_of(db, "spec:counter") == set()


def test_samples_are_summed_per_key_and_per_app_written_bucket():
    samples = Samples()
    hour = 10 * HOUR_MS
    for at in (hour + 1, hour + 1, hour + 6 * MINUTE_MS):
        samples.add(counter(), at, 2)
    assert samples.sums == {
        ("spec:counter", hour + 1): 4,
        ("spec:counter", hour + 6 * MINUTE_MS): 2,
        ("spec:counter:sum_5m", hour): 4,
        ("spec:counter:sum_5m", hour + 5 * MINUTE_MS): 2,
        ("spec:counter:sum_1h", hour): 6,
    }


def test_a_rule_kept_compaction_gets_no_app_written_samples():
    samples = Samples()
    samples.add(gauge(), HOUR_MS + 1, 5.0)
    assert samples.sums == {("spec:gauge", HOUR_MS + 1): 5.0}


def test_one_madd_adds_the_sums_to_what_the_buckets_hold(db):
    ensure_series(db, [counter()])
    hour = 10 * HOUR_MS
    for value in (1, 2):  # two batches on the same bucket: SUM adds them up
        samples = Samples()
        samples.add(counter(), hour + value, value)
        pipe = db.ts().pipeline(transaction=False)
        samples.queue_madd(pipe)
        pipe.execute()
    assert db.ts().range("spec:counter", "-", "+") == [(hour + 1, 1.0), (hour + 2, 2.0)]
    assert db.ts().range("spec:counter:sum_1h", "-", "+") == [(hour, 3.0)]


def test_ts_adds_create_a_missing_series_with_its_labels_and_retention(db):
    series = counter()
    samples = Samples()
    samples.add(series, HOUR_MS, 1)
    pipe = db.pipeline(transaction=False)
    samples.queue_adds(pipe, {s.key: s for s in (series, *series.destinations)})
    pipe.execute()
    info = db.ts().info("spec:counter:sum_5m")
    assert info.labels == {"group": "spec", "resolution": "5m"}
    assert info.retention_msecs == 30 * DAY_MS
    assert db.ts().get("spec:counter:sum_5m") == (HOUR_MS, 1.0)


def test_a_resolution_without_a_bucket_series_reads_the_raw_series():
    assert counter().key_for("1h") == "spec:counter:sum_1h"
    assert counter().key_for(None) == "spec:counter"
    assert counter().key_for("1d") == "spec:counter"


def test_a_window_grid_is_whole_epoch_aligned_buckets_ending_with_the_current_one():
    window = Window("day", DAY_MS, HOUR_MS, "1h")
    now = 100 * DAY_MS + 5 * HOUR_MS + 17
    grid = window.grid(now)
    assert len(grid) == window.buckets == 24
    assert grid[-1] == 100 * DAY_MS + 5 * HOUR_MS
    assert all(b - a == HOUR_MS for a, b in itertools.pairwise(grid))


def test_a_window_period_covers_its_grid_up_to_the_end_of_the_current_bucket():
    window = Window("day", DAY_MS, HOUR_MS, "1h")
    now = 100 * DAY_MS + 5 * HOUR_MS + 17
    start, end = window.period(now)
    assert end == 100 * DAY_MS + 6 * HOUR_MS
    assert list(range(start, end, HOUR_MS)) == window.grid(now)


def test_read_window_reads_the_bucket_series_the_window_names(db):
    series = counter()
    ensure_series(db, [series])
    hour = 100 * HOUR_MS
    db.ts().add("spec:counter:sum_1h", hour, 7)  # what the raw series holds is not read
    db.ts().add("spec:counter", hour + 1, 1)
    window = Window("day", DAY_MS, HOUR_MS, "1h")
    grid, found = read_window(
        db, {"hits": series, "gone": counter("spec:gone")}, window, hour + 1, lambda _: "sum"
    )
    assert grid == window.grid(hour + 1)
    assert found == {"hits": {hour: 7.0}, "gone": {}}
