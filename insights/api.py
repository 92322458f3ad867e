"""The staff-only JSON APIs under `/api/analytics/`, each with `?range=` (docs/INSIGHTS.md).

A report dataclass becomes its JSON in one place, `reports.as_json`.
"""

import logging

import redis
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.access import staff_required_api
from config.middleware import is_redis_outage
from insights import reports
from insights.ranges import InvalidRange, parse_range

logger = logging.getLogger(__name__)

MAX_LIMIT = 100


class BadParameter(ValueError):
    pass


def _limit(request, default):
    raw = request.GET.get("limit")
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise BadParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return value


def _api(build, default_limit):
    @never_cache
    @staff_required_api
    @require_GET
    def view(request):
        try:
            rng = parse_range(request.GET.get("range"))
            limit = _limit(request, default_limit)
        except (InvalidRange, BadParameter) as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        try:
            return JsonResponse(reports.as_json(build(rng, limit=limit)))
        except redis.RedisError as exc:
            if not is_redis_outage(exc):
                raise
            logger.warning("analytics API: store unavailable: %s", exc)
            return JsonResponse(
                {"error": "the analytics store is unavailable; try again shortly"}, status=503
            )

    view.default_limit = default_limit  # the OpenAPI document (config/openapi/) states it
    return view


page_views = _api(reports.page_views, reports.TOP_LIMIT)
search_activities = _api(reports.search_activities, reports.TOP_LIMIT)
user_countries = _api(reports.user_countries, MAX_LIMIT)
page_activities = _api(reports.page_activities, 30)
