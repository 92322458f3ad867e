"""Marking matched words in titles and plot snippets, safe against HTML in the data.

RediSearch's HIGHLIGHT marks only exact terms (not the fuzzy or prefix expansions a
user typed), so the marking is done here with the same matching rules as the query:
the text is split into words and separators, every piece is HTML-escaped, and only
then are matched words wrapped in <mark>. Nothing from the data is ever trusted as HTML.
"""

import re
import threading
from functools import lru_cache

import snowballstemmer
from django.utils.html import escape
from django.utils.safestring import mark_safe

from search.query import ONE_TYPO_FROM, TWO_TYPOS_FROM

TOKEN_RE = re.compile(r"([^\W_]+)")


def damerau_levenshtein(a, b, limit=2):
    """Optimal string alignment distance, stopping early once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2 = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


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


def word_matches(token, word, prefix=False):
    if token == word or stem(token) == stem(word):
        return True
    if prefix and len(word) >= 2 and token.startswith(word):
        return True
    typos = allowed_typos(word)
    return bool(typos) and damerau_levenshtein(token, word, typos) <= typos


class Highlighter:
    def __init__(self, text_query):
        self.words = list(text_query.all_words)
        self.prefix_word = text_query.words[-1] if text_query.prefix_last else None

    def matches(self, token):
        lowered = token.lower()
        return any(
            word_matches(lowered, word, prefix=(word == self.prefix_word)) for word in self.words
        )

    def mark(self, text):
        """Escaped HTML of `text` with matched words in <mark>."""
        if not text:
            return ""
        out = []
        for i, piece in enumerate(TOKEN_RE.split(text)):
            if i % 2 == 1 and self.words and self.matches(piece):
                out.append(f"<mark>{escape(piece)}</mark>")
            else:
                out.append(escape(piece))
        return mark_safe("".join(out))  # noqa: S308 - every piece was escaped above

    def snippet(self, text, length=32):
        """About `length` words of `text` around its first match, marked."""
        if not text:
            return ""
        words = text.split()
        if len(words) <= length:
            return self.mark(text)
        start = 0
        for index, word in enumerate(words):
            if any(self.matches(t) for t in TOKEN_RE.findall(word)):
                start = max(0, index - length // 4)
                break
        end = min(len(words), start + length)
        start = max(0, end - length)
        piece = " ".join(words[start:end])
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(words) else ""
        return mark_safe(f"{escape(prefix)}{self.mark(piece)}{escape(suffix)}")  # noqa: S308
