"""Time units of the analytics (UTC milliseconds) and the bucket size of each granularity."""

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

GRANULARITIES = {"minute": MINUTE_MS, "hourly": HOUR_MS, "daily": DAY_MS}
