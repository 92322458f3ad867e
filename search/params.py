"""A search request's parameters: validated from the query string into `SearchParams`
(InvalidSearch says what is wrong), with the fingerprint its cached answer is kept by."""

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field

from django.http import QueryDict

from search import query_store, ranking
from search.queries.text import InvalidSearch, parse_text, words_of
from search.values import FilterOptions

PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
# RediSearch answers at most MAXSEARCHRESULTS (10,000, set by the launcher) per query.
MAX_RESULT_WINDOW = 10_000
FACET_LABELS = {"genre": "Genre", "subgenre": "Subgenre", "language": "Language",
                "country": "Country"}  # fmt: skip
RANGE_FIELDS = {"year": (1870, 2100), "rating": (0, 10)}
MAX_FILTER_VALUES = 20
MAX_RAW_QUERY_CHARS = 2000


@dataclass
class SearchParams:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def is_browse_all(self) -> bool:
        """No text and no filter: the whole catalogue (its facets come from the cache)."""
        return (
            parse_text(self.q).empty
            and not any(self.filters.values())
            and not any(v != (None, None) for v in self.ranges.values())
        )

    def cache_fingerprint(self) -> str:
        """A hash of what decides the answer: the parsed text (its words, phrases and
        whether the last word is a prefix), filters, ranges, sort, page and size. Never
        the text itself, cleaned or not: "kidnapp " and "kidnapp" clean alike, yet only
        the second completes the word."""
        data = {
            "text": asdict(parse_text(self.q)),
            "filters": {k: sorted(v) for k, v in sorted(self.filters.items()) if v},
            "ranges": {k: list(v) for k, v in sorted(self.ranges.items())},
            "sort": self.sort,
            "page": self.page,
            "size": self.size,
        }
        encoded = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha1(encoded, usedforsecurity=False).hexdigest()


def _number(raw, name, low, high, integer):
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise InvalidSearch(f"{name} must be a number, not {str(raw)[:20]!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise InvalidSearch(f"{name} must be a finite number")
    if integer and not value.is_integer():
        raise InvalidSearch(f"{name} must be a whole number")
    if not low <= value <= high:
        raise InvalidSearch(f"{name} must be between {low} and {high}")
    return int(value) if integer else value


def default_sort(q: str, options: FilterOptions) -> str:
    """The order when the visitor has chosen none (see `ranking.default_sort`)."""
    has_ratings = options.has_ratings
    if has_ratings is None and not words_of(q):  # options cached before they said so
        has_ratings = query_store.has_ratings()
    return ranking.default_sort(bool(words_of(q)), bool(has_ratings))


def parse_params(query_dict: QueryDict, options: FilterOptions) -> SearchParams:
    """Validate request parameters into SearchParams; InvalidSearch says what is wrong.
    `options` (from `facets.filter_options()`) lists the values each facet can take."""
    params = SearchParams()
    params.q = (query_dict.get("q") or "")[:MAX_RAW_QUERY_CHARS]
    for facet in FACET_LABELS:
        raw_values = [v for v in query_dict.getlist(facet) if v.strip()][:MAX_FILTER_VALUES]
        known = {value.lower(): value for value, _ in options.facets.get(facet, [])}
        chosen = []
        for raw in raw_values:
            canonical = known.get(raw.strip().lower())
            if canonical is None:
                raise InvalidSearch(f"unknown {facet} {raw.strip()[:60]!r}")
            if canonical not in chosen:
                chosen.append(canonical)
        params.filters[facet] = chosen
    for name, (low, high) in RANGE_FIELDS.items():
        integer = name == "year"
        lower = _number(query_dict.get(f"{name}_min"), f"{name}_min", low, high, integer)
        upper = _number(query_dict.get(f"{name}_max"), f"{name}_max", low, high, integer)
        if lower is not None and upper is not None and lower > upper:
            raise InvalidSearch(f"{name} range is reversed ({lower} > {upper})")
        params.ranges[name] = (lower, upper)
    sort = query_dict.get("sort") or ""
    if sort and sort not in ranking.SORTS:
        raise InvalidSearch(f"unknown sort {sort[:30]!r}; use one of {', '.join(ranking.SORTS)}")
    # Without words every film is equally relevant: "relevance" means the default order.
    if not sort or (sort == "relevance" and not words_of(params.q)):
        sort = default_sort(params.q, options)
    params.sort = sort
    page = (query_dict.get("page") or "1").strip()
    if not re.fullmatch(r"[0-9]{1,9}", page) or int(page) < 1:
        raise InvalidSearch("page must be a positive whole number")
    params.page = int(page)
    size = (query_dict.get("size") or str(DEFAULT_PAGE_SIZE)).strip()
    if not re.fullmatch(r"[0-9]{1,4}", size) or int(size) not in PAGE_SIZES:
        raise InvalidSearch(f"size must be one of {', '.join(map(str, PAGE_SIZES))}")
    params.size = int(size)
    if params.offset >= MAX_RESULT_WINDOW:
        raise InvalidSearch(
            f"only the first {MAX_RESULT_WINDOW:,} results can be browsed; narrow the search "
            "with filters or a more precise query"
        )
    return params
