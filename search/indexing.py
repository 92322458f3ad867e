"""Creating and rebuilding the search indexes (`manage.py create_index`)."""

from collections.abc import Callable
from dataclasses import dataclass

from search import records, store, upsert


@dataclass
class IndexReport:
    live: str
    created: bool = False
    reindexed_from: str | None = None
    suggestions_created: bool = False
    num_docs: int = 0
    derived_refreshed: int = 0  # movies whose derived fields a reindex filled in


def ensure_indexes() -> IndexReport:
    """Create the versioned movie index, its alias, the suggestions index and the
    synonyms when they are missing. Running it again changes nothing."""
    report = IndexReport(live=store.live_index_name() or "")
    if not report.live:
        versions = store.index_versions()
        if versions:  # an index without its alias (an interrupted run): reuse the newest
            report.live = versions[-1][1]
        else:
            report.live = store.create_versioned_index(1)
            report.created = True
        store.apply_synonyms(report.live)
        store.point_alias(report.live)
    report.suggestions_created = store.ensure_suggestions_index()
    report.num_docs = store.movie_count()
    return report


def reindex(on_progress: Callable[[float, int], None] | None = None) -> IndexReport:
    """Zero-downtime rebuild: build the next version beside the live one, wait until it
    has indexed every document, move the alias, drop the old index (documents kept)."""
    # Movies imported by an older release may lack fields the schema now indexes: fill
    # them in first, so that the new version indexes each movie once, complete.
    refreshed = upsert.refresh_derived_fields(
        records.derived_fields_of_hash, ("title", "director", "cast"), records.DERIVED_FIELDS
    )
    report = ensure_indexes()
    report.derived_refreshed = refreshed
    if report.created:
        store.wait_until_indexed(report.live, on_progress=on_progress)
        report.num_docs = store.movie_count()
        return report
    old = report.live
    next_version = max(v for v, _ in store.index_versions()) + 1
    new = store.create_versioned_index(next_version)
    store.apply_synonyms(new)
    store.wait_until_indexed(new, on_progress=on_progress)
    store.point_alias(new)
    for _, name in store.index_versions():  # the old one, and any left by an interrupted run
        if name != new:
            store.drop_index_keep_documents(name)
    store.bump_generation()
    report.live, report.reindexed_from = new, old
    report.num_docs = store.movie_count()
    return report
