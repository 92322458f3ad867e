"""The operations dashboard, its APIs and /metrics: thin views over reports and alerts."""

import hmac
import re

import redis
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from config.access import staff_required, staff_required_api
from operations import alerts as alert_rules
from operations import prometheus, reports
from operations.rules import RULES

ALERT_ID = re.compile(r"^[0-9a-f]{16}$")
# The tiles: (system series, label, unit), each showing the series' newest sample.
TILES = [
    ("cpu_usage", "CPU", "%"),
    ("memory_usage", "Memory", "%"),
    ("redis_memory", "Redis memory", "%"),
    ("redis_ops_per_sec", "Redis ops/s", ""),
    ("redis_clients", "Redis clients", ""),
    ("cache_hit_ratio", "Cache hit ratio", "%"),
]

LOOPBACK = {"127.0.0.1", "::1"}


@never_cache
@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {"outage": None, "rules": RULES, "ranges": ["1h", "24h", "7d"],
               "refresh_seconds": settings.OPERATIONS_COLLECT_INTERVAL}  # fmt: skip
    status = 200
    try:
        context.update(
            latest=reports.latest_system(),
            redis=reports.redis_overview(),
            alerts=reports.alerts(limit=30),
            configuration=reports.configuration(),
        )
    except redis.RedisError as exc:
        # Degrade inside the dashboard's own layout; the page polls and recovers.
        context["outage"] = f"{type(exc).__name__}: {exc}"
        status = 503
    latest = context.get("latest", {})
    context["tiles"] = [{"name": name, "label": label, "unit": unit, "value": latest.get(name)}
                        for name, label, unit in TILES]  # fmt: skip
    return render(request, "operations/dashboard.html", context, status=status)


@require_POST
@staff_required
def acknowledge(request: HttpRequest, alert_id: str) -> HttpResponse:
    if not ALERT_ID.match(alert_id):
        return HttpResponseBadRequest("Bad alert id: expected 16 hexadecimal characters.")
    alert = alert_rules.acknowledge(alert_id, request.user.get_username())
    if alert is None:
        messages.warning(request, "That alert is no longer active (it may have just resolved).")
    else:
        messages.success(
            request,
            f"Alert acknowledged by {alert.acknowledged_by} at {alert.acknowledged_at}.",
        )
    return redirect("operations:dashboard")


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _range_report(request, report):
    """`report(range)` as JSON; a range that is not one of the windows is a 400."""
    try:
        return JsonResponse(report(request.GET.get("range")))
    except reports.BadRange as exc:
        return _bad_request(str(exc))


@never_cache
@require_GET
@staff_required_api
def api_system_metrics(request: HttpRequest) -> HttpResponse:
    return _range_report(request, reports.system_metrics)


@never_cache
@require_GET
@staff_required_api
def api_performance_metrics(request: HttpRequest) -> HttpResponse:
    return _range_report(request, reports.performance_metrics)


@never_cache
@require_GET
@staff_required_api
def api_alerts(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("limit", "50")
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses (a 500).
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= 1000:
        return _bad_request("limit must be a whole number from 1 to 1000")
    return JsonResponse(reports.alerts(limit=int(raw)))


@never_cache
@require_GET
@staff_required_api
def api_redis_info(request: HttpRequest) -> HttpResponse:
    return JsonResponse(reports.redis_overview())


@never_cache
@require_GET
@staff_required_api
def api_configuration(request: HttpRequest) -> HttpResponse:
    return JsonResponse(reports.configuration())


def metrics_allowed(request: HttpRequest) -> bool:
    """Scrapers cannot log in: loopback callers, a bearer token or a staff session."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())
    if settings.METRICS_ALLOW_LOOPBACK and request.META.get("REMOTE_ADDR") in LOOPBACK:
        return True
    return bool(request.user.is_authenticated and request.user.is_staff)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("Forbidden: /metrics needs loopback access or a bearer token.\n",
                            status=403, content_type="text/plain")  # fmt: skip
    return HttpResponse(prometheus.render(),
                        content_type="text/plain; version=0.0.4; charset=utf-8")  # fmt: skip
