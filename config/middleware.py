"""A Redis outage never yields a traceback page.

Any view that lets a Redis connection error escape gets a friendly 503 instead: an
HTML page for pages, JSON for `/api/` and `/health/`. Views that can degrade further
(a dashboard showing "Redis is down" inside its layout) catch the error themselves.
"""

import logging

import redis
from django.http import JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def is_redis_outage(exc):
    return isinstance(exc, OUTAGE_ERRORS) or (
        isinstance(exc, redis.ResponseError) and str(exc).startswith(("LOADING", "MISCONF"))
    )


class RedisOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_redis_outage(exception):
            return None
        logger.warning("Redis unavailable for %s: %s", request.path, exception)
        if request.path.startswith(("/api/", "/health/")):
            response = JsonResponse(
                {"error": "the data store is unavailable; try again shortly"}, status=503
            )
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = "5"
        return response
