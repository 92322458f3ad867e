"""Request metrics: each request's duration and status, never failing the request.

Placed right after SecurityMiddleware so it times (nearly) the whole request. Static
files are skipped: they are not the application's performance. By default the figures
are queued and written in batches by a background thread (operations/recorder.py);
with OPERATIONS_REQUEST_METRICS_BACKGROUND off, each request writes one pipeline itself.
"""

import logging
import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

from operations import metrics_store
from operations.recorder import recorder, refused_writes

logger = logging.getLogger(__name__)

_LOG_EVERY_SECONDS = 60.0


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        if not settings.OPERATIONS_REQUEST_METRICS:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        self.background = settings.OPERATIONS_REQUEST_METRICS_BACKGROUND
        self._last_warning = 0.0

    def __call__(self, request):
        if request.path.startswith(self.static_prefix):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        try:
            if self.background:
                recorder.record(duration_ms, response.status_code >= 500)
            else:
                refused = refused_writes(
                    metrics_store.record_request(duration_ms, response.status_code >= 500)
                )
                if refused:
                    recorder.note_dropped(1, refused[0])
        except Exception as exc:  # metrics must never fail a request
            recorder.dropped += 1
            self._warn(exc)
        return response

    def _warn(self, exc):
        # At most one line a minute per process: an outage must not flood the log.
        now = time.monotonic()
        if now - self._last_warning >= _LOG_EVERY_SECONDS:
            self._last_warning = now
            logger.warning("request metrics not recorded: %s: %s", type(exc).__name__, exc)
