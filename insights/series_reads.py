"""Sums of the insights series (insights.series) over a range's buckets or whole periods,
read from their minute/hourly/daily bucket series, never raw samples, and never from
before a series' retention."""

from collections import Counter
from collections.abc import Collection

import redis

from insights import store
from insights.retention import retained_from
from telemetry.timeseries import Series


def _range_args(start_ms, end_ms, bucket_ms, align):
    return {
        "from_time": start_ms,
        "to_time": end_ms - 1,
        "aggregation_type": "sum",
        "bucket_size_msec": bucket_ms,
        "align": align,
    }


def _checked(result):
    if isinstance(result, redis.ResponseError):
        if "does not exist" in str(result):
            return []
        raise result
    return result


def series_range(
    series: Series,
    granularity: str,
    start_ms: int,
    end_ms: int,
    bucket_ms: int,
    now: int | None = None,
) -> Counter:
    """{bucket start ms: sum} of one series over [start, end), read from its buckets."""
    now = store.now_ms() if now is None else now
    start_ms = max(start_ms, retained_from(series.retention_ms, granularity, now))
    if start_ms >= end_ms:
        return Counter()
    try:
        samples = (
            store.client()
            .ts()
            .range(series.key_for(granularity), **_range_args(start_ms, end_ms, bucket_ms, 0))
        )
    except redis.ResponseError as exc:
        samples = _checked(exc)
    return Counter(dict(samples))


def series_totals(
    series_list: Collection[Series],  # read twice: not a one-shot iterator
    granularity: str,
    periods: list[tuple[int, int]],
    now: int | None = None,
) -> dict[tuple[str, int], float]:
    """Sum of each series over each (start, end) period: {(key, i): total}, one round trip."""
    now = store.now_ms() if now is None else now
    pipe = store.client().ts().pipeline(transaction=False)
    asked = []
    for series in series_list:
        oldest = retained_from(series.retention_ms, granularity, now)
        for i, (start_ms, end_ms) in enumerate(periods):
            start = max(start_ms, oldest)
            if start < end_ms:
                span = end_ms - start
                pipe.range(series.key_for(granularity), **_range_args(start, end_ms, span, start))
                asked.append((series.key, i))
    totals = {(series.key, i): 0 for series in series_list for i in range(len(periods))}
    for ask, result in zip(asked, pipe.execute(raise_on_error=False), strict=True):
        totals[ask] += sum(value for _, value in _checked(result))
    return totals


def labelled_totals(
    series_type: str,
    label: str,
    granularity: str,
    start_ms: int,
    end_ms: int,
    retention_ms: int,
    now: int | None = None,
) -> Counter:
    """{label value: sum over [start, end)} for every series of a type (one TS.MRANGE)."""
    now = store.now_ms() if now is None else now
    start_ms = max(start_ms, retained_from(retention_ms, granularity, now))
    totals = Counter()
    if start_ms >= end_ms:
        return totals
    replies = (
        store.client()
        .ts()
        .mrange(
            filters=[f"type={series_type}", f"granularity={granularity}"],
            select_labels=[label],
            **_range_args(start_ms, end_ms, end_ms - start_ms, start_ms),
        )
    )
    for reply in replies:
        for _key, (labels, samples) in reply.items():
            value = sum(v for _, v in samples)
            if value and labels.get(label) is not None:
                totals[labels[label]] += value
    return totals
