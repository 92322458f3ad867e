"""The dashboard's and the APIs' figures for one range, as plain dicts.

Long ranges read the hourly/daily compactions (and daily hashes), never raw samples.
Series with a shorter retention than the range simply have no older data: searches are
kept 30 days, so the 90-day view shows the last 30 days of searches, and a change
against the previous period is only given when that period is still retained.
"""

from config.events import recent_events
from insights import series_reads, store
from insights.middleware import PAGE_VIEW_EVENT
from insights.ranges import window
from insights.series import (
    COUNTRY_RETENTION_MS,
    PAGE_VIEWS_RETENTION_MS,
    RESPONSE_TIMES_RETENTION_MS,
    SEARCH_METRICS,
    SEARCH_RETENTION_MS,
    page_views_series,
    search_series,
)
from telemetry.units import DAY_MS

TOP_LIMIT = 10
TABLE_LIMIT = 50


def change_pct(current, previous):
    """Percent change against the previous period; None when there is nothing to compare."""
    if previous is None or not previous:
        return None
    return round((current - previous) / previous * 100, 1)


def _visitor_granularity(rng):
    return {"minute": "minute", "hourly": "hourly", "daily": "daily"}[rng.granularity]


def _window(rng, now_ms):
    return window(rng, store.now_ms() if now_ms is None else now_ms)


def page_views(rng, now_ms=None, limit=TOP_LIMIT):
    win = _window(rng, now_ms)
    now = win.now_ms
    series = page_views_series()
    buckets = series_reads.series_range(
        series, rng.granularity, win.start_ms, win.end_ms, rng.bucket_ms, now
    )
    points = [
        {"t": win.iso(t), "label": win.label(t), "views": int(buckets.get(t, 0))}
        for t in win.bucket_starts
    ]
    total = sum(p["views"] for p in points)
    compare = win.compares_within(PAGE_VIEWS_RETENTION_MS)
    previous = None
    if compare:
        totals = series_reads.series_totals([series], rng.granularity, [win.previous], now)
        previous = int(totals[(series.key, 0)])
    granularity = _visitor_granularity(rng)
    visitors = store.unique_visitors(granularity, win.bucket_starts)
    previous_visitors = (
        store.unique_visitors(granularity, win.previous_bucket_starts) if compare else None
    )
    if rng.granularity == "daily":
        pages = store.page_views_by_day(win.bucket_starts)  # the daily hashes
    else:
        pages = series_reads.labelled_totals(
            "page_views_by_page",
            "page",
            rng.granularity,
            win.start_ms,
            win.end_ms,
            PAGE_VIEWS_RETENTION_MS,
            now,
        )
    top = [{"page": page, "views": int(views)} for page, views in pages.most_common(limit)]
    return {
        "range": rng.name,
        "from": win.iso(win.start_ms),
        "to": win.iso(win.end_ms),
        "bucket_seconds": rng.bucket_ms // 1000,
        "total": total,
        "previous_total": previous,
        "change_pct": change_pct(total, previous),
        "unique_visitors": visitors,
        "previous_unique_visitors": previous_visitors,
        "unique_visitors_change_pct": change_pct(visitors, previous_visitors),
        "series": points,
        "top_pages": top,
    }


def search_activities(rng, now_ms=None, limit=TOP_LIMIT):
    win = _window(rng, now_ms)
    now = win.now_ms
    metrics = {m: search_series(m) for m in SEARCH_METRICS}
    compare = win.compares_within(SEARCH_RETENTION_MS)
    periods = [(win.start_ms, win.end_ms)] + ([win.previous] if compare else [])
    totals = series_reads.series_totals(metrics.values(), rng.granularity, periods, now)

    def total(metric, period=0):
        return totals[(metrics[metric].key, period)]

    searches, zero = int(total("query_frequency")), int(total("zero_results"))
    rate = round(zero / searches * 100, 1) if searches else None
    previous = previous_zero = previous_rate = None
    if compare:
        previous, previous_zero = int(total("query_frequency", 1)), int(total("zero_results", 1))
        previous_rate = round(previous_zero / previous * 100, 1) if previous else None
    buckets = series_reads.series_range(
        metrics["query_frequency"], rng.granularity, win.start_ms, win.end_ms, rng.bucket_ms, now
    )
    starts = win.bucket_starts
    # the queries of the days still retained, the same days as the totals above (the
    # 90-day view ranks the last 30 days' queries: the 30-day view's live union)
    retained = store.retained_from(SEARCH_RETENTION_MS, rng.granularity, now)
    ranked = [t for t in starts if t >= retained]
    top, distinct = store.top_searches("all", rng.granularity, ranked, limit)
    zero_top, zero_distinct = store.top_searches("zero_results", rng.granularity, ranked, limit)
    # Response times are kept 7 days: the mean is over the searches still timed.
    timed_from = win.now_ms - RESPONSE_TIMES_RETENTION_MS
    timed_from += -timed_from % rng.bucket_ms  # whole buckets only
    timed_period = (max(win.start_ms, timed_from), win.end_ms)
    timed = series_reads.series_totals(
        [metrics["response_times"], metrics["query_frequency"]],
        rng.granularity,
        [timed_period],
        now,
    )
    timed_count = timed[(metrics["query_frequency"].key, 0)]
    return {
        "range": rng.name,
        "from": win.iso(win.start_ms),
        "to": win.iso(win.end_ms),
        "bucket_seconds": rng.bucket_ms // 1000,
        "retention_days": SEARCH_RETENTION_MS // DAY_MS,
        "total_searches": searches,
        "previous_total_searches": previous,
        "change_pct": change_pct(searches, previous),
        "zero_result_searches": zero,
        "zero_result_rate": rate,
        "previous_zero_result_rate": previous_rate,
        "zero_result_rate_change": (
            round(rate - previous_rate, 1)
            if rate is not None and previous_rate is not None
            else None
        ),
        "average_result_count": (round(total("result_counts") / searches, 1) if searches else None),
        "average_response_ms": (
            round(timed[(metrics["response_times"].key, 0)] / timed_count, 2)
            if timed_count
            else None
        ),
        "distinct_queries": distinct,
        "series": [
            {"t": win.iso(t), "label": win.label(t), "searches": int(buckets.get(t, 0))}
            for t in starts
        ],
        "top_queries": [{"query": q, "count": c} for q, c in top],
        "zero_result_queries": [{"query": q, "count": c} for q, c in zero_top],
        "distinct_zero_result_queries": zero_distinct,
    }


