"""User input -> a safe RediSearch query.

User text never reaches the query string as typed: it is cut into words of letters and
digits (the same split RediSearch's tokenizer makes at punctuation, so "Spider-Man"
and "Mission: Impossible" still match), and every filter value travels in PARAMS.
Nothing the user types can be query syntax.

Typo tolerance follows what users know from Meilisearch: no typo under 5 letters, one
from 5 (a swap of two adjacent letters counts as one: RediSearch's %term% is plain
Levenshtein, so the swaps are added as their own terms), two from 9; exact words weigh
more than fuzzy ones, and a query that is a whole title ranks that film first. Typo
variants are searched only when the words as typed find fewer than TYPO_FALLBACK_BELOW
movies (search/service.py decides; `TextQuery.typos`).
"""

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

MAX_QUERY_CHARS = 500
MAX_WORDS = 12
MAX_WORD_CHARS = 40
ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9
FUZZY_WEIGHT = 0.4
PREFIX_WEIGHT = 0.5
TITLE_PREFIX_WEIGHT = 8.0
# Below this many matches for the words as typed, their typo variants are searched too.
# Above it the variants would only add matches ranked below the exact ones, and they
# are dear: in a large catalogue a five-letter word's one-typo neighbours can match
# several times the movies the word itself does, all scored by RediSearch.
TYPO_FALLBACK_BELOW = 50
# RediSearch's default English stop words. The index keeps them (STOPWORDS 0) so that
# titles like "It" are found; in a query they match by title only (see text_clause).
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the "
    "their then there these they this to was will with".split()
)
MIN_PREFIX_CHARS = 4  # a shorter last word being typed completes only a title's start
MAX_NAME_WORDS = 5  # the longest run of typed words looked up as a person's full name

WORD_RE = re.compile(r"[^\W_]+")
LEADING_ARTICLE_RE = re.compile(r"^(the|a|an) ")
# How the catalogue joins several directors in one field: "A and B", "A, B", "A or B".
NAME_SEPARATOR_RE = re.compile(r"\s*(?:[,;&/]|\band\b|\bor\b)\s*", re.IGNORECASE)

# Multi-word synonyms the index's single-term synonym groups cannot express.
PHRASE_SYNONYMS = (
    ("sci", "fi"),
    ("science", "fiction"),
)


class InvalidSearch(ValueError):
    """Bad search input; the message is shown to the user (HTTP 400)."""


