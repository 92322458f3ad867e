"""gunicorn hooks for `manage.py serve` (loaded with `--config python:config.gunicorn`)."""

import io
from collections.abc import Callable, Iterable
from typing import Any

# Bodies up to this size are read before the request takes a slot (Django's own
# in-memory limit, DATA_UPLOAD_MAX_MEMORY_SIZE); larger ones go to the app as they are,
# which refuses a form that big without reading it.
BUFFERED_BODY_MAX = 2_621_440
BODY_TIMED_OUT = b"Request Timeout: the request body did not arrive in time.\n"


def post_worker_init(worker: Any) -> None:
    """Under gevent, at most `--threads` requests run the app at once in a worker, each
    only once its body has arrived (within --keep-alive seconds, else 408).

    The slots keep a burst within a store's Redis pool, as gthread's threads do; reading
    the body before taking one keeps clients that send slowly from holding them all.
    """
    if worker.cfg.worker_class_str != "gevent":
        return
    import gevent
    from gevent.lock import BoundedSemaphore

    slots = BoundedSemaphore(worker.cfg.threads)
    body_timeout = worker.cfg.keepalive
    app = worker.wsgi

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not _read_body_first(environ, gevent.Timeout(body_timeout, False)):
            start_response("408 Request Timeout", [("Content-Type", "text/plain")])
            return [BODY_TIMED_OUT]
        with slots:
            return app(environ, start_response)

    worker.wsgi = application


def _read_body_first(environ, timeout):
    """Replace wsgi.input by the body read into memory; False if it did not arrive
    within `timeout` (a silent gevent.Timeout)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True  # the app answers a bad length
    if not 0 < length <= BUFFERED_BODY_MAX:
        return True
    with timeout:
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        return True
    return False
