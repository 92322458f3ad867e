"""The dashboard's and the APIs' figures for one range, as frozen dataclasses.

Long ranges read the hourly/daily compactions (and daily hashes), never raw samples.
Series with a shorter retention than the range simply have no older data: searches are
kept 30 days, so the 90-day view shows the last 30 days of searches, and a change
against the previous period is only given when that period is still retained.
Field names are the JSON names of the APIs (`as_json`), `from_` as "from".
"""

from dataclasses import dataclass, fields, is_dataclass
from enum import StrEnum

from config.events import PAGE_VIEW, recent_events
from insights import ranges, search_store, series_reads, store
from insights.ranges import Range, window
from insights.retention import retained_from
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


class TemplateReadable:
    """Base of the report values. A Django template looks `value[name]` up before
    `getattr`: answering it spares every lookup a raised and caught TypeError."""

    __slots__ = ()

    def __getitem__(self, name: str) -> object:
        try:
            return getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None


@dataclass(frozen=True)
class Period(TemplateReadable):
    """The range a report covers: its name and its bounds (ISO 8601, UTC)."""

    range: str
    from_: str
    to: str  # exclusive: the end of the current bucket


@dataclass(frozen=True)
class ViewsPoint(TemplateReadable):
    t: str
    label: str
    views: int


@dataclass(frozen=True)
class PageRow(TemplateReadable):
    page: str
    views: int


@dataclass(frozen=True)
class PageViewsReport(Period):
    bucket_seconds: int
    total: int
    previous_total: int | None  # None: the previous period is beyond retention
    change_pct: float | None
    unique_visitors: int
    previous_unique_visitors: int | None
    unique_visitors_change_pct: float | None
    series: list[ViewsPoint]
    top_pages: list[PageRow]


@dataclass(frozen=True)
class SearchesPoint(TemplateReadable):
    t: str
    label: str
    searches: int


@dataclass(frozen=True)
class QueryRow(TemplateReadable):
    query: str
    count: int


@dataclass(frozen=True)
class SearchReport(Period):
    bucket_seconds: int
    retention_days: int
    total_searches: int
    previous_total_searches: int | None  # None: the previous period is beyond retention
    change_pct: float | None
    zero_result_searches: int
    zero_result_rate: float | None
    previous_zero_result_rate: float | None
    zero_result_rate_change: float | None
    average_result_count: float | None
    average_response_ms: float | None
    distinct_queries: int
    series: list[SearchesPoint]
    top_queries: list[QueryRow]
    zero_result_queries: list[QueryRow]
    distinct_zero_result_queries: int


@dataclass(frozen=True)
class CountryRow(TemplateReadable):
    country: str
    views: int
    share_pct: float


@dataclass(frozen=True)
class CountryViews(TemplateReadable):
    country: str
    views: int


@dataclass(frozen=True)
class MonthCountries(TemplateReadable):
    month: str  # yyyy-mm
    countries: list[CountryViews]


@dataclass(frozen=True)
class CountriesReport(Period):
    total: int
    countries: list[CountryRow]
    current_month: MonthCountries


@dataclass(frozen=True)
class PageActivity(TemplateReadable):
    id: str
    timestamp: str
    page: str
    country: str
    search: str | None
    results: int | None


@dataclass(frozen=True)
class ActivityReport(Period):
    events: list[PageActivity]


class Tone(StrEnum):
    """How a KPI's change reads: the CSS class of its figure."""

    GOOD = "good"
    BAD = "bad"
    FLAT = "flat"


@dataclass(frozen=True)
class Change(TemplateReadable):
    text: str
    tone: Tone
    title: str


@dataclass(frozen=True)
class Kpi(TemplateReadable):
    label: str
    value: str
    change: Change
    hint: str = ""


@dataclass(frozen=True)
class Dashboard(TemplateReadable):
    range: Range
    page_views: PageViewsReport
    searches: SearchReport
    countries: CountriesReport
    activity: ActivityReport
    kpis: list[Kpi]


