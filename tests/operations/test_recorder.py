"""Which pipeline replies are writes Redis refused (pure logic: the replies are built
here as redis-py returns them with raise_on_error=False)."""

import redis

from operations.recorder import refused_writes


def test_a_primary_without_the_replicas_it_requires_refuses_the_write():
    refusal = redis.ResponseError("NOREPLICAS Not enough good replicas to write.")
    assert refused_writes([1718000000000, refusal]) == [refusal]


def test_out_of_memory_read_only_and_misconf_are_refusals():
    replies = [
        redis.OutOfMemoryError("OOM command not allowed"),
        redis.ReadOnlyError("You can't write against a read only replica."),
        redis.ResponseError("MISCONF Redis is configured to save RDB snapshots"),
    ]
    assert refused_writes(replies) == replies


def test_other_replies_are_not_refusals():
    assert refused_writes([1, "OK", redis.ResponseError("ERR TSDB: invalid value")]) == []
    assert refused_writes(None) == []