def clean_text(raw):
    """Drop control characters, normalise Unicode, collapse whitespace."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(text.split())


def words_of(text):
    return [w.lower() for w in WORD_RE.findall(text)]


def normalise_query(raw):
    """The form analytics and the cache see: lower-case, punctuation-free words."""
    return " ".join(words_of(clean_text(raw)[:MAX_QUERY_CHARS]))


def title_keys(title):
    """The normalised whole title, and the same without a leading article."""
    key = " ".join(words_of(clean_text(title)))
    keys = [key] if key else []
    stripped = LEADING_ARTICLE_RE.sub("", key)
    if stripped and stripped != key:
        keys.append(stripped)
    return keys


def person_keys(names):
    """The normalised full names (words joined by spaces) in `names`, a list of credits
    each of which may join several people ("Edwin S. Porter and J. Searle Dawley"):
    what the `director_key` and `cast_key` tags hold, and what a run of typed words
    is compared with."""
    keys = []
    for credit in names:
        for name in NAME_SEPARATOR_RE.split(clean_text(credit)):
            key = " ".join(words_of(name))
            if key and key not in keys:
                keys.append(key)
    return keys


@dataclass(frozen=True)
class TextQuery:
    words: tuple = ()
    phrases: tuple = ()
    prefix_last: bool = False
    typos: bool = True  # search the free words' typo variants too

    @property
    def has_typo_variants(self):
        """True when some free word searched in the text is long enough to have typo
        variants (stop words are matched by title only, without typos)."""
        return any(allowed_typos(word) and not is_stop_word(word) for word in self.words)

    @property
    def completes_title(self):
        """While the last word is typed, the titles that start with the text are looked
        up: RediSearch expands a prefix from 2 characters (MINPREFIX), and "the b" is 5."""
        return self.prefix_last and len(" ".join(self.all_words)) >= 2

    @property
    def empty(self):
        return not self.words and not self.phrases

    @property
    def all_words(self):
        return self.words + tuple(w for p in self.phrases for w in p)


def parse_text(raw):
    """Split user text into free words and "quoted phrases" (an unclosed quote is
    just text). The last free word is matched as a prefix while it is being typed."""
    text = clean_text(raw)[:MAX_QUERY_CHARS]
    phrases = []
    free_parts = []
    pieces = text.split('"')
    for i, piece in enumerate(pieces):
        inside = i % 2 == 1 and i < len(pieces) - 1
        if inside:
            phrase = tuple(words_of(piece)[:MAX_WORDS])
            if len(phrase) > 1:
                phrases.append(phrase)
            elif phrase:
                free_parts.append(phrase[0])
        else:
            free_parts.append(piece)
    free = " ".join(free_parts)
    words = tuple(w[:MAX_WORD_CHARS] for w in words_of(free))[:MAX_WORDS]
    typed = (raw or "")[:MAX_QUERY_CHARS]
    # Still typing the last word: no space, quote or punctuation after it yet.
    prefix_last = bool(words) and bool(typed) and bool(WORD_RE.match(typed[-1]))
    return TextQuery(words=words, phrases=tuple(phrases), prefix_last=prefix_last)


def adjacent_swaps(word):
    """Every word one swap of adjacent letters away (Damerau's transposition)."""
    swaps = []
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if swapped not in swaps:
                swaps.append(swapped)
    return swaps


def allowed_typos(word):
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    if len(word) >= ONE_TYPO_FROM and not word.isdigit():
        return 1
    return 0


# A Snowball stemmer keeps its working state in itself, so threads sharing one get
# IndexErrors (gunicorn's gthread workers did under load): one stemmer per thread.
_stemmers = threading.local()


@lru_cache(maxsize=4096)
def stem(word):
    """RediSearch stems English with Snowball: "stars" matches "star", so marks must too."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def is_stop_word(word):
    """A stop word, or a word RediSearch stems to one ("ins" to "in"): either would
    match nearly every plot."""
    return word in STOP_WORDS or stem(word) in STOP_WORDS


def word_clause(word, prefix, typos=True):
    """One word: exact, prefix while typing, and (with `typos`) its typo variants
    weighted down."""
    exact = [word]
    if prefix and len(word) >= 2:
        # Completions weigh less than the word itself: "wars" before "Warsaw".
        exact.append(f"({word}*)=>{{$weight:{PREFIX_WEIGHT}}}")
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


def phrase_clause(phrase):
    return '"' + " ".join(phrase) + '"'


def synonym_alternatives(words):
    """Expand multi-word synonyms: "sci fi" also finds "science fiction" and back."""
    for i in range(len(words) - 1):
        pair = (words[i], words[i + 1])
        if pair in PHRASE_SYNONYMS:
            others = [p for p in PHRASE_SYNONYMS if p != pair]
            return i, [phrase_clause(pair)] + [phrase_clause(o) for o in others] + ["scifi"]
    return None, []


def title_tag(words, prefix):
    """A safe `title_key` tag of whole normalised titles: the words (letters and digits
    only) joined by escaped spaces, with `*` for titles that start with them."""
    return "\\ ".join(words) + ("*" if prefix else "")


def text_clause(text_query, params, ranking=True):
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


def name_runs(text_query):
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


def exact_title_text(text_query):
    """The normalised text when it could be a whole title (no phrases), else None."""
    if text_query.empty or text_query.phrases:
        return None
    return " ".join(text_query.all_words)


def tag_clause(field_name, values, params):
    names = []
    for i, value in enumerate(values):
        name = f"{field_name}{i}"
        params[name] = value
        names.append(f"${name}")
    return f"@{field_name}:{{{'|'.join(names)}}}"


def range_clause(field_name, low, high):
    low_s = "-inf" if low is None else repr(float(low))
    high_s = "+inf" if high is None else repr(float(high))
    return f"@{field_name}:[{low_s} {high_s}]"


@dataclass
class BuiltQuery:
    query: str
    params: dict = field(default_factory=dict)
    # With relevance ranking, films whose whole title is the query (or, while the last
    # word is typed, starts with it) come first: this query (with `exact_title_params`)
    # finds them; see search/service.py.
    exact_title_query: str | None = None
    exact_title_params: dict = field(default_factory=dict)
    title_prefix_query: str | None = None  # (same params) while the last word is typed
    title_prefix_ranked_query: str | None = None  # the same titles, ranked by the words
    title_text: str | None = None  # the normalised text the titles are compared with
    # Then the films of a person whose full name is one of these runs of the typed words
    # (see `person_query`).
    person_names: tuple = ()


def build_query(text_query, filters, ranges, exclude_facet=None, exact_tier=False, ranking=True):
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
    built = BuiltQuery(query=" ".join(parts + filter_parts) or "*", params=params)
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
            # termin": The Terminator before The Terminal Man) without leaving out the
            # ones a last word still being typed ("star wa") is only the start of. It
            # costs a few ms at a million movies, so it runs only for a small tier.
            words = text_clause(text_query, params, ranking=False)
            built.title_prefix_ranked_query = " ".join([tag, f"~{words}", *filter_parts])
    if exact_tier:
        built.person_names = tuple(name_runs(text_query))
    return built


def person_query(built, field_name, names):
    """(query, params): the matches of `built` whose `field_name` tag (`director_key` or
    `cast_key`) holds one of the full `names`; the names travel in PARAMS."""
    params = built.params | {f"name{i}": name for i, name in enumerate(names)}
    tags = "|".join(f"$name{i}" for i in range(len(names)))
    return f"@{field_name}:{{{tags}}} {built.query}", params


def longest_names(names):
    """The names that are not part of a longer one: when "william desmond taylor" is a
    person, the actor "William Desmond" within it is not what was asked for."""
    return [
        name
        for name in names
        if not any(other != name and f" {name} " in f" {other} " for other in names)
    ]


def suggestion_query(raw):
    """A safe phonetic query over `movies_suggestions` for the autocomplete fallback."""
    words = [w for w in words_of(clean_text(raw)[:MAX_QUERY_CHARS]) if len(w) >= 2][:MAX_WORDS]
    if not words:
        return None
    return "@title:(" + " ".join(words) + ")"