def as_json(value: object) -> object:
    """The JSON form of a report: its fields in order, a trailing `_` dropped (`from_`)."""
    if is_dataclass(value):
        return {f.name.rstrip("_"): as_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return value


def change_pct(current: float, previous: float | None) -> float | None:
    """Percent change against the previous period; None when there is nothing to compare."""
    if previous is None or not previous:
        return None
    return round((current - previous) / previous * 100, 1)


def _window(rng: Range, now_ms: int | None) -> ranges.Period:
    return window(rng, store.now_ms() if now_ms is None else now_ms)


def _period(win: ranges.Period) -> dict:
    return {"range": win.range.name, "from_": win.iso(win.start_ms), "to": win.iso(win.end_ms)}


def page_views(rng: Range, now_ms: int | None = None, limit: int = TOP_LIMIT) -> PageViewsReport:
    win = _window(rng, now_ms)
    now = win.now_ms
    series = page_views_series()
    buckets = series_reads.series_range(
        series, rng.granularity, win.start_ms, win.end_ms, rng.bucket_ms, now
    )
    points = [
        ViewsPoint(t=win.iso(t), label=win.label(t), views=int(buckets.get(t, 0)))
        for t in win.bucket_starts
    ]
    total = sum(p.views for p in points)
    compare = win.compares_within(PAGE_VIEWS_RETENTION_MS)
    previous = None
    if compare:
        totals = series_reads.series_totals([series], rng.granularity, [win.previous], now)
        previous = int(totals[(series.key, 0)])
    visitors = store.unique_visitors(rng.granularity, win.bucket_starts)
    previous_visitors = (
        store.unique_visitors(rng.granularity, win.previous_bucket_starts) if compare else None
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
    return PageViewsReport(
        **_period(win),
        bucket_seconds=rng.bucket_ms // 1000,
        total=total,
        previous_total=previous,
        change_pct=change_pct(total, previous),
        unique_visitors=visitors,
        previous_unique_visitors=previous_visitors,
        unique_visitors_change_pct=change_pct(visitors, previous_visitors),
        series=points,
        top_pages=[PageRow(page, int(views)) for page, views in pages.most_common(limit)],
    )


def _zero_rate(searches: int, zero: int) -> float | None:
    return round(zero / searches * 100, 1) if searches else None


def search_activities(
    rng: Range, now_ms: int | None = None, limit: int = TOP_LIMIT
) -> SearchReport:
    win = _window(rng, now_ms)
    now = win.now_ms
    metrics = {m: search_series(m) for m in SEARCH_METRICS}
    compare = win.compares_within(SEARCH_RETENTION_MS)
    periods = [(win.start_ms, win.end_ms)] + ([win.previous] if compare else [])
    totals = series_reads.series_totals(metrics.values(), rng.granularity, periods, now)

    def total(metric, period=0):
        return totals[(metrics[metric].key, period)]

    searches, zero = int(total("query_frequency")), int(total("zero_results"))
    rate = _zero_rate(searches, zero)
    previous = previous_rate = None
    if compare:
        previous = int(total("query_frequency", 1))
        previous_rate = _zero_rate(previous, int(total("zero_results", 1)))
    buckets = series_reads.series_range(
        metrics["query_frequency"], rng.granularity, win.start_ms, win.end_ms, rng.bucket_ms, now
    )
    # the queries of the days still retained, the same days as the totals above (the
    # 90-day view ranks the last 30 days' queries: the 30-day view's live union)
    retained = retained_from(SEARCH_RETENTION_MS, rng.granularity, now)
    ranked = [t for t in win.bucket_starts if t >= retained]
    top = search_store.top_searches("all", rng.granularity, ranked, limit)
    zero_top = search_store.top_searches("zero_results", rng.granularity, ranked, limit)
    # Response times are kept 7 days: the mean is over the searches still timed.
    timed_from = retained_from(RESPONSE_TIMES_RETENTION_MS, rng.granularity, now)
    timed = series_reads.series_totals(
        [metrics["response_times"], metrics["query_frequency"]],
        rng.granularity,
        [(max(win.start_ms, timed_from), win.end_ms)],
        now,
    )
    timed_count = timed[(metrics["query_frequency"].key, 0)]
    return SearchReport(
        **_period(win),
        bucket_seconds=rng.bucket_ms // 1000,
        retention_days=SEARCH_RETENTION_MS // DAY_MS,
        total_searches=searches,
        previous_total_searches=previous,
        change_pct=change_pct(searches, previous),
        zero_result_searches=zero,
        zero_result_rate=rate,
        previous_zero_result_rate=previous_rate,
        zero_result_rate_change=(
            round(rate - previous_rate, 1)
            if rate is not None and previous_rate is not None
            else None
        ),
        average_result_count=round(total("result_counts") / searches, 1) if searches else None,
        average_response_ms=(
            round(timed[(metrics["response_times"].key, 0)] / timed_count, 2)
            if timed_count
            else None
        ),
        distinct_queries=top.distinct,
        series=[
            SearchesPoint(t=win.iso(t), label=win.label(t), searches=int(buckets.get(t, 0)))
            for t in win.bucket_starts
        ],
        top_queries=[QueryRow(q, c) for q, c in top.top],
        zero_result_queries=[QueryRow(q, c) for q, c in zero_top.top],
        distinct_zero_result_queries=zero_top.distinct,
    )


def user_countries(
    rng: Range, now_ms: int | None = None, limit: int | None = None
) -> CountriesReport:
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
    month = store.countries_of_month(now)
    return CountriesReport(
        **_period(win),
        total=total,
        countries=[
            CountryRow(name, int(views), round(views / total * 100, 1))
            for name, views in by_country.most_common(limit)
        ],
        current_month=MonthCountries(
            month=win.iso(now)[:7],
            countries=[CountryViews(c, v) for c, v in month.most_common(limit)],
        ),
    )


def page_activities(rng: Range, now_ms: int | None = None, limit: int = 30) -> ActivityReport:
    """The newest page views of the range from the events stream (capped, so the oldest
    of a long range may be gone)."""
    win = _window(rng, now_ms)
    events = recent_events(count=limit, kinds={PAGE_VIEW}, since_ms=win.start_ms)
    return ActivityReport(
        **_period(win),
        events=[
            PageActivity(
                id=e["id"],
                timestamp=win.iso(e["timestamp_ms"]),
                page=str(e["data"].get("page", "")),
                country=str(e["data"].get("country", "")),
                search=e["data"].get("search"),
                results=e["data"].get("results"),
            )
            for e in events
        ],
    )


def dashboard(rng: Range, now_ms: int | None = None) -> Dashboard:
    now = store.now_ms() if now_ms is None else now_ms
    views = page_views(rng, now)
    searches = search_activities(rng, now)
    return Dashboard(
        range=rng,
        page_views=views,
        searches=searches,
        countries=user_countries(rng, now, limit=TABLE_LIMIT),
        activity=page_activities(rng, now, limit=20),
        kpis=kpis(rng, views, searches),
    )


def _change(value, unit="%", up_is_good=True, missing="no comparison"):
    if value is None:
        return Change(text="—", tone=Tone.FLAT, title=missing)
    good = (value > 0) == up_is_good
    tone = Tone.FLAT if value == 0 else (Tone.GOOD if good else Tone.BAD)
    return Change(text=f"{value:+.1f}{unit}", tone=tone, title="against the previous period")


def kpis(rng: Range, views: PageViewsReport, searches: SearchReport) -> list[Kpi]:
    """The four KPI cards: value and change against the previous period."""
    views_missing = (
        "the previous period is beyond the 90-day retention"
        if views.previous_total is None
        else "no page views in the previous period"
    )
    search_missing = (
        "the previous period is beyond the 30-day retention of searches"
        if searches.previous_total_searches is None
        else "no searches in the previous period"
    )
    rate = searches.zero_result_rate
    return [
        Kpi(
            label="Page views",
            value=f"{views.total:,}",
            change=_change(views.change_pct, missing=views_missing),
        ),
        Kpi(
            label="Unique visitors",
            value=f"{views.unique_visitors:,}",
            change=_change(views.unique_visitors_change_pct, missing=views_missing),
            hint="per day: the daily salt means a visitor on two days counts twice"
            if rng.granularity == "daily" and rng.buckets > 1
            else "",
        ),
        Kpi(
            label="Searches",
            value=f"{searches.total_searches:,}",
            change=_change(searches.change_pct, missing=search_missing),
        ),
        Kpi(
            label="Zero-result rate",
            value="—" if rate is None else f"{rate:.1f}%",
            change=_change(
                searches.zero_result_rate_change,
                unit=" pt",
                up_is_good=False,
                missing=search_missing,
            ),
        ),
    ]
