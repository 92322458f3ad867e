"""Request metrics: each request's duration and status, never failing the request.

Placed right after SecurityMiddleware so it times (nearly) the whole request. Static
files are skipped: they are not the application's performance. By default the figures
are queued and written in batches by a background thread (operations/recorder.py);
with OPERATIONS_REQUEST_METRICS_BACKGROUND off, each request writes one pipeline itself.
"""

import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

from operations.recorder import recorder


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        if not settings.OPERATIONS_REQUEST_METRICS:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        self.background = settings.OPERATIONS_REQUEST_METRICS_BACKGROUND

    def __call__(self, request):
        if request.path.startswith(self.static_prefix):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        is_error = response.status_code >= 500
        try:
            if self.background:
                recorder.record(duration_ms, is_error)
            else:
                recorder.write_now([(int(time.time() * 1000), duration_ms, is_error)])
        except Exception as exc:  # metrics must never fail a request
            recorder.losses.lost(exc)
        return response
