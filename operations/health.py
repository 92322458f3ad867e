"""The operations store's extra details for `/health/redis` (services.operations)."""

import time

import redis

from operations import store


def operations_details(clock=time.time):
    """The collector's freshness and the number of active alerts; informational only, so
    a stopped collector does not make Redis itself look unhealthy."""
    try:
        state = store.collector_state()
        active = len(store.active_alerts())
    except redis.RedisError:
        return {}
    last_pass = int(state["last_pass_ms"]) if state.get("last_pass_ms") else None
    return {
        "collector_last_pass_age_s": (
            round(clock() - last_pass / 1000, 1) if last_pass is not None else None
        ),
        "active_alerts": active,
    }
