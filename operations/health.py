"""The operations store's details for `/health/redis` (services.operations), registered
with `config.health` by the app's `ready()`."""

import time
from collections.abc import Callable

import redis

from operations import alert_store


def operations_details(clock: Callable[[], float] = time.time) -> dict:
    """The collector's freshness and the number of active alerts; informational only, so
    a stopped collector does not make Redis itself look unhealthy."""
    try:
        last_pass = alert_store.collector_state().last_pass_ms
        active = len(alert_store.active_alerts())
    except redis.RedisError:
        return {}
    return {
        "collector_last_pass_age_s": (
            round(clock() - last_pass / 1000, 1) if last_pass is not None else None
        ),
        "active_alerts": active,
    }
