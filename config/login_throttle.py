"""django-axes' callables (settings "Login throttling"): the username it counts, and the
answer to a locked-out login: HTTP 429 with Retry-After and the minutes left, as a page
or, for scripts, as JSON.

A cache outage is not a lockout: reading the counters raises the Redis error, which
RedisOutageMiddleware answers with a 503, and nothing is counted meanwhile.
"""

import math

from axes.helpers import get_cache, get_client_cache_keys, get_cool_off, get_failure_limit
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def counted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username as axes counts it, prefixed. axes keys each
    counter by the bare value, so a failed login as "203.0.113.5" would otherwise count
    against, and lock out, the client address 203.0.113.5."""
    field = settings.AXES_USERNAME_FORM_FIELD
    username = credentials.get(field) if credentials else request.POST.get(field)
    return f"username:{username}" if username else None


def seconds_until_unlocked(request: HttpRequest, credentials: dict | None = None) -> int:
    """How long the lockout of this request lasts: the longest time left on a counter at
    the limit (axes keeps each with the lockout time as its TTL)."""
    cool_off = int(get_cool_off(request).total_seconds())
    cache = get_cache()
    limit = get_failure_limit(request, credentials)
    left = []
    for key in get_client_cache_keys(request, credentials):
        if (cache.get(key) or 0) >= limit:
            ttl = cache.ttl(key) if hasattr(cache, "ttl") else None  # django-redis has it
            left.append(ttl if ttl else cool_off)  # None: no expiry; 0: it just expired
    return max(1, max(left, default=cool_off))


def retry_message(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"Too many failed logins; try again in {minutes} minute{'' if minutes == 1 else 's'}."


def wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest" or (
        request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what a locked-out login gets instead of the login form."""
    credentials = credentials or getattr(request, "axes_credentials", None)
    seconds = seconds_until_unlocked(request, credentials)
    message = retry_message(seconds)
    if wants_json(request):
        response = JsonResponse({"error": message, "retry_after": seconds}, status=429)
    else:
        context = {"message": message, "failure_limit": get_failure_limit(request, credentials)}
        response = render(request, "registration/lockout.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
