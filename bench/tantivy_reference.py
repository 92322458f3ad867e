"""tantivy beside the product, for the search bench: the catalogue the bench measures (its
JSONL file) in a tantivy index, and the product's parsed queries run on it as a search
product would: the top 20 by score (or by the sort field), the exact total, and exact
facet counts from columnar (fast) fields, on one thread. A reference, not a dependency.

The query mirrors `search.queries.builder.text_clause`: every word not a stop word is
required, in any text field weighted as `FIELD_WEIGHTS`; the last word being typed also
matches as a prefix (`PREFIX_WEIGHT`); typo variants (`allowed_typos` edits, a swap
counting as one) weigh `FUZZY_WEIGHT`; titles starting with the typed text weigh
`TITLE_PREFIX_WEIGHT`. Facets are disjunctive, as the product's: a facet with a filter
of its own is counted without it.
"""

import json
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import tantivy
from tantivy import FieldType, Occur, Order, Query

from search.params import FACET_LABELS, SearchParams
from search.queries.builder import MIN_PREFIX_CHARS
from search.queries.text import TextQuery, allowed_typos, is_stop_word, title_keys
from search.ranking import (
    FIELD_WEIGHTS,
    FUZZY_WEIGHT,
    PREFIX_WEIGHT,
    TITLE_PREFIX_WEIGHT,
    sort_keys,
)

FACETS = (*FACET_LABELS, "year")  # the product's facets, and the year histogram
RECORD_NAMES = {"subgenre": "subgenres"}  # index field -> JSONL field, where they differ
NUMERIC = {"year": FieldType.Integer, "rating": FieldType.Float}
FACET_BUCKETS = 1000  # above any facet's distinct values, so the terms counts are exact
WRITER_HEAP_BYTES = 256_000_000


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True)
    for name in FIELD_WEIGHTS:  # tantivy's en_stem: Snowball English, as RediSearch stems
        builder.add_text_field(name, stored=True, tokenizer_name="en_stem")
        # RediSearch keeps each word unstemmed beside its stem, for prefixes and typos.
        builder.add_text_field(unstemmed(name), tokenizer_name="default")
    builder.add_text_field("title_key", tokenizer_name="raw")
    for name in FACET_LABELS:
        builder.add_text_field(name, stored=True, fast=True, tokenizer_name="raw")
    builder.add_integer_field("year", stored=True, indexed=True, fast=True)
    builder.add_float_field("rating", stored=True, fast=True)
    return builder.build()


def unstemmed(name: str) -> str:
    return f"{name}_words"


def document(record: dict) -> tantivy.Document:
    """One JSONL record as a tantivy document (absent and empty values left out)."""
    fields = {"id": record["id"], "title_key": title_keys(record["title"])}
    for name in (*FIELD_WEIGHTS, *FACET_LABELS, *NUMERIC):
        value = record.get(RECORD_NAMES.get(name, name))
        if value not in (None, "", []):
            fields[name] = value
            if name in FIELD_WEIGHTS:
                fields[unstemmed(name)] = value
    return tantivy.Document(**fields)


def jsonl_records(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


@dataclass(frozen=True)
class Build:
    movies: int
    seconds: float
    disk_bytes: int
    segments: int


def build_index(jsonl: Path, directory: Path) -> tuple[tantivy.Index, Build]:
    """Index every record of `jsonl` into `directory` with one indexing thread."""
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema(), path=str(directory))
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
    count = 0
    for record in jsonl_records(jsonl):
        writer.add_document(document(record))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    seconds = time.perf_counter() - started
    disk = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    return index, Build(count, seconds, disk, index.searcher().num_segments)


def should(queries: Iterable[Query]) -> Query:
    """Any of `queries`, their scores added."""
    return Query.boolean_query([(Occur.Should, q) for q in queries])


@dataclass(frozen=True)
class Page:
    total: int
    docs: list[dict]
    facets: dict[str, list[tuple[str | int, int]]]
    facets_exact: bool


