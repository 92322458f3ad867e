"""Creating and rebuilding the search indexes (`manage.py create_index`)."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from search import keys, records, store, upsert


@dataclass
class IndexReport:
    live: str
    created: bool = False
    reindexed_from: str | None = None
    suggestions_created: bool = False
    num_docs: int = 0
    derived_refreshed: int = 0  # movies whose derived fields a reindex filled in
    legacy_suggestions_removed: int = 0  # suggestion hashes of releases before upsert v6
    # Indexes created by an older release with another schema: `reindex` rebuilds them.
    outdated: list[str] = field(default_factory=list)


def _signature(attributes: Iterable[Sequence], options: Iterable[str], prefixes: Iterable[str]
               ) -> tuple:  # fmt: skip
    """What decides an index's size and answers, comparable between FT.INFO's reply and
    a schema: each attribute's name, type and sortability, the index options and the
    key prefixes it indexes."""
    fields = set()
    for attribute in attributes:
        parts = [str(part) for part in attribute]
        fields.add((parts[parts.index("attribute") + 1], parts[parts.index("type") + 1],
                    "SORTABLE" in parts))  # fmt: skip
    return frozenset(fields), frozenset(options), frozenset(prefixes)


def schema_outdated(name: str) -> bool:
    """True when index `name` (a movie index version or the suggestions index) was
    created with another schema or other options than this release's: it needs the
    zero-downtime rebuild of `create_index --reindex`."""
    info = store.client().ft(name).info()
    if name == keys.SUGGESTIONS_INDEX:
        schema, options = store.suggestion_schema(), store.SUGGESTION_INDEX_OPTIONS
    else:
        schema, options = store.movie_schema(), store.MOVIE_INDEX_OPTIONS
    wanted = [["attribute", f.name, "type", f.args[0], *f.args_suffix] for f in schema]
    definition = info.get("index_definition") or []
    prefixes = definition[definition.index("prefixes") + 1] if "prefixes" in definition else []
    live = _signature(info["attributes"], info.get("index_options") or [], prefixes)
    return live != _signature(wanted, options, [keys.movie_prefix()])


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
    report.outdated = [name for name in (report.live, keys.SUGGESTIONS_INDEX)
                       if schema_outdated(name)]  # fmt: skip
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
    if keys.SUGGESTIONS_INDEX in report.outdated:
        store.rebuild_suggestions_index()
    # After the rebuild, so that no moment lacks both the old and the new phonetic index.
    report.legacy_suggestions_removed = upsert.adopt_legacy_suggestions()
    if report.created:
        store.wait_until_indexed(report.live, on_progress=on_progress)
        report.num_docs, report.outdated = store.movie_count(), []
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
    report.num_docs, report.outdated = store.movie_count(), []
    return report
