"""Time series: definitions, creation, app-written buckets and dashboard windows.

A `Series` is one RedisTimeSeries key (retention, labels, duplicate policy) with its
bucket series, its `Compaction`s. RedisTimeSeries 1.12 (the bundled Redis Stack) silently
deletes a TS.CREATERULE rule outside DB 0 at the first duplicate or out-of-order sample
written to its source, and TS.RANGE ... LATEST finds nothing there
(tests/telemetry/test_compaction_rule_bug.py reproduces both). So a series that can get
such a sample has `app_written` buckets, which `Samples` writes in the same pipeline as
the raw sample; rules remain only where one writer adds one rising sample at a time.
"""

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import redis

# A series this process created is checked again after this long (and at once when a
# write finds it missing and the caller forgets it).
ENSURE_RECHECK_SECONDS = 600


@dataclass(frozen=True)
class Compaction:
    """A bucket series of a `Series`: `aggregation` over epoch-aligned buckets."""

    aggregation: str  # sum, avg, max
    bucket_ms: int
    retention_ms: int
    suffix: str  # the name a `Window.source` reads it by: "5m", "hourly"...
    # None: a TS.CREATERULE rule fills the buckets. Otherwise the app writes each bucket
    # itself with this ON_DUPLICATE (SUM adds to a bucket; LAST for a value recomputed whole).
    app_written: str | None = None
    key_format: str = "{source}:{aggregation}_{suffix}"
    labels: Mapping[str, str] = field(default_factory=dict)  # over the source's labels

    def key(self, source: str) -> str:
        return self.key_format.format(
            source=source, aggregation=self.aggregation, suffix=self.suffix
        )

    def bucket(self, timestamp_ms: int) -> int:
        return timestamp_ms - timestamp_ms % self.bucket_ms


@dataclass(frozen=True)
class Series:
    key: str
    retention_ms: int
    labels: Mapping[str, str]
    duplicate_policy: str
    compactions: tuple[Compaction, ...] = ()

    def compaction(self, suffix: str) -> Compaction:
        return next(c for c in self.compactions if c.suffix == suffix)

    def destination(self, compaction: Compaction) -> "Series":
        """The compaction's own series: labels, retention and duplicate policy."""
        return Series(
            key=compaction.key(self.key),
            retention_ms=compaction.retention_ms,
            labels={**self.labels, **compaction.labels},
            duplicate_policy=compaction.app_written or "LAST",
        )

    @cached_property
    def destinations(self) -> tuple["Series", ...]:
        return tuple(self.destination(c) for c in self.compactions)

    @cached_property
    def app_buckets(self) -> tuple[tuple[int, str], ...]:
        """(bucket_ms, key) of every app-written bucket series, built once per series."""
        return tuple(
            (c.bucket_ms, c.key(self.key)) for c in self.compactions if c.app_written is not None
        )

    def key_for(self, suffix: str | None) -> str:
        """The key that serves reads at that resolution: its bucket series, else the raw
        series (e.g. per-minute values already coarse enough)."""
        for compaction in self.compactions:
            if compaction.suffix == suffix:
                return compaction.key(self.key)
        return self.key

    @property
    def options(self) -> dict:
        """TS.CREATE / TS.ALTER keyword arguments of redis-py."""
        return {
            "retention_msecs": self.retention_ms,
            "labels": dict(self.labels),
            "duplicate_policy": self.duplicate_policy,
        }

    @cached_property
    def add_args(self) -> tuple:
        """TS.ADD's trailing arguments, built once: a write that has to create the series
        (a flushed store) still gives it its labels, retention and policy."""
        args = ["RETENTION", self.retention_ms, "DUPLICATE_POLICY", self.duplicate_policy,
                "ON_DUPLICATE", self.duplicate_policy, "LABELS"]  # fmt: skip
        for name, value in self.labels.items():
            args += [name, value]
        return tuple(args)


# --- creation ---------------------------------------------------------------------------

_ensured: dict[str, float] = {}
_ensured_lock = threading.Lock()


def forget_ensured() -> None:
    """Forget which series this process created (a store was emptied under it)."""
    with _ensured_lock:
        _ensured.clear()


def ensure_series(
    client: redis.Redis,
    series_list: Iterable[Series],
    *,
    remember: bool = True,
    check_rules: bool = False,
) -> int:
    """Create each series and its bucket series (labels, retention, duplicate policy) and
    the rules of rule-kept compactions, in one round trip; rules only aggregate samples
    written after them, so this runs before writing.

    TS.CREATE answers "already exists" for a known series; TS.ALTER then re-asserts its
    options. With `remember`, a series this process ensured lately costs no round trip.
    Without it, each call first asks which keys exist (one read round trip) and creates
    only the series missing a key. With `check_rules`, every series is created and each
    source's rules are compared with its compactions: a missing rule is restored, a rule
    on an app-written compaction (it would count twice where rules work) is deleted.
    Returns how many series were created and rules fixed.
    """
    series_list = list(series_list)
    now = time.monotonic()
    pending = series_list
    if remember:
        with _ensured_lock:
            pending = [s for s in series_list if _ensured.get(s.key, 0) <= now]
    elif not check_rules:
        pending = _missing(client, series_list)
    created = _create(client, pending) if pending else 0
    if remember:
        with _ensured_lock:
            for series in pending:
                _ensured[series.key] = now + ENSURE_RECHECK_SECONDS
    if check_rules:
        created += _check_rules(client, series_list)
    return created


