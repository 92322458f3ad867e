"""Marking matched words in titles and plot snippets, safe against HTML in the data.

RediSearch's HIGHLIGHT marks only exact terms (not the fuzzy or prefix expansions a
user typed), so the marking is done here with the same matching rules as the query:
the text is split into words and separators, every piece is HTML-escaped, and only
then are matched words wrapped in <mark>. Nothing from the data is ever trusted as HTML.
"""

import html
import re

from django.utils.safestring import mark_safe

from search.queries.text import TextQuery, allowed_typos, is_stop_word, stem

TOKEN_RE = re.compile(r"([^\W_]+)")


def damerau_levenshtein(a: str, b: str, limit: int = 2) -> int:
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


def word_matches(token: str, word: str, prefix: bool = False, typos: bool = True) -> bool:
    if token == word:
        return True
    # Stemming keeps a word's first letter, so only words that share it can stem alike;
    # the check spares most of a results page's stemming (the dearest part of marking).
    if token[:1] == word[:1] and stem(token) == stem(word):
        return True
    if prefix and len(word) >= 2 and token.startswith(word):
        return True
    allowed = allowed_typos(word) if typos else 0
    return bool(allowed) and damerau_levenshtein(token, word, allowed) <= allowed


class Highlighter:
    def __init__(self, text_query: TextQuery) -> None:
        # Stop words match by title only (search/queries/builder.py): marked only when alone.
        words = text_query.all_words
        self.words = [w for w in words if not is_stop_word(w)] or list(words)
        self.prefix_word = text_query.words[-1] if text_query.prefix_last else None
        self.typos = text_query.typos
        # (token, prefix allowed) -> matched: a results page repeats most of its words
        self._seen = {}

    def matches(self, token: str, prefix: bool = True) -> bool:
        """Whether `token` matches a searched word; with `prefix`, the word being typed
        matches the tokens it starts, as it does in titles and names."""
        lowered = token.lower()
        matched = self._seen.get((lowered, prefix))
        if matched is None:
            matched = self._seen[lowered, prefix] = any(
                word_matches(lowered, word, prefix=prefix and word == self.prefix_word,
                             typos=self.typos)
                for word in self.words
            )  # fmt: skip
        return matched

    def mark(self, text: str, prefix: bool = True) -> str:
        """Escaped HTML of `text` with matched words in <mark>. The text between marks is
        escaped a run at a time: a page marks thousands of words."""
        if not text:
            return ""
        if not self.words:
            return mark_safe(html.escape(text))  # noqa: S308 - escaped
        out = []
        last = 0
        for found in TOKEN_RE.finditer(text):
            if self.matches(found.group(), prefix):
                out.append(html.escape(text[last : found.start()]))
                out.append(f"<mark>{html.escape(found.group())}</mark>")
                last = found.end()
        out.append(html.escape(text[last:]))
        return mark_safe("".join(out))  # noqa: S308 - every piece was escaped above

    def snippet(self, text: str, length: int = 32) -> str:
        """About `length` words of the plot `text` around its first match, marked. The
        word being typed completes in titles and names only (search/queries/builder.py),
        so in a plot it is marked where it is whole."""
        if not text:
            return ""
        words = text.split()
        if len(words) <= length:
            return self.mark(text, prefix=False)
        start = 0
        for index, word in enumerate(words):
            if any(self.matches(t, prefix=False) for t in TOKEN_RE.findall(word)):
                start = max(0, index - length // 4)
                break
        end = min(len(words), start + length)
        start = max(0, end - length)
        piece = " ".join(words[start:end])
        prefix = "… " if start > 0 else ""
        suffix = " …" if end < len(words) else ""
        marked = self.mark(piece, prefix=False)
        return mark_safe(f"{prefix}{marked}{suffix}")  # noqa: S308 - marked above