def user_countries(rng, now_ms=None, limit=None):
    win = _window(rng, now_ms)
    now = win.now_ms
    by_country = series_reads.labelled_totals(
        "country_distribution",
        "country",
        rng.granularity,
        win.start_ms,
        win.end_ms,
        COUNTRY_RETENTION_MS,
        now,
    )
    total = int(sum(by_country.values()))
    rows = [
        {"country": name, "views": int(views), "share_pct": round(views / total * 100, 1)}
        for name, views in by_country.most_common(limit)
    ]
    month = store.countries_of_month(now)
    return {
        "range": rng.name,
        "from": win.iso(win.start_ms),
        "to": win.iso(win.end_ms),
        "total": total,
        "countries": rows,
        "current_month": {
            "month": win.iso(now)[:7],
            "countries": [{"country": c, "views": v} for c, v in month.most_common(limit)],
        },
    }


def page_activities(rng, now_ms=None, limit=30):
    """The newest page views of the range from the events stream (capped, so the oldest
    of a long range may be gone)."""
    win = window(rng, store.now_ms() if now_ms is None else now_ms)
    events = recent_events(count=limit, kinds={PAGE_VIEW_EVENT}, since_ms=win.start_ms)
    return {
        "range": rng.name,
        "from": win.iso(win.start_ms),
        "to": win.iso(win.end_ms),
        "events": [
            {
                "id": e["id"],
                "timestamp": win.iso(e["timestamp_ms"]),
                "page": str(e["data"].get("page", "")),
                "country": str(e["data"].get("country", "")),
                "search": e["data"].get("search"),
                "results": e["data"].get("results"),
            }
            for e in events
        ],
    }


def dashboard(rng, now_ms=None):
    now = store.now_ms() if now_ms is None else now_ms
    report = {
        "range": rng,
        "page_views": page_views(rng, now),
        "searches": search_activities(rng, now),
        "countries": user_countries(rng, now, limit=TABLE_LIMIT),
        "activity": page_activities(rng, now, limit=20),
    }
    report["kpis"] = kpis(report)
    return report


def _change(value, unit="%", up_is_good=True, missing="no comparison"):
    if value is None:
        return {"text": "—", "tone": "flat", "title": missing}
    tone = "flat" if value == 0 else ("good" if (value > 0) == up_is_good else "bad")
    return {"text": f"{value:+.1f}{unit}", "tone": tone, "title": "against the previous period"}


def kpis(report):
    """The four KPI cards: value and change against the previous period."""
    views, searches = report["page_views"], report["searches"]
    rng = report["range"]
    views_missing = (
        "the previous period is beyond the 90-day retention"
        if views["previous_total"] is None
        else "no page views in the previous period"
    )
    search_missing = (
        "the previous period is beyond the 30-day retention of searches"
        if searches["previous_total_searches"] is None
        else "no searches in the previous period"
    )
    rate = searches["zero_result_rate"]
    return [
        {
            "label": "Page views",
            "value": f"{views['total']:,}",
            "change": _change(views["change_pct"], missing=views_missing),
        },
        {
            "label": "Unique visitors",
            "value": f"{views['unique_visitors']:,}",
            "change": _change(views["unique_visitors_change_pct"], missing=views_missing),
            "hint": "per day: the daily salt means a visitor on two days counts twice"
            if rng.granularity == "daily" and rng.buckets > 1
            else "",
        },
        {
            "label": "Searches",
            "value": f"{searches['total_searches']:,}",
            "change": _change(searches["change_pct"], missing=search_missing),
        },
        {
            "label": "Zero-result rate",
            "value": "—" if rate is None else f"{rate:.1f}%",
            "change": _change(
                searches["zero_result_rate_change"],
                unit=" pt",
                up_is_good=False,
                missing=search_missing,
            ),
        },
    ]
