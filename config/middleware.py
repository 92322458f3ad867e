"""Project-wide middleware: security headers, and no traceback page on a Redis outage.

SecurityHeadersMiddleware adds the headers Django's own middleware does not set (a strict
Content-Security-Policy, Permissions-Policy, Cross-Origin-Resource-Policy).
RedisOutageMiddleware answers a Redis outage a view lets escape with a 503: an HTML page,
or JSON for `/api/` and `/health/`.
"""

import logging
import re
from collections.abc import Callable

import redis
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


# Every page uses only its own scripts, styles and images (static/, no CDN, no inline
# code, no style="" attributes): anything else is refused by the browser.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# No page needs these browser features.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer",
        "microphone", "payment", "usb",
    )
)  # fmt: skip
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """First in MIDDLEWARE, so every response gets the headers: static files, redirects
    and error pages included. A view that needs another policy sets its own header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response


# Error replies that say the server cannot serve now, whatever was asked: loading its
# data, refusing writes after a failed save or without the replicas it requires, or
# without the search index (dropped by a FLUSHDB until `create_index` rebuilds it).
UNAVAILABLE_REPLIES = re.compile(
    r"^(LOADING|MISCONF|NOREPLICAS)|: no such index$|^Unknown Index name$"
)


def is_redis_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGE_ERRORS) or (
        isinstance(exc, redis.ResponseError) and UNAVAILABLE_REPLIES.search(str(exc)) is not None
    )


class RedisOutageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: BaseException
    ) -> HttpResponse | None:
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
