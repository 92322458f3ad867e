"""User text -> words: cleaning, splitting, stemming, typo rules, names and titles.

User text never reaches a query string as typed: it is cut into words of letters and
digits (the split RediSearch's tokenizer makes at punctuation, so "Spider-Man" and
"Mission: Impossible" still match). Typo rules follow Meilisearch: none under 5
letters, one from 5 (an adjacent swap counts as one), two from 9.
"""

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

MAX_QUERY_CHARS = 500
MAX_WORDS = 12
MAX_WORD_CHARS = 40
ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9
# RediSearch's default English stop words. The index keeps them (STOPWORDS 0) so that
# titles like "It" are found; in a query they match by title only.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the "
    "their then there these they this to was will with".split()
)

WORD_RE = re.compile(r"[^\W_]+")
LEADING_ARTICLE_RE = re.compile(r"(?i)^(?:the|a|an)\s+(?=\S)")
# How the catalogue joins several directors in one field: "A and B", "A, B", "A or B".
NAME_SEPARATOR_RE = re.compile(r"\s*(?:[,;&/]|\band\b|\bor\b)\s*", re.IGNORECASE)


class InvalidSearch(ValueError):
    """Bad search input; the message is shown to the user (HTTP 400)."""


def clean_text(raw: str | None) -> str:
    """Drop control characters, normalise Unicode, collapse whitespace."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    return " ".join(text.split())


def without_leading_article(text: str) -> str:
    """`text` without a leading "the", "a" or "an" ("The Terminator" -> "Terminator")."""
    return LEADING_ARTICLE_RE.sub("", text, count=1)


def words_of(text: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(text)]


def normalise_query(raw: str) -> str:
    """The form analytics and the cache see: lower-case, punctuation-free words."""
    return " ".join(words_of(clean_text(raw)[:MAX_QUERY_CHARS]))


def title_keys(title: str) -> list[str]:
    """The normalised whole title, and the same without a leading article."""
    key = " ".join(words_of(clean_text(title)))
    keys = [key] if key else []
    stripped = without_leading_article(key)
    if stripped and stripped != key:
        keys.append(stripped)
    return keys


def person_keys(names: list[str]) -> list[str]:
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
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    prefix_last: bool = False
    typos: bool = True  # search the free words' typo variants too

    @property
    def has_typo_variants(self) -> bool:
        """True when some free word searched in the text is long enough to have typo
        variants (stop words are matched by title only, without typos)."""
        return any(allowed_typos(word) and not is_stop_word(word) for word in self.words)

    @property
    def completes_title(self) -> bool:
        """While the last word is typed, the titles that start with the text are looked
        up: RediSearch expands a prefix from 2 characters (MINPREFIX), and "the b" is 5."""
        return self.prefix_last and len(" ".join(self.all_words)) >= 2

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases

    @property
    def all_words(self) -> tuple[str, ...]:
        return self.words + tuple(w for p in self.phrases for w in p)


def parse_text(raw: str | None) -> TextQuery:
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


def adjacent_swaps(word: str) -> list[str]:
    """Every word one swap of adjacent letters away (Damerau's transposition)."""
    swaps = []
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if swapped not in swaps:
                swaps.append(swapped)
    return swaps


def allowed_typos(word: str) -> int:
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    if len(word) >= ONE_TYPO_FROM and not word.isdigit():
        return 1
    return 0


# A Snowball stemmer keeps its working state in itself, so threads sharing one get
# IndexErrors (gunicorn's gthread workers did under load): one stemmer per thread.
_stemmers = threading.local()


@lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """RediSearch stems English with Snowball: "stars" matches "star", so marks must too."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def is_stop_word(word: str) -> bool:
    """A stop word, or a word RediSearch stems to one ("ins" to "in"): either would
    match nearly every plot."""
    return word in STOP_WORDS or stem(word) in STOP_WORDS
