"""Django's cache as searching uses it: an outage of the cache is logged and searching
goes on without it (a miss, a write skipped)."""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def get(key: str) -> object | None:
    try:
        return cache.get(key)
    except Exception as exc:  # a cache outage must never break searching
        logger.warning("search cache unavailable: %s", exc)
        return None


def put(key: str, value: object, ttl: int) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception as exc:
        logger.warning("search cache unavailable: %s", exc)


def add(key: str, value: object, ttl: int) -> bool:
    """Set `key` unless it exists (SET NX); True when it was set, or the cache is down."""
    try:
        return cache.add(key, value, ttl)
    except Exception as exc:
        logger.warning("search cache unavailable: %s", exc)
        return True


def delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("search cache unavailable: %s", exc)


def wait_for(key: str, seconds: float) -> object | None:
    """The value another request is computing, once it is there (None after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cached = get(key)
        if cached is not None:
            return cached
    return None
