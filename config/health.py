"""`GET /health/redis`: every store's reachability and latency, the loaded modules, and
the details each app registers for its store (`register`, called from `AppConfig.ready`)."""

import time
from collections.abc import Callable

import redis
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.redis_stores import STORES, get_redis

REQUIRED_MODULES = ("search", "timeseries")
_details: dict[str, Callable[[], dict]] = {}


def register(store: str, details: Callable[[], dict]) -> None:
    """Merge `details()` into `store`'s entry of the report whenever that store answers."""
    _details[store] = details


def _check_store(store: str) -> dict:
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


def redis_health() -> dict:
    """The health report as a dict; `healthy` only when every store answers and the
    search and timeseries modules are loaded."""
    services = {store: _check_store(store) for store in STORES}
    for store, details in _details.items():
        if services[store]["status"] == "up":
            services[store].update(details())
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
def redis_health_view(request: HttpRequest) -> JsonResponse:
    report = redis_health()
    return JsonResponse(report, status=200 if report["status"] == "healthy" else 503)
