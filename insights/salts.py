"""The daily salt of the visitor hashes: a new random one each UTC day.

Every worker shares the day's salt through Redis; it expires when its day ends, and
making it deletes the days before, so an old visitor hash can no longer be recomputed
from an IP address and User-Agent.
"""

import secrets

from insights.keys import visitor_salt_key
from telemetry.units import DAY_MS

# How many days before today have their salt deleted when today's is made.
STALE_DAYS = 2


def new_salt() -> str:
    return secrets.token_hex(16)


def stale_salt_keys(timestamp_ms: int) -> list[str]:
    """The salts of the days before the day of `timestamp_ms`, deleted when it is made."""
    return [visitor_salt_key(timestamp_ms - n * DAY_MS) for n in range(1, STALE_DAYS + 1)]
