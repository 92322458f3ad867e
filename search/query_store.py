"""Thin Redis I/O of searching (DB 0): every query a search sends to the replicas
(FT.AGGREGATE, FT.SEARCH, FT.SPELLCHECK, FT.SUGGET, the hashes of a page) with its reply
parsed into typed values. The schema, index lifecycle, generation and movie writes are in
search/store.py, the FT.* arguments in search/queries/ft.py.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from search.keys import movie_id_of
from search.queries import ft
from search.queries.ft import QUERY_TIMEOUT_MS, FtQuery
from search.store import MULTI_VALUE_FIELDS, TAG_SEPARATOR, read_client


def tag_values(field: str, raw: str | None) -> list[str]:
    """The values of one tag field as stored: a multi-valued tag holds "a|b"."""
    if not raw:
        return []
    return raw.split(TAG_SEPARATOR) if field in MULTI_VALUE_FIELDS else [raw]


def by_count(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """[(value, count)] from a {value: count} tally, most frequent first, then by value."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Document:
    """One movie hash as a query returned it: its key and the fields asked for."""

    key: str
    fields: dict[str, str]

    @property
    def movie_id(self) -> str:
        return movie_id_of(self.key)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.fields.get(name, default)


@dataclass(frozen=True)
class Found:
    total: int
    docs: list[Document]


@dataclass(frozen=True)
class FoundKeys:
    total: int
    keys: list[str]


def _pairs(flat: Sequence) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def ft_search(q: FtQuery) -> Found:
    """One ranked page of `q` with its return fields, ties by movie id."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.ranked_args(q))
    return Found(int(raw[0]), _loaded_docs(raw, q.return_fields))


def ft_sorted(q: FtQuery) -> Found:
    """One page of `q` ordered by all of `q.sort` (an aggregation: FT.SEARCH sorts by
    one field only, and ties would fall back to document ids)."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.sorted_args(q))
    return Found(int(raw[0]), _loaded_docs(raw, q.return_fields))


def ft_search_keys(q: FtQuery) -> FoundKeys:
    """The total and the keys of the first `q.limit` ranked matches, without fields."""
    raw = read_client().execute_command(
        "FT.AGGREGATE", *ft.ranked_args(replace(q, offset=0, return_fields=()))
    )
    return FoundKeys(int(raw[0]), [doc.key for doc in _loaded_docs(raw, ())])


def first_matches(q: FtQuery) -> list[Document]:
    """The first `q.limit` matches in index order, unranked."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.first_matches_args(q))
    return _loaded_docs(raw, q.return_fields)


def _loaded_docs(raw: list, fields: Sequence[str]) -> list[Document]:
    """The rows of an FT.AGGREGATE reply that LOADed `@__key` and `fields`."""
    docs = []
    for row in raw[1:]:
        values = _pairs(row)
        key = values.pop("__key")
        docs.append(Document(key, {n: values[n] for n in fields if values.get(n) is not None}))
    return docs


def docs_by_keys(keys: Sequence[str], fields: Sequence[str]) -> list[Document]:
    """The given movie hashes' `fields`; a key deleted meanwhile is skipped."""
    pipe = read_client().pipeline(transaction=False)
    for key in keys:
        pipe.hmget(key, *fields)
    docs = []
    for key, values in zip(keys, pipe.execute(), strict=True):
        if any(value is not None for value in values):
            docs.append(Document(key, {n: v for n, v in zip(fields, values, strict=True) if v}))
    return docs


def has_match(query: str, params: Mapping[str, object] | None = None) -> bool:
    """True when `query` matches a movie: an aggregation that stops at the first match,
    where counting a broad query reads every match (30 ms for a common word at 1M)."""
    raw = read_client().execute_command("FT.AGGREGATE", *ft.any_match_args(query, params))
    return len(raw) > 1


def has_ratings() -> bool:
    """True when some movie has a rating."""
    return has_match("@rating:[-inf +inf]")


@dataclass(frozen=True)
class FacetCount:
    rows: list[tuple[str, int]]  # by count then value
    grouped: int  # documents grouped, those without the field included


