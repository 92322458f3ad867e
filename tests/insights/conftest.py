import pytest

from insights import middleware, store
from telemetry import timeseries

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def fresh_insights_state(monkeypatch, settings):
    """The store is emptied before each test: forget this process's caches of it. Hits
    are written in the request, so a test reads them back at once."""
    settings.INSIGHTS_RECORD_IN_BACKGROUND = False
    timeseries.forget_ensured()
    store.forget_salts()
    middleware.recorder.losses.reset()
    yield
    timeseries.forget_ensured()
    store.forget_salts()


@pytest.fixture
def clock(monkeypatch):
    """A controllable clock: `clock.set(ms)` / `clock.shift(ms)` move store.now_ms."""

    class Clock:
        def __init__(self):
            self.now = store.now_ms()

        def set(self, ms):
            self.now = int(ms)

        def shift(self, ms):
            self.now += int(ms)

    c = Clock()
    monkeypatch.setattr(store, "now_ms", lambda: c.now)
    return c


def visit(client, path, ua=BROWSER_UA, ip="203.0.113.7", **headers):
    """A browser request with the given headers."""
    return client.get(path, HTTP_USER_AGENT=ua, REMOTE_ADDR=ip, **headers)
