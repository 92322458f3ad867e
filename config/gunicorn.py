"""gunicorn hooks for `manage.py serve` (loaded with `--config python:config.gunicorn`)."""


def post_worker_init(worker):
    """Under gevent, at most `--threads` requests run the app at once in a worker.

    The event loop still reads any number of connections (up to --worker-connections),
    so a slow client waits outside the app; but requests that have arrived whole queue
    for a slot, as they queue for a thread under gthread. Unbounded, a burst of 200
    requests in one worker asked for more Redis connections than a store's pool holds
    (20 per process) and most answered 503 "Too many connections".
    """
    if worker.cfg.worker_class_str != "gevent":
        return
    from gevent.lock import BoundedSemaphore

    slots = BoundedSemaphore(worker.cfg.threads)
    app = worker.wsgi

    def application(environ, start_response):
        with slots:
            return app(environ, start_response)

    worker.wsgi = application
