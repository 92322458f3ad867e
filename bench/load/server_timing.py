"""What the server says about its cache in the `Server-Timing` header."""

import re

# `cache;desc="hit"` or `cache;desc="miss"`, among other metrics or alone.
CACHE_METRIC = re.compile(r'(?:^|,)\s*cache\s*;[^,]*?\bdesc\s*=\s*"?(hit|miss)\b', re.IGNORECASE)


def cache_answer(header: str | None) -> str:
    """ "hit" or "miss" as the header reports it, "absent" when it does not."""
    match = CACHE_METRIC.search(header or "")
    return match.group(1).lower() if match else "absent"
