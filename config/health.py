"""`GET /health/redis`: every store's reachability and latency, and the loaded modules."""

import time

import redis
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.redis_stores import STORES, get_redis
from operations.health import operations_details

REQUIRED_MODULES = ("search", "timeseries")


def _check_store(store):
    started = time.perf_counter()
    try:
        get_redis(store).ping()
    except redis.RedisError as exc:
        return {"status": "down", "latency_ms": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _modules():
    try:
        return sorted(m["name"] for m in get_redis("search").module_list())
    except redis.RedisError:
        return []


def redis_health():
    """The health report as a dict; `healthy` only when every store answers and the
    search and timeseries modules are loaded."""
    services = {store: _check_store(store) for store in STORES}
    if services["operations"]["status"] == "up":  # the collector's freshness, active alerts
        services["operations"].update(operations_details())
    modules = _modules() if services["search"]["status"] == "up" else []
    healthy = all(s["status"] == "up" for s in services.values()) and all(
        m in modules for m in REQUIRED_MODULES
    )
    report = {
        "status": "healthy" if healthy else "unhealthy",
        "services": services,
        "modules": modules,
        "timestamp": timezone.now().isoformat(),
    }
    missing = [m for m in REQUIRED_MODULES if m not in modules]
    if services["search"]["status"] == "up" and missing:
        report["error"] = f"Redis modules not loaded: {', '.join(missing)}"
    return report


@never_cache
@require_GET
def redis_health_view(request):
    report = redis_health()
    return JsonResponse(report, status=200 if report["status"] == "healthy" else 503)
