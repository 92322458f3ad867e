"""The staff dashboard `/insights/` and its CSV exports. Thin: figures come from reports."""

import csv
import logging

import redis
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.access import staff_required
from config.middleware import is_redis_outage
from insights import reports
from insights.ranges import RANGES, InvalidRange, Range, parse_range

logger = logging.getLogger(__name__)

EXPORT_LIMIT = 1000


def _bad_range(request, exc):
    return render(request, "insights/bad_request.html", {"reason": str(exc)}, status=400)


def chart_data(report: reports.Dashboard) -> dict:
    """What the charts draw; handed to the page with json_script (never inline JS)."""
    views, countries = report.page_views, report.countries.countries[:10]
    return {
        "views": {
            "labels": [p.label for p in views.series],
            "values": [p.views for p in views.series],
        },
        "searches": {"values": [p.searches for p in report.searches.series]},
        "countries": {
            "labels": [c.country for c in countries],
            "values": [c.views for c in countries],
        },
    }


@never_cache
@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    try:
        rng = parse_range(request.GET.get("range"))
    except InvalidRange as exc:
        return _bad_range(request, exc)
    context = {"ranges": RANGES.values(), "selected": rng}
    try:
        report = reports.dashboard(rng)
    except redis.RedisError as exc:
        if not is_redis_outage(exc):
            raise
        logger.warning("insights dashboard: analytics store unavailable: %s", exc)
        context["unavailable"] = True
    else:
        context["report"] = report
        context["chart_data"] = chart_data(report)
    return render(request, "insights/dashboard.html", context)


def _safe_cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas: quote them (queries are
    user text)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(table: str, rng: Range) -> tuple[list[str], list[list]]:
    """(header, rows) of one dashboard table, for CSV."""
    if table == "pages":
        report = reports.page_views(rng, limit=EXPORT_LIMIT)
        return ["page", "views"], [[r.page, r.views] for r in report.top_pages]
    if table in ("searches", "zero-result-searches"):
        report = reports.search_activities(rng, limit=EXPORT_LIMIT)
        rows = report.top_queries if table == "searches" else report.zero_result_queries
        return ["query", "searches"], [[r.query, r.count] for r in rows]
    if table == "countries":
        report = reports.user_countries(rng, limit=EXPORT_LIMIT)
        rows = [[r.country, r.views, r.share_pct] for r in report.countries]
        return ["country", "views", "share_pct"], rows
    raise Http404(f"no table {table!r}")


EXPORT_TABLES = ("pages", "searches", "zero-result-searches", "countries")


@never_cache
@staff_required
@require_GET
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    if table not in EXPORT_TABLES:
        raise Http404("unknown table")
    try:
        rng = parse_range(request.GET.get("range"))
    except InvalidRange as exc:
        return HttpResponse(f"Bad request: {exc}\n", status=400, content_type="text/plain")
    try:
        header, rows = export_rows(table, rng)
    except redis.RedisError as exc:
        if not is_redis_outage(exc):
            raise
        return HttpResponse(
            "The analytics store is unavailable; try again shortly.\n",
            status=503,
            content_type="text/plain",
        )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="insights-{table}-{rng.name}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([[_safe_cell(cell) for cell in row] for row in rows])
    return response
