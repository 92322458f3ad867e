"""The shared layer's tests run on the suite's real Redis Stack (tests/conftest.py); the
metrics store (DB 4) serves as a store outside DB 0, emptied before each test."""

import pytest

from config.redis_stores import get_redis
from telemetry import timeseries


@pytest.fixture
def db():
    """A client of a store outside DB 0, with this process's memo of series forgotten."""
    timeseries.forget_ensured()
    yield get_redis("metrics")
    timeseries.forget_ensured()
