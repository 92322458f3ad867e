"""Ranking policy: field and clause weights, sort orders, the tiers shown first, the
autocomplete score and which suggestions are close enough. Pure functions, no Redis."""

from collections.abc import Sequence

from search.highlight import damerau_levenshtein
from search.queries.text import allowed_typos, title_keys, without_leading_article, words_of

# Index weights: a title match first, then director and cast, then the plot.
FIELD_WEIGHTS = {"title": 5.0, "director": 2.0, "cast": 2.0, "plot": 1.0}
FUZZY_WEIGHT = 0.4
PREFIX_WEIGHT = 0.5  # completions weigh less than the word itself: "wars" before "Warsaw"
TITLE_PREFIX_WEIGHT = 8.0
# Below this many matches for the words as typed, their typo variants are searched too:
# above it they would only add matches ranked below the exact ones, at a high cost.
TYPO_FALLBACK_BELOW = 50
# At most this many films go in a front tier (whole titles, a person's films); more than
# that is too common to be "the" title.
EXACT_TIER_MAX = 50

SORTS = {
    "relevance": (None, True, "Relevance"),
    "year_desc": ("year", False, "Newest first"),
    "year_asc": ("year", True, "Oldest first"),
    "rating_desc": ("rating", False, "Highest rated"),
    "rating_asc": ("rating", True, "Lowest rated"),
    "title_asc": ("title", True, "Title A–Z"),
    "title_desc": ("title", False, "Title Z–A"),
}
# Equal values are ordered by these next, so a page holds the same films every time
# (RediSearch alone orders them by internal document ids, which an upsert changes).
# The last tie breaker of every sorted and ranked query: unique, so a page holds the same
# films on every node (FT.SEARCH orders ties by internal document ids, which differ
# between a primary and its replicas after a resync).
TIE_BREAKER_FIELD = "id"
SORT_TIE_BREAKERS = {
    "year": (("title", True),),
    "rating": (("year", False), ("title", True)),
    "title": (("year", False),),
}


def sort_keys(sort: str) -> tuple[tuple[str, bool], ...]:
    """The (field, ascending) keys of a sort with its tie breakers; () for relevance."""
    field, ascending, _ = SORTS[sort]
    if field is None:
        return ()
    return ((field, ascending), *SORT_TIE_BREAKERS[field], (TIE_BREAKER_FIELD, True))


def default_sort(has_words: bool, has_ratings: bool) -> str:
    """The order when the visitor has chosen none: relevance for a search; without
    words, what a visitor recognises first: the highest rated when the catalogue has
    ratings, else the newest (not index order, the silent shorts of 1900)."""
    if has_words:
        return "relevance"
    return "rating_desc" if has_ratings else "year_desc"


def title_match_rank(text: str, title: str) -> int:
    """How closely a title is the typed text: 0 the whole title as typed (article
    included), 1 the whole title without its leading article, 2 a title that starts with
    the text as typed, 3 one that starts with it after its article."""
    keys = title_keys(title)
    if not keys:
        return 3
    if keys[0] == text:
        return 0
    if text in keys:
        return 1
    return 2 if keys[0].startswith(text) else 3


UNRATED_SUGGESTION_RATING = 5.0


def suggestion_score(rating: str | float | None) -> float:
    """The autocomplete weight of a movie: better-rated films come first, an unrated
    one counts as middling. The spread also lets FT.SUGGET prune most of its trie."""
    rating = UNRATED_SUGGESTION_RATING if rating in (None, "") else float(rating)
    return round(2.0**rating, 3)


def autocomplete_strings(title: str, year: str | int | None) -> list[str]:
    """The FT.SUGADD entries of one movie: the title with its year, and the same without
    a leading article so "termin" finds "The Terminator (1984)"."""
    label = f"{title} ({year})" if year else title
    strings = [label]
    stripped = without_leading_article(title)
    if stripped != title:
        strings.append(f"{stripped} ({year})" if year else stripped)
    return strings


def close_to_prefix(typed: str, label: str) -> bool:
    """True when `label` (or its title without a leading article) starts with `typed`
    give or take the typos allowed for its length: FT.SUGGET FUZZY alone returns
    entries that share little with the input."""
    typed = " ".join(words_of(typed))
    candidates = [" ".join(words_of(label))]
    candidates.append(without_leading_article(candidates[0]))
    typos = max(1, allowed_typos(typed))
    for text in candidates:
        for cut in range(max(1, len(typed) - typos), len(typed) + typos + 1):
            if damerau_levenshtein(typed, text[:cut], typos) <= typos:
                return True
    return False


def spelling_distance(typed_words: Sequence[str], title: str) -> int:
    """Edits from the typed words to their closest words of `title` (sounding alike is
    loose, so the closest spellings are shown first)."""
    title_words = words_of(title) or [""]
    return sum(
        min(damerau_levenshtein(word, candidate, 9) for candidate in title_words)
        for word in typed_words
    )


def best_correction(word: str, options: Sequence[tuple[str, float]]) -> str:
    """The FT.SPELLCHECK suggestion to offer for `word`: fewest edits, then most frequent."""
    return min(options, key=lambda o: (damerau_levenshtein(word, o[0], 3), -o[1]))[0]