class Catalogue:
    """Searches one tantivy index with the product's parsed queries."""

    def __init__(self, index: tantivy.Index):
        self.index = index
        self.schema = index.schema
        self.searcher = index.searcher()
        self.analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.stemmer("english"))
            .build()
        )  # en_stem's chain, to turn a typed word into the term the index holds

    def _in_text_fields(self, make, weight: float = 1.0, stemmed: bool = True) -> Query:
        """`make(field)` in every text field, weighted; the unstemmed copies unless `stemmed`."""
        fields = {(f if stemmed else unstemmed(f)): w for f, w in FIELD_WEIGHTS.items()}
        return should(Query.boost_query(make(f), w * weight) for f, w in fields.items())

    def word_query(self, word: str, prefix: bool, typos: bool) -> Query:
        terms = self.analyzer.analyze(word) or [word]
        parts = [self._in_text_fields(lambda f: Query.term_query(self.schema, f, terms[0]))]
        if prefix and len(word) >= 2:
            parts.append(self._in_text_fields(
                lambda f: Query.fuzzy_term_query(self.schema, f, word, distance=0, prefix=True),
                PREFIX_WEIGHT, stemmed=False,
            ))  # fmt: skip
        distance = allowed_typos(word) if typos else 0
        if distance:
            parts.append(self._in_text_fields(
                lambda f: Query.fuzzy_term_query(self.schema, f, word, distance=distance),
                FUZZY_WEIGHT, stemmed=False,
            ))  # fmt: skip
        return parts[0] if len(parts) == 1 else should(parts)

    def _title_starts(self, text: str) -> Query:
        return Query.fuzzy_term_query(self.schema, "title_key", text, distance=0, prefix=True)

    def text_query(self, text_query: TextQuery) -> Query | None:
        if text_query.empty:
            return None
        if text_query.phrases:
            raise NotImplementedError("quoted phrases: the bench's queries have none")
        words = text_query.words
        clauses = []
        for i, word in enumerate(words):
            if is_stop_word(word):
                continue
            last = i == len(words) - 1
            prefix = last and text_query.prefix_last and len(word) >= MIN_PREFIX_CHARS
            clauses.append((Occur.Must, self.word_query(word, prefix, text_query.typos)))
        typed = " ".join(words)
        if not clauses:  # stop words only: titles only
            if text_query.completes_title:
                return self._title_starts(typed)
            whole = Query.term_query(self.schema, "title_key", typed)
            return should([whole, self._title_starts(typed + " ")])
        body = Query.boolean_query(clauses)
        if not text_query.completes_title:
            return body
        boost = Query.boost_query(self._title_starts(typed), TITLE_PREFIX_WEIGHT)
        return should([boost, body])

    def filter_queries(self, params: SearchParams) -> dict[str, Query]:
        """One required clause per facet filter and range, by field name."""
        clauses = {}
        for name, values in params.filters.items():
            if values:
                clauses[name] = Query.term_set_query(self.schema, name, list(values))
        for name, (low, high) in params.ranges.items():
            if low is None and high is None:
                continue
            if NUMERIC[name] is FieldType.Integer:
                low = None if low is None else math.ceil(low)
                high = None if high is None else math.floor(high)
            clauses[name] = Query.range_query(self.schema, name, NUMERIC[name], low, high)
        return clauses

    @staticmethod
    def _combined(text: Query | None, filters: Iterable[Query]) -> Query:
        clauses = [(Occur.Must, q) for q in ([text] if text else []) + list(filters)]
        return Query.boolean_query(clauses) if clauses else Query.all_query()

    def _counts(self, query: Query, facets: Iterable[str]) -> tuple[dict, bool]:
        aggs = {f: {"terms": {"field": f, "size": FACET_BUCKETS}} for f in facets}
        if not aggs:
            return {}, True
        answer = self.searcher.aggregate(query, aggs)
        rows, exact = {}, True
        for facet, result in answer.items():
            rows[facet] = [(b["key"], b["doc_count"]) for b in result["buckets"]]
            exact = exact and not result["sum_other_doc_count"]
            exact = exact and not result["doc_count_error_upper_bound"]
        return rows, exact

    def search(self, params: SearchParams, text_query: TextQuery, facets: bool = True) -> Page:
        """One page: the hits with their stored fields, the exact total and (unless not
        `facets`: the engine's part alone, as the bare FT.SEARCH) the facets."""
        text = self.text_query(text_query)
        filters = self.filter_queries(params)
        query = self._combined(text, filters.values())
        order = {}
        keys = sort_keys(params.sort)
        if keys:  # the first key only: tantivy orders by one fast field
            field_name, ascending = keys[0]
            order = {"order_by_field": field_name, "order": Order.Asc if ascending else Order.Desc}
        found = self.searcher.search(
            query, limit=params.size, offset=params.offset, count=True, **order
        )
        docs = [self.searcher.doc(address).to_dict() for _, address in found.hits]
        if not facets:
            return Page(found.count, docs, {}, True)
        counts, exact = self._counts(query, [f for f in FACETS if f not in filters])
        for facet in FACETS:
            if facet in filters:  # disjunctive: counted without its own filter
                others = [q for name, q in filters.items() if name != facet]
                rows, own_exact = self._counts(self._combined(text, others), [facet])
                counts |= rows
                exact = exact and own_exact
        return Page(found.count, docs, {f: counts[f] for f in FACETS}, exact)
