"""Shared by the operations tests: fixed system figures, quiet values, raw reads."""

import json
from types import SimpleNamespace

from config.redis_stores import get_redis


def fixed_system(cpu=12.5, memory=40.0):
    """psutil's two readings, fixed, for a Collector."""
    return {
        "cpu_percent": lambda interval=None: cpu,
        "virtual_memory": lambda: SimpleNamespace(percent=memory, total=16 * 2**30),
    }


def quiet(cpu):
    """Values for every rule, each far below its threshold but the CPU's."""
    return {"cpu_usage": cpu, "memory_usage": 10.0, "redis_memory": 1.0, "error_rate": 0.0,
            "response_time": 50.0}  # fmt: skip


def hold(evaluator, clock, values, passes=8):
    """Evaluate `values` once every 10 s; returns every transition made."""
    transitions = []
    for _ in range(passes):
        transitions += evaluator.evaluate(values)
        clock.advance(10)
    return transitions


def raw_history():
    """operations:alerts as Redis holds it, newest first, read without the app's helpers."""
    return [json.loads(raw) for raw in get_redis("operations").lrange("operations:alerts", 0, -1)]


def raw_configuration():
    """The published copy as Redis holds it, read without the app's helpers."""
    return get_redis("operations").hgetall("operations:configuration")
