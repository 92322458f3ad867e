"""Suggestions: the search box's autocomplete (prefix, then close fuzzy matches, then
titles that sound alike) and the "did you mean" of a search that found nothing."""

import logging

import redis

from config.middleware import is_redis_outage
from search import store
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


def suggest(q: str, limit: int = 5) -> list[Suggestion]:
    """Up to `limit` titles for the search box: FT.SUGGET prefix matches first, then
    FT.SUGGET FUZZY matches that really are close, and when neither finds anything,
    titles that sound alike (the phonetic index): "tarminator" still finds The
    Terminator."""
    text = clean_text(q)[:MAX_QUERY_CHARS]
    if len(text) < 2:
        return []
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
        for entry in store.autocomplete(typed, limit=limit, fuzzy=False):
            if not cut or entry.string.lower().startswith(typed):
                add(entry.movie_id, entry.label or entry.string)
        if len(found) < limit and len(text) >= 3:
            for entry in store.autocomplete(typed, limit=limit * 2, fuzzy=True):
                if close_to_prefix(text, entry.string):
                    add(entry.movie_id, entry.label or entry.string)
        if not found:  # sounding alike is the last resort: its search costs the most
            phonetic = suggestion_query(text)
            if phonetic:
                typed_words = words_of(text)[:MAX_WORDS]  # no more than the query has
                docs = store.phonetic_suggestions(phonetic, limit=PHONETIC_CANDIDATES)
                docs.sort(key=lambda d: spelling_distance(typed_words, d.get("title", "")))
                for doc in docs:
                    year, title = doc.get("year"), doc.get("title", "")
                    movie_id = doc.get("id") or doc.get("movie_id")
                    add(movie_id, f"{title} ({year})" if year else title)
    except redis.ResponseError as exc:  # what was found before the error is still good
        if is_redis_outage(exc):
            raise
        logger.warning("autocomplete of %r degraded: %s", text[:100], exc)
    return found


def suggest_correction(params: SearchParams, text_query: TextQuery) -> str | None:
    """ "Did you mean": each unknown word replaced by its closest FT.SPELLCHECK
    suggestion; offered only if it finds movies."""
    words = list(text_query.all_words)
    suggestions = store.spellcheck(words)
    if not suggestions:
        return None
    corrected = [best_correction(w, suggestions[w]) if suggestions.get(w) else w for w in words]
    if corrected == words:
        return None
    text = " ".join(corrected)
    built = build_query(parse_text(text + " "), params.filters, params.ranges, ranking=False)
    (total,) = store.count_matches([(built.query, built.params)])
    return text if total else None
