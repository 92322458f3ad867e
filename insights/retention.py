"""Where a read of a range starts: the first whole bucket still inside a retention."""

from insights.series import GRANULARITIES


def retained_from(retention_ms: int, granularity: str, now: int) -> int:
    """The first whole bucket still inside a retention. Reads start there at the earliest:
    retention trims from a series' newest sample, so an idle series still holds older
    samples than its retention."""
    oldest = now - retention_ms
    return oldest + (-oldest % GRANULARITIES.get(granularity, 1))
