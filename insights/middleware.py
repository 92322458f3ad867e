"""Records page views and searches after the response is built; never fails a request.

The request works out its hit (no Redis, but for the day's salt once a day) and queues
it on this process's `recorder`, a telemetry batcher whose thread writes the queued hits
every quarter second (or past 500) in one analytics pipeline plus their page-activity
events, and once a minute prepares the live search unions
(search_store.prepare_search_unions). With `INSIGHTS_RECORD_IN_BACKGROUND=false` each
request writes its hit itself. With the analytics store down pages still render; lost
hits are counted (`/metrics`) and logged.
"""

import logging
import time

import redis
from django.conf import settings

from config.events import PAGE_VIEW, append_event
from config.redis_stores import get_redis
from insights import search_store, store, tracking
from telemetry import batcher

logger = logging.getLogger(__name__)

PAUSE_AFTER_FAILURE_SECONDS = 5
BATCH_SIZE = 500
FLUSH_INTERVAL_SECONDS = 0.25
MAX_QUEUED = 50_000  # about 10 s of traffic at 5,000 page views/s; beyond it hits are lost
# How often the recorder thread makes sure today's and tomorrow's live search unions are
# built (search_store.prepare_search_unions: one cheap script call per union once built).
PREPARE_EVERY_SECONDS = 60


class _Paused(Exception):
    """Raised instead of calling Redis while writes are paused after a failure."""


def record(hits: list[store.Hit]) -> None:
    """Write hits and their page-activity events; Redis errors propagate to the caller."""
    store.record_hits(hits)
    pipe = None
    for hit in hits:
        if not hit.page:
            continue
        if pipe is None:
            pipe = get_redis("events").pipeline(transaction=False)
        data = {"page": hit.page, "country": hit.country_name}
        if hit.search:
            data["search"] = hit.search.query
            data["results"] = hit.search.result_count
        append_event(PAGE_VIEW, pipeline=pipe, **data)
    if pipe is not None:
        pipe.execute()


def prepare_unions() -> int:
    """Build the live search unions ahead of the first render of a day (off the request
    path); a failure is logged and retried on the next round, never raised."""
    if recorder.losses.paused():
        return 0
    try:
        return search_store.prepare_search_unions()
    except (redis.RedisError, OSError) as exc:
        logger.warning("insights: could not prepare the search unions: %s", exc)
    except Exception:
        logger.exception("insights: preparing the search unions failed")
    return 0


class Recorder(batcher.Batcher):
    """This process's queue of hits and the thread that writes them in batches (of at
    most five wake-up batches per write), and prepares the live search unions."""

    def __init__(self):
        super().__init__(
            "analytics",
            logger,
            flush_interval=FLUSH_INTERVAL_SECONDS,
            max_queued=MAX_QUEUED,
            batch_size=BATCH_SIZE,
            max_batch=5 * BATCH_SIZE,
            pause_after_failure=PAUSE_AFTER_FAILURE_SECONDS,
            thread_name="insights-recorder",
        )
        self.next_prepare = 0.0

    def write(self, hits):
        record(hits)

    def housekeeping(self):
        if time.monotonic() >= self.next_prepare:
            self.next_prepare = time.monotonic() + PREPARE_EVERY_SECONDS
            prepare_unions()


recorder = batcher.publish(Recorder())


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
        except _Paused:
            recorder.losses.lost()
            return
        except (redis.RedisError, OSError) as exc:  # the salt could not be read
            recorder.losses.lost(exc)
            return
        except Exception as exc:  # a bug here must not turn a page into a 500
            logger.exception("analytics tracking failed")
            recorder.losses.lost(exc)
            return
        if hit is None:
            return
        if settings.INSIGHTS_RECORD_IN_BACKGROUND:
            recorder.submit(hit)
        else:
            recorder.write_now([hit])

    def salt(self, timestamp_ms):
        if recorder.losses.paused():
            raise _Paused
        return store.visitor_salt(timestamp_ms)
