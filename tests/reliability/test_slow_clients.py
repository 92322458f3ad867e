"""Slow clients cannot stop the site, and are dropped; many fast ones are all served.

The app runs as `manage.py serve` runs it (the `shared_live` fixture of test_outage_live: serve's
own gunicorn command line, with serve's defaults, one worker). 200 connections each send
the start of a request's headers and then nothing more, as a slowloris client does
between its lines. While they are open, `/health/redis` and `/` must still answer 200,
and the server must eventually close every one of them. The same for clients that send
their headers whole but their bodies slowly. And 100 requests arriving at once must all
answer 200: an event-loop worker that ran them all at once would ask for more Redis
connections than a store's pool holds.

No figure is asserted: the hang guards (15 s per request, 60 s for the drops) are far
above the second the site may be delayed (docs/BENCHMARKS.md, "Slow clients"), so only
a server that waits for the slow clients, as gthread workers do with a thread each,
fails here.
"""

import contextlib
import selectors
import socket
import threading
import time

import pytest

from tests.reliability.test_outage_live import shared_live  # noqa: F401 - the served app

pytestmark = pytest.mark.slow

SLOW_CONNECTIONS = 200
SLOW_BODIES = 20  # more than a worker runs requests at once
SIMULTANEOUS_REQUESTS = 100
HANG_GUARD_S = 15
DROP_GUARD_S = 60


def open_slow_connections(port, count, start=b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"):
    """`count` connections, each having sent `start` of a request, no more."""
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
        connection.sendall(start)
        connections.append(connection)
    return connections


def wait_until_closed_by_server(connections, timeout):
    """The connections still open after `timeout` (the server closed the others: EOF or
    reset)."""
    selector = selectors.DefaultSelector()
    for connection in connections:
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ)
    still_open = set(connections)
    deadline = time.monotonic() + timeout
    while still_open and (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(timeout=left):
            try:
                data = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:  # closed (an error page first would also do, read on to EOF)
                selector.unregister(key.fileobj)
                still_open.discard(key.fileobj)
    selector.close()
    return still_open


@contextlib.contextmanager
def held(connections):
    """The connections, closed on leaving whatever happened."""
    try:
        yield connections
    finally:
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()


# The start of a POST whose body never comes whole. A well-formed CSRF cookie, so the
# CSRF check reads the form (without one it refuses the request without reading the body).
SLOW_BODY_START = (
    b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Cookie: csrftoken=" + b"a" * 32 + b"\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    b"username="  # and never the rest of the 100 bytes
)


def test_slow_clients_do_not_block_other_requests(shared_live):  # noqa: F811
    live = shared_live
    with held(open_slow_connections(live.port, SLOW_CONNECTIONS)):
        # Each GET has its own 15 s timeout (Live.get); a blocked server fails here.
        for path in ("/health/redis", "/", "/health/redis"):
            status, body = live.get(path)
            assert status == 200, f"{path} while {SLOW_CONNECTIONS} slow clients: {body[:300]}"


def test_the_server_drops_slow_clients(shared_live):  # noqa: F811
    live = shared_live
    with held(open_slow_connections(live.port, SLOW_CONNECTIONS)) as slow:
        still_open = wait_until_closed_by_server(slow, DROP_GUARD_S)
        assert not still_open, f"{len(still_open)} slow connections still open"
        assert live.get("/health/redis")[0] == 200


def test_slow_bodies_do_not_block_other_requests(shared_live):  # noqa: F811
    live = shared_live
    with held(open_slow_connections(live.port, SLOW_BODIES, SLOW_BODY_START)):
        for path in ("/health/redis", "/"):
            status, body = live.get(path)
            assert status == 200, f"{path} while {SLOW_BODIES} slow bodies: {body[:300]}"


def test_the_server_drops_slow_bodies(shared_live):  # noqa: F811
    with held(open_slow_connections(shared_live.port, SLOW_BODIES, SLOW_BODY_START)) as slow:
        still_open = wait_until_closed_by_server(slow, DROP_GUARD_S)
        assert not still_open, f"{len(still_open)} slow bodies still open"


def test_requests_arriving_at_once_are_all_served(shared_live):  # noqa: F811
    live = shared_live
    start = threading.Barrier(SIMULTANEOUS_REQUESTS)
    statuses = []

    def one():
        start.wait(timeout=HANG_GUARD_S)
        statuses.append(live.get("/health/redis")[0])

    clients = [threading.Thread(target=one) for _ in range(SIMULTANEOUS_REQUESTS)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=DROP_GUARD_S)
    assert statuses == [200] * SIMULTANEOUS_REQUESTS, f"not 200: {sorted(set(statuses))}"
