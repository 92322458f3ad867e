"""Records page views and searches after the response is built; never fails a request.

The request only works out its hit (no Redis, but for the day's salt once a day) and
hands it to this process's recorder. A background thread writes what has queued up every
quarter second (or at once past 500 hits) in one pipeline to the analytics store, hits
summed per key, plus the page-activity events to the events store: a page view costs the
request microseconds, and batches keep recording ahead of the traffic. Once a minute the
same thread makes sure the dashboard's live search unions for today and tomorrow are
built (search_store.prepare_search_unions), so no render pays for building one.
`INSIGHTS_RECORD_IN_BACKGROUND=false` writes each request's hit in the request instead
(one pipeline, one round trip); the insights tests do that to read back at once.

With the analytics store down, pages still render: lost hits are counted, logged at most
once a minute, and for a few seconds after a failure no write is attempted at all.
"""

import atexit
import logging
import os
import threading
import time

import redis
from django.conf import settings

from config.events import append_event
from config.redis_stores import get_redis
from insights import search_store, store, tracking

logger = logging.getLogger(__name__)

PAGE_VIEW_EVENT = "page_view"
LOG_EVERY_SECONDS = 60
PAUSE_AFTER_FAILURE_SECONDS = 5
BATCH_SIZE = 500
FLUSH_INTERVAL_SECONDS = 0.25
MAX_QUEUED = 50_000  # about 10 s of traffic at 5,000 page views/s; beyond it hits are lost
# How often the recorder thread makes sure today's and tomorrow's live search unions are
# built (search_store.prepare_search_unions: one cheap script call per union once built).
PREPARE_EVERY_SECONDS = 60


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

    def lost(self, error=None, count=1):
        with self.lock:
            self.total += count
            self.unlogged += count
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


def record(hits):
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
        append_event(PAGE_VIEW_EVENT, pipeline=pipe, **data)
    if pipe is not None:
        pipe.execute()


def write_or_count(hits):
    """Record hits, turning any failure into counted, rate-limited-logged losses."""
    if losses.paused():
        losses.lost(count=len(hits))
        return
    try:
        record(hits)
    except (redis.RedisError, OSError) as exc:
        losses.lost(exc, count=len(hits))
    except Exception as exc:  # a bug here must never reach a request
        logger.exception("analytics recording failed")
        losses.lost(exc, count=len(hits))


def prepare_unions():
    """Build the live search unions ahead of the first render of a day (off the request
    path); a failure is logged and retried on the next round, never raised."""
    if losses.paused():
        return 0
    try:
        return search_store.prepare_search_unions()
    except (redis.RedisError, OSError) as exc:
        logger.warning("insights: could not prepare the search unions: %s", exc)
    except Exception:
        logger.exception("insights: preparing the search unions failed")
    return 0


class Recorder:
    """This process's queue of hits and the thread that writes them in batches."""

    def __init__(self):
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()  # one batch in flight; flush() waits for it
        self.queue = []
        self.wake = threading.Event()
        self.thread = None
        self.pid = None

    def submit(self, hit):
        self._ensure_thread()
        with self.lock:
            if len(self.queue) >= MAX_QUEUED:
                full = True
            else:
                full = False
                self.queue.append(hit)
                queued = len(self.queue)
        if full:
            losses.lost(OverflowError("the analytics queue is full"))
            return
        if queued >= BATCH_SIZE:
            self.wake.set()

    def _ensure_thread(self):
        if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.pid is not None and self.pid != os.getpid():
                self.queue = []  # forked (gunicorn worker): the parent's hits are its own
            if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
                return
            self.pid = os.getpid()
            self.thread = threading.Thread(target=self._run, name="insights-recorder", daemon=True)
            self.thread.start()

    def _run(self):
        next_prepare = 0.0
        while True:
            self.wake.wait(FLUSH_INTERVAL_SECONDS)
            self.wake.clear()
            self.flush()
            if time.monotonic() >= next_prepare:
                next_prepare = time.monotonic() + PREPARE_EVERY_SECONDS
                prepare_unions()

    def flush(self):
        """Write everything queued so far; returns when it is written (or counted lost)."""
        with self.write_lock:
            with self.lock:
                batch, self.queue = self.queue, []
            for start in range(0, len(batch), 5 * BATCH_SIZE):
                write_or_count(batch[start : start + 5 * BATCH_SIZE])

    def pending(self):
        with self.lock:
            return len(self.queue)


recorder = Recorder()
atexit.register(recorder.flush)  # a worker that stops writes what it still holds


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
            losses.lost()
            return
        except (redis.RedisError, OSError) as exc:  # the salt could not be read
            losses.lost(exc)
            return
        except Exception as exc:  # a bug here must not turn a page into a 500
            logger.exception("analytics tracking failed")
            losses.lost(exc)
            return
        if hit is None:
            return
        if settings.INSIGHTS_RECORD_IN_BACKGROUND:
            recorder.submit(hit)
        else:
            write_or_count([hit])

    def salt(self, timestamp_ms):
        if losses.paused():
            raise _Paused
        return store.visitor_salt(timestamp_ms)
