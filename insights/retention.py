"""How long each kind of analytics data is kept."""

from insights.units import DAY_MS, HOUR_MS

PAGE_VIEWS_RETENTION_MS = 90 * DAY_MS
SEARCH_RETENTION_MS = 30 * DAY_MS
RESPONSE_TIMES_RETENTION_MS = 7 * DAY_MS
COUNTRY_RETENTION_MS = 180 * DAY_MS
# The minute buckets only serve the realtime view (30 minutes and the 30 before).
MINUTE_BUCKETS_RETENTION_MS = 3 * HOUR_MS