def facet_counts(
    requests: Mapping[str, tuple[str, Mapping]],
    sample: int | None = None,
    timeout_ms: int = QUERY_TIMEOUT_MS,
) -> dict[str, FacetCount]:
    """Count facet values: `requests` maps a facet field to (query, params). Evaluating
    the query is the dear part, so with `sample` the facets that share one query are
    grouped by one aggregation (at most `sample` rows, within MAX_FACET_GROUPS);
    without it each facet groups alone, as combinations over a whole catalogue could
    exceed that limit. The aggregations go in one pipeline."""
    shared = {}
    for field, (query, params) in requests.items():
        key = (query, tuple(sorted(params.items())))
        shared.setdefault(key, (query, params, []))[2].append(field)
    groups = []
    for query, params, fields in shared.values():
        if sample and sample <= ft.MAX_FACET_GROUPS:
            groups.append((query, params, fields))
        else:
            groups.extend((query, params, [field]) for field in fields)
    pipe = read_client().pipeline(transaction=False)
    for query, params, fields in groups:
        pipe.execute_command(
            "FT.AGGREGATE", *ft.facet_args(fields, query, params, sample, timeout_ms)
        )
    counts = {}
    for (_, _, fields), raw in zip(groups, pipe.execute(), strict=True):
        totals = {field: {} for field in fields}
        grouped = 0
        for row in raw[1:]:
            values = _pairs(row)
            count = int(values["count"])
            grouped += count
            # Documents without the field group under None: counted, but no value.
            for field in fields:
                for value in tag_values(field, values.get(field)):
                    totals[field][value] = totals[field].get(value, 0) + count
        for field in fields:
            counts[field] = FacetCount(rows=by_count(totals[field]), grouped=grouped)
    return {field: counts[field] for field in requests}


def count_matches(queries: Iterable[tuple[str, Mapping]]) -> list[int]:
    """Number of matches of each (query, params), pipelined."""
    pipe = read_client().pipeline(transaction=False)
    for query, params in queries:
        pipe.execute_command("FT.SEARCH", *ft.count_args(query, params))
    return [int(raw[0]) for raw in pipe.execute()]


def movie_years() -> list[int]:
    """Every year that has movies, ascending: one grouping over the whole catalogue."""
    raw = read_client().execute_command(
        "FT.AGGREGATE", *ft.facet_args(("year",), "*", {}, timeout_ms=ft.UNLIMITED)
    )
    years = set()
    for row in raw[1:]:
        value = _pairs(row).get("year")
        if value not in (None, ""):  # movies without a year group under null
            years.add(int(float(value)))
    return sorted(years)


def spellcheck(terms: Sequence[str], distance: int = 2) -> dict[str, list[tuple[str, float]]]:
    """FT.SPELLCHECK suggestions per term: {term: [(suggestion, score)]}."""
    if not terms:
        return {}
    raw = read_client().execute_command("FT.SPELLCHECK", *ft.spellcheck_args(terms, distance))
    found = {}
    for entry in raw:
        if len(entry) >= 3 and entry[0] == "TERM":
            found[entry[1]] = [(s, float(score)) for score, s in entry[2]]
    return found


@dataclass(frozen=True)
class Completion:
    """One FT.SUGGET entry: the matched string and its payload's movie id and label."""

    string: str
    movie_id: str
    label: str | None


def autocomplete(prefix: str, limit: int = 5, fuzzy: bool = True) -> list[Completion]:
    """FT.SUGGET entries. A prefix longer than FT.SUGGET takes is looked up by its start
    (`ft.autocomplete_prefix`): the caller checks the rest."""
    raw = read_client().execute_command("FT.SUGGET", *ft.sugget_args(prefix, limit, fuzzy))
    found = []
    for i in range(0, len(raw or []), 2):
        try:
            payload = json.loads(raw[i + 1] or "")
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("id"):
            found.append(Completion(raw[i], str(payload["id"]), payload.get("label")))
    return found


def phonetic_suggestions(query: str, limit: int = 5) -> list[Document]:
    """Movies (title, year, id) whose titles sound like `query`, a phonetic query built
    by search/queries/builder.py."""
    raw = read_client().execute_command("FT.SEARCH", *ft.phonetic_args(query, limit))
    return [Document(raw[i], _pairs(raw[i + 1] or [])) for i in range(1, len(raw), 2)]
