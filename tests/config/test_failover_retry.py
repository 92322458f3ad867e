"""FailoverRetry, the retry of a Sentinel group's clients, on a fake clock: no Redis,
no real waiting."""

import pytest
import redis

from config import redis_stores
from config.redis_stores import FailoverRetry


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.slept += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(redis_stores, "time", fake)
    return fake


def failing(times, error=redis.ConnectionError):
    """A callable that raises `error` its first `times` calls, then answers 'ok'."""
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= times:
            raise error("down")
        return "ok"

    call.calls = calls
    return call


def test_a_failure_within_the_window_is_retried_until_it_answers(clock):
    call = failing(4)
    assert FailoverRetry(window=5.0).call_with_retry(call, lambda error: None) == "ok"
    assert len(call.calls) == 5


def test_past_the_window_the_last_error_is_raised(clock):
    call = failing(1000)
    with pytest.raises(redis.ConnectionError):
        FailoverRetry(window=5.0).call_with_retry(call, lambda error: None)
    assert clock.slept <= 5.0
    assert len(call.calls) > 5


def test_a_nested_retry_shares_the_outer_window(clock):
    """As redis-py's reconnect inside a command's retry: the inner retry must not start
    a window of its own each time the outer one tries again."""
    retry = FailoverRetry(window=5.0)
    inner = failing(1000)
    with pytest.raises(redis.ConnectionError):
        retry.call_with_retry(lambda: retry.call_with_retry(inner, lambda e: None), lambda e: None)
    assert clock.slept <= 5.0


def test_each_call_gets_a_window_of_its_own(clock):
    retry = FailoverRetry(window=5.0)
    with pytest.raises(redis.ConnectionError):
        retry.call_with_retry(failing(1000), lambda error: None)
    assert retry.call_with_retry(failing(3), lambda error: None) == "ok"


def test_an_error_that_is_no_outage_is_raised_at_once(clock):
    call = failing(1, error=redis.ResponseError)
    with pytest.raises(redis.ResponseError):
        FailoverRetry(window=5.0).call_with_retry(call, lambda error: None)
    assert len(call.calls) == 1


def test_the_window_opens_at_the_first_failure_not_at_the_call(clock):
    """A command that waited out a 5 s socket timeout on a frozen node is retried."""
    calls = []

    def frozen_then_answering():
        calls.append(1)
        if len(calls) == 1:
            clock.now += 5.0  # the socket timeout
            raise redis.TimeoutError("Timeout reading from socket")
        return "ok"

    assert FailoverRetry(window=5.0).call_with_retry(frozen_then_answering, lambda e: None) == "ok"
