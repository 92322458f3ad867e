"""The search query: the user's words, filters and ranges as one RediSearch query, with
the tier queries a relevance page shows first (whole titles, a person's films).

Every user value travels in PARAMS, or as words of letters and digits only; nothing a
user types can be query syntax.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from search.queries.synonyms import PHRASE_SYNONYM_WORD, PHRASE_SYNONYMS
from search.queries.text import (
    MAX_QUERY_CHARS,
    MAX_WORDS,
    TextQuery,
    adjacent_swaps,
    allowed_typos,
    clean_text,
    is_stop_word,
    words_of,
)
from search.ranking import FUZZY_WEIGHT, PREFIX_WEIGHT, TITLE_PREFIX_WEIGHT

MIN_PREFIX_CHARS = 4  # a shorter last word being typed completes only a title's start
# A word being typed completes in these fields only: at 1,000,000 movies a 4-letter prefix
# expands over plots to hundreds of thousands of postings (docs/SEARCH.md, "Typing").
PREFIX_FIELDS = "title|director|cast"
MAX_NAME_WORDS = 5  # the longest run of typed words looked up as a person's full name
MATCH_ALL = "*"  # the query of no words, filters or ranges: every movie
Params = dict[str, str | int | float]


def word_clause(word: str, prefix: bool, typos: bool = True) -> str:
    """One word: exact, prefix while typing (in titles and names only), and (with
    `typos`) its typo variants weighted down."""
    exact = [word]
    if prefix and len(word) >= 2:
        # Before the typo variants: the parser refuses a field scope after `=>{...}|`.
        exact.append(f"(@{PREFIX_FIELDS}:({word}*))=>{{$weight:{PREFIX_WEIGHT}}}")
    fuzzy = []
    allowed = allowed_typos(word) if typos else 0
    if allowed == 2:
        fuzzy.append(f"%%{word}%%")
    elif allowed == 1:
        fuzzy.append(f"%{word}%")
        fuzzy.extend(adjacent_swaps(word))
    parts = list(exact)
    if fuzzy:
        parts.append(f"({'|'.join(fuzzy)})=>{{$weight:{FUZZY_WEIGHT}}}")
    return parts[0] if len(parts) == 1 else f"({'|'.join(parts)})"


def phrase_clause(phrase: Sequence[str]) -> str:
    return '"' + " ".join(phrase) + '"'


def synonym_alternatives(words: Sequence[str]) -> tuple[int | None, list[str]]:
    """Expand multi-word synonyms: "sci fi" also finds "science fiction" and back."""
    for i in range(len(words) - 1):
        pair = (words[i], words[i + 1])
        if pair in PHRASE_SYNONYMS:
            others = [p for p in PHRASE_SYNONYMS if p != pair]
            return i, [phrase_clause(pair)] + [phrase_clause(o) for o in others] + [
                PHRASE_SYNONYM_WORD
            ]
    return None, []


def title_tag(words: Sequence[str], prefix: bool) -> str:
    """A safe `title_key` tag of whole normalised titles: the words (letters and digits
    only) joined by escaped spaces, with `*` for titles that start with them."""
    return "\\ ".join(words) + ("*" if prefix else "")


def text_clause(text_query: TextQuery, params: Params, ranking: bool = True) -> str:
    """The full-text part of the query, adding its parameters to `params`. Without
    `ranking` it leaves out the clauses that only order results (they match nothing the
    rest does not), which matters for counting: a tag prefix over a million titles is
    the dearest part of the query.

    Stop words are left to the title clauses: next to other words they would only add a
    check of nearly every plot, and a query of stop words alone ("it", "the") matches
    the titles that are, or (while typing) start with, those words. A last word shorter
    than MIN_PREFIX_CHARS completes only the start of a title."""
    if text_query.empty:
        return ""
    words = list(text_query.words)
    clauses = []
    at, alternatives = synonym_alternatives(words)
    skip = set()
    if at is not None:
        clauses.append(f"({'|'.join(alternatives)})")
        skip = {at, at + 1}
    for i, word in enumerate(words):
        if i in skip or is_stop_word(word):
            continue
        last = i == len(words) - 1
        prefix = last and text_query.prefix_last and len(word) >= MIN_PREFIX_CHARS
        clauses.append(word_clause(word, prefix=prefix, typos=text_query.typos))
    clauses.extend(phrase_clause(p) for p in text_query.phrases)
    body = " ".join(clauses)
    all_words = text_query.all_words
    typing = text_query.completes_title
    if not body:  # stop words only: titles only
        if typing:
            return f"(@title_key:{{{title_tag(all_words, prefix=True)}}})"
        whole, start = title_tag(all_words, False), title_tag((*all_words, ""), True)
        return f"(@title_key:{{{whole}}} | @title_key:{{{start}}})"
    if text_query.phrases or not ranking:
        return f"({body})"
    # While the last word is typed, titles that start with the text rank higher.
    if typing:
        tag = title_tag(all_words, prefix=True)
        boost = f"(@title_key:{{{tag}}})=>{{$weight:{TITLE_PREFIX_WEIGHT}}}"
        return f"({boost} | ({body}))"
    return f"({body})"


def name_runs(text_query: TextQuery) -> list[str]:
    """Every run of 2 to MAX_NAME_WORDS consecutive words that could be a person's full
    name: runs of the free words, and of each quoted phrase on its own. At most 38 for
    the longest query, looked up as one tag union."""
    runs = []
    for words in (text_query.words, *text_query.phrases):
        for length in range(2, min(MAX_NAME_WORDS, len(words)) + 1):
            for start in range(len(words) - length + 1):
                run = " ".join(words[start : start + length])
                if run not in runs:
                    runs.append(run)
    return runs


def exact_title_text(text_query: TextQuery) -> str | None:
    """The normalised text when it could be a whole title (no phrases), else None."""
    if text_query.empty or text_query.phrases:
        return None
    return " ".join(text_query.all_words)


def tag_clause(field_name: str, values: Sequence[str], params: Params) -> str:
    names = []
    for i, value in enumerate(values):
        name = f"{field_name}{i}"
        params[name] = value
        names.append(f"${name}")
    return f"@{field_name}:{{{'|'.join(names)}}}"


def range_clause(field_name: str, low: float | None, high: float | None) -> str:
    low_s = "-inf" if low is None else repr(float(low))
    high_s = "+inf" if high is None else repr(float(high))
    return f"@{field_name}:[{low_s} {high_s}]"


@dataclass
class BuiltQuery:
    query: str
    params: Params = field(default_factory=dict)
    # Sorted by relevance, the films whose whole title is the query (or, while typing,
    # starts with it) come first: this query finds them (search/tiers.py).
    exact_title_query: str | None = None
    exact_title_params: Params = field(default_factory=dict)
    title_prefix_query: str | None = None  # (same params) while the last word is typed
    title_prefix_ranked_query: str | None = None  # the same titles, ranked by the words
    title_text: str | None = None  # the normalised text the titles are compared with
    # Then the films of a person whose full name is one of these runs of the typed words
    # (see `person_query`).
    person_names: tuple[str, ...] = ()


def build_query(
    text_query: TextQuery,
    filters: Mapping[str, Sequence[str]],
    ranges: Mapping[str, tuple[float | None, float | None]],
    exclude_facet: str | None = None,
    exact_tier: bool = False,
    ranking: bool = True,
) -> "BuiltQuery":
    """The whole query: text AND every filter (OR within a facet, AND across).
    `exclude_facet` leaves one facet's own filter out, for its disjunctive counts.
    `exact_tier` splits off the films whose whole title is the query."""
    params = {}
    parts = []
    text = text_clause(text_query, params, ranking=ranking)
    if text:
        parts.append(text)
    filter_parts = []
    for field_name, values in filters.items():
        if values and field_name != exclude_facet:
            filter_parts.append(tag_clause(field_name, values, params))
    for field_name, (low, high) in ranges.items():
        if low is not None or high is not None:
            filter_parts.append(range_clause(field_name, low, high))
    built = BuiltQuery(query=" ".join(parts + filter_parts) or MATCH_ALL, params=params)
    whole_title = exact_title_text(text_query) if exact_tier else None
    if whole_title:
        built.title_text = whole_title
        built.exact_title_query = " ".join(["@title_key:{$title}", *filter_parts])
        built.exact_title_params = params | {"title": whole_title}
        # The tag is letters, digits and escaped spaces only, so it is safe inline.
        if text_query.completes_title:
            tag = f"@title_key:{{{title_tag(text_query.all_words, prefix=True)}}}"
            built.title_prefix_query = " ".join([tag, *filter_parts])
            # The words as an optional clause rank those titles among themselves ("the
            # termin": The Terminator first) without requiring a half-typed last word.
            words = text_clause(text_query, params, ranking=False)
            built.title_prefix_ranked_query = " ".join([tag, f"~{words}", *filter_parts])
    if exact_tier:
        built.person_names = tuple(name_runs(text_query))
    return built


def _name_tags(names: Sequence[str]) -> tuple[str, Params]:
    """The `names` as one TAG alternative of parameters, and those parameters."""
    params = {f"name{i}": name for i, name in enumerate(names)}
    return "|".join(f"${name}" for name in params), params


def person_query(built: "BuiltQuery", field_name: str, names: Sequence[str]) -> tuple[str, Params]:
    """(query, params): the matches of `built` whose `field_name` tag (`director_key` or
    `cast_key`) holds one of the full `names`; the names travel in PARAMS."""
    tags, params = _name_tags(names)
    return f"@{field_name}:{{{tags}}} {built.query}", built.params | params


def people_query(names: Sequence[str]) -> tuple[str, Params]:
    """(query, params): every film that credits one of the full `names` as director or
    cast, whatever the search; a lookup of tags only, so it costs next to nothing."""
    tags, params = _name_tags(names)
    return f"(@director_key:{{{tags}}} | @cast_key:{{{tags}}})", params


def longest_names(names: Sequence[str]) -> list[str]:
    """The names that are not part of a longer one: when "william desmond taylor" is a
    person, the actor "William Desmond" within it is not what was asked for."""
    return [
        name
        for name in names
        if not any(other != name and f" {name} " in f" {other} " for other in names)
    ]


def suggestion_query(raw: str) -> str | None:
    """A safe phonetic query over `movies_suggestions` (the movie hashes' titles) for
    the autocomplete fallback."""
    words = [w for w in words_of(clean_text(raw)[:MAX_QUERY_CHARS]) if len(w) >= 2][:MAX_WORDS]
    if not words:
        return None
    return "@title:(" + " ".join(words) + ")"