def _missing(client, series_list):
    """The series of which a key (the series or one of its bucket series) is missing."""
    pipe = client.pipeline(transaction=False)
    for series in series_list:
        for target in (series, *series.destinations):
            pipe.exists(target.key)
    present = iter(pipe.execute())
    return [s for s in series_list if not all([next(present) for _ in (s, *s.destinations)])]


def _create(client, series_list):
    pipe = client.ts().pipeline(transaction=False)
    creates = []
    for series in series_list:
        for target in (series, *series.destinations):
            creates.append(len(pipe.command_stack))
            pipe.create(target.key, **target.options)
            pipe.alter(target.key, **target.options)
        for compaction in series.compactions:
            if compaction.app_written is None:
                pipe.createrule(
                    series.key, compaction.key(series.key), compaction.aggregation,
                    compaction.bucket_ms,
                )  # fmt: skip
    results = pipe.execute(raise_on_error=False)
    for result in results:
        if isinstance(result, redis.ResponseError) and "already" not in str(result):
            raise result
    return sum(1 for index in creates if not isinstance(results[index], Exception))


def _check_rules(client, series_list):
    sources = [series for series in series_list if series.compactions]
    pipe = client.pipeline(transaction=False)
    for series in sources:
        pipe.ts().info(series.key)
    fixed = 0
    ts = client.ts()
    for series, info in zip(sources, pipe.execute(), strict=True):
        rules = info.rules or {}
        present = set(rules) if isinstance(rules, dict) else {rule[0] for rule in rules}
        for compaction in series.compactions:
            dest = compaction.key(series.key)
            if compaction.app_written is None and dest not in present:
                ts.createrule(series.key, dest, compaction.aggregation, compaction.bucket_ms)
                fixed += 1
            elif compaction.app_written is not None and dest in present:
                ts.deleterule(series.key, dest)
                fixed += 1
    return fixed


# --- app-written buckets ----------------------------------------------------------------


class Samples:
    """Samples summed per (key, timestamp), each also added to the app-written buckets of
    its series, so that a batch costs one write per key and bucket."""

    __slots__ = ("sums",)

    def __init__(self) -> None:
        self.sums: dict[tuple[str, int], float] = {}

    def add(self, series: Series, timestamp_ms: int, value: float) -> None:
        sums = self.sums
        at = (series.key, timestamp_ms)
        sums[at] = sums.get(at, 0) + value
        for bucket_ms, key in series.app_buckets:
            at = (key, timestamp_ms - timestamp_ms % bucket_ms)
            sums[at] = sums.get(at, 0) + value

    def queue_madd(self, pipe) -> None:
        """One TS.MADD: each series' DUPLICATE_POLICY (SUM) adds the sums to what is there."""
        if self.sums:
            pipe.madd([(key, t, value) for (key, t), value in self.sums.items()])

    def queue_adds(self, pipe, series_by_key: Mapping[str, Series]) -> None:
        """One TS.ADD per key and timestamp, with each series' ON_DUPLICATE and creation
        arguments."""
        for (key, t), value in self.sums.items():
            pipe.execute_command("TS.ADD", key, t, value, *series_by_key[key].add_args)


# --- reading: dashboard windows ---------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A charted range: `span_ms` of whole buckets of `bucket_ms`, the last one the current
    (still open) bucket, read from the bucket series named `source` (None: raw samples)."""

    name: str
    span_ms: int
    bucket_ms: int
    source: str | None

    @property
    def buckets(self) -> int:
        return self.span_ms // self.bucket_ms

    def grid(self, now_ms: int) -> list[int]:
        """The bucket start times, oldest first, aligned to the epoch the way
        RedisTimeSeries aligns its aggregation buckets."""
        last = now_ms - now_ms % self.bucket_ms
        count = self.buckets
        return [last - (count - 1 - i) * self.bucket_ms for i in range(count)]

    def period(self, now_ms: int) -> tuple[int, int]:
        """(start, end): from the first bucket's start to the current bucket's end (exclusive)."""
        end = now_ms - now_ms % self.bucket_ms + self.bucket_ms
        return end - self.span_ms, end


def read_window(
    client: redis.Redis,
    named_series: Mapping[str, Series],
    window: Window,
    now_ms: int,
    aggregation_for: Callable[[str], str],
) -> tuple[list[int], dict[str, dict[int, float]]]:
    """(grid, {name: {bucket start: value}}) for several series over one window, read from
    the window's bucket series in one round trip; a missing series reads as empty."""
    grid = window.grid(now_ms)
    pipe = client.pipeline(transaction=False)
    names = list(named_series)
    for name in names:
        pipe.ts().range(
            named_series[name].key_for(window.source),
            grid[0],
            now_ms,
            aggregation_type=aggregation_for(name),
            bucket_size_msec=window.bucket_ms,
        )
    found = {}
    for name, rows in zip(names, pipe.execute(raise_on_error=False), strict=True):
        if isinstance(rows, redis.ConnectionError | redis.TimeoutError):
            raise rows
        found[name] = {} if isinstance(rows, Exception) else {int(t): float(v) for t, v in rows}
    return grid, found
