"""What a search answers when RediSearch refuses it."""

import logging

import redis

from config.middleware import is_redis_outage
from search.queries.text import InvalidSearch

logger = logging.getLogger(__name__)


class SearchRefused(InvalidSearch):
    """RediSearch answered a search with an error: the user gets the reason (HTTP 400)."""


def refused(exc: redis.ResponseError, text: str) -> Exception:
    """The error to raise for a Redis error reply: an outage stays itself (a 503 from
    the outage middleware); anything else is a SearchRefused with the engine's reason."""
    if is_redis_outage(exc):
        return exc
    logger.warning("RediSearch refused %r: %s", text[:100], exc)
    return SearchRefused(
        f"the search engine could not run this search ({str(exc)[:120]}); "
        "try fewer or shorter words"
    )
