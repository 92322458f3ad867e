"""Records page views and searches after the response is built; never fails a request.

Writes for one request go in one pipeline to the analytics store (one round trip), plus
one XADD to the events stream, which is its own store and may live on another server.
With the analytics store down, pages still render: the loss is counted, logged at most
once a minute, and for a few seconds after a failure no write is attempted at all, so
an outage does not add a connection attempt to every request.
"""

import logging
import threading
import time

import redis
from django.conf import settings

from config.events import append_event
from insights import store, tracking

logger = logging.getLogger(__name__)

PAGE_VIEW_EVENT = "page_view"
LOG_EVERY_SECONDS = 60
PAUSE_AFTER_FAILURE_SECONDS = 5


class LossCounter:
    """Counts hits lost to failures; logs a summary at most once a minute."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.total = 0
        self.unlogged = 0
        self.last_log = None
        self.paused_until = 0.0
        self.last_error = ""

    def paused(self):
        return self.clock() < self.paused_until

    def lost(self, error=None):
        with self.lock:
            self.total += 1
            self.unlogged += 1
            now = self.clock()
            if error is not None:
                self.last_error = f"{type(error).__name__}: {error}"
                self.paused_until = now + PAUSE_AFTER_FAILURE_SECONDS
            if self.last_log is not None and now - self.last_log < LOG_EVERY_SECONDS:
                return
            self.last_log = now
            count, self.unlogged = self.unlogged, 0
        logger.warning(
            "analytics not recorded for %d request(s) (%d in total since start): %s",
            count,
            self.total,
            self.last_error,
        )


losses = LossCounter()


class _Paused(Exception):
    """Raised instead of calling Redis while writes are paused after a failure."""


def record(hit):
    """Write one hit and its page-activity event; Redis errors propagate to the caller."""
    store.record_hit(hit)
    if hit.page:
        data = {"page": hit.page, "country": hit.country_name}
        if hit.search:
            data["search"] = hit.search.query
            data["results"] = hit.search.result_count
        append_event(PAGE_VIEW_EVENT, **data)


class InsightsTrackingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.INSIGHTS_TRACKING_ENABLED:
            self.track(request, response)
        return response

    def track(self, request, response):
        try:
            hit = tracking.hit_for(request, response, store.now_ms(), salt_for=self.salt)
            if hit is None:
                return
            if losses.paused():
                raise _Paused
            record(hit)
        except _Paused:
            losses.lost()
        except (redis.RedisError, OSError) as exc:
            losses.lost(exc)
        except Exception as exc:  # a bug here must not turn a page into a 500
            logger.exception("analytics tracking failed")
            losses.lost(exc)

    def salt(self, timestamp_ms):
        if losses.paused():
            raise _Paused
        return store.visitor_salt(timestamp_ms)
