import pytest

from operations import metrics_store


class FakeClock:
    """A clock tests move by hand: no sleeping, no timed assertions."""

    def __init__(self, start=1_800_000_000.0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(autouse=True)
def inline_request_metrics(settings):
    """Tests here write request figures synchronously (one pipeline per request) so they
    can assert on them at once; figures other tests queued are written and wiped first."""
    from operations.recorder import recorder
    from tests.conftest import empty_store

    recorder.flush()
    recorder.losses.reset()  # each test counts (and logs) its own losses
    empty_store("metrics")  # never FLUSHDB: RediSearch would drop every index
    settings.OPERATIONS_REQUEST_METRICS_BACKGROUND = False
    yield


@pytest.fixture(autouse=True)
def forget_created_digests():
    # The middleware remembers which minute digests it created; the stores are flushed
    # between tests, so start each test with an empty memory.
    metrics_store.forget_created_digests()
    yield
    metrics_store.forget_created_digests()
