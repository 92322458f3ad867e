"""Suggestions: the search box's autocomplete (prefix, then close fuzzy matches, then
titles that sound alike) and the "did you mean" of a search that found nothing."""

import hashlib
import logging
from dataclasses import dataclass

import redis

from config.middleware import is_redis_outage
from search import cache, keys, query_store, store
from search.params import SearchParams
from search.queries.builder import build_query, suggestion_query
from search.queries.ft import autocomplete_prefix
from search.queries.text import (
    MAX_QUERY_CHARS,
    MAX_WORDS,
    TextQuery,
    clean_text,
    parse_text,
    words_of,
)
from search.ranking import best_correction, close_to_prefix, spelling_distance
from search.values import Suggestion

logger = logging.getLogger(__name__)

PHONETIC_CANDIDATES = 50


SUGGEST_CACHE_TTL = 3600  # as long as a search's results; a new generation drops them


@dataclass(frozen=True)
class Suggested:
    """What the search box is offered, and whether every lookup answered (a degraded
    answer is served, never kept)."""

    items: list[Suggestion]
    complete: bool = True


def suggest(q: str, limit: int = 5) -> list[Suggestion]:
    """Up to `limit` titles for the search box: FT.SUGGET prefix matches first, then
    FT.SUGGET FUZZY matches that really are close, and when neither finds anything,
    titles that sound alike (the phonetic index): "tarminator" still finds The
    Terminator."""
    return look_up(clean_text(q)[:MAX_QUERY_CHARS], limit).items


def cached_suggest(q: str, limit: int = 5) -> tuple[list[Suggestion], bool]:
    """`suggest` behind the cache, by generation, and whether it was a hit: typing sends
    the same prefixes over and over, and FT.SUGGET over a million titles costs about
    2 ms of Redis's one thread."""
    text = clean_text(q)[:MAX_QUERY_CHARS]
    if len(text) < 2:
        return [], False
    digest = hashlib.sha1(f"{limit}:{text}".encode(), usedforsecurity=False).hexdigest()
    key = keys.suggest_cache_key(store.generation(), digest)
    kept = cache.get(key)
    if isinstance(kept, list):
        return [Suggestion(movie_id, label) for movie_id, label in kept], True
    suggested = look_up(text, limit)
    if suggested.complete:
        cache.put(key, [(s.id, s.label) for s in suggested.items], SUGGEST_CACHE_TTL)
    return suggested.items, False


def look_up(text: str, limit: int) -> Suggested:
    """The lookups behind `suggest`, for text already cleaned."""
    if len(text) < 2:
        return Suggested([])
    complete = True
    seen = set()
    found = []

    def add(movie_id, label):
        if movie_id and movie_id not in seen and len(found) < limit:
            seen.add(movie_id)
            found.append(Suggestion(movie_id, label))

    typed = text.lower()
    try:
        # Text longer than FT.SUGGET takes is looked up by its start: then only the
        # titles that start with all of it count (a few are over 100 characters long).
        cut = autocomplete_prefix(typed) != typed
        for entry in query_store.autocomplete(typed, limit=limit, fuzzy=False):
            if not cut or entry.string.lower().startswith(typed):
                add(entry.movie_id, entry.label or entry.string)
        if len(found) < limit and len(text) >= 3:
            for entry in query_store.autocomplete(typed, limit=limit * 2, fuzzy=True):
                if close_to_prefix(text, entry.string):
                    add(entry.movie_id, entry.label or entry.string)
        if not found:  # sounding alike is the last resort: its search costs the most
            phonetic = suggestion_query(text)
            if phonetic:
                typed_words = words_of(text)[:MAX_WORDS]  # no more than the query has
                docs = query_store.phonetic_suggestions(phonetic, limit=PHONETIC_CANDIDATES)
                docs.sort(key=lambda d: spelling_distance(typed_words, d.get("title", "")))
                for doc in docs:
                    year, title = doc.get("year"), doc.get("title", "")
                    movie_id = doc.get("id") or doc.get("movie_id")
                    add(movie_id, f"{title} ({year})" if year else title)
    except redis.ResponseError as exc:  # what was found before the error is still good
        if is_redis_outage(exc):
            raise
        logger.warning("autocomplete of %r degraded: %s", text[:100], exc)
        complete = False
    return Suggested(found, complete)


def suggest_correction(params: SearchParams, text_query: TextQuery) -> str | None:
    """ "Did you mean": each unknown word replaced by its closest FT.SPELLCHECK
    suggestion; offered only if it finds movies."""
    words = list(text_query.all_words)
    suggestions = query_store.spellcheck(words)
    if not suggestions:
        return None
    corrected = [best_correction(w, suggestions[w]) if suggestions.get(w) else w for w in words]
    if corrected == words:
        return None
    text = " ".join(corrected)
    built = build_query(parse_text(text + " "), params.filters, params.ranges, ranking=False)
    return text if query_store.has_match(built.query, built.params) else None
