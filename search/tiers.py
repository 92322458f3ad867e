"""One page of a search in its order. Sorted by relevance, the front tiers come first:
films whose whole title is the query (or, while the last word is typed, starts with
it), then the films of a person the query names in full; then the ranked rest, with
the page window running across all."""

from dataclasses import replace

from search import query_store
from search.params import MAX_RESULT_WINDOW, SearchParams
from search.queries.builder import BuiltQuery, longest_names, people_query, person_query
from search.queries.ft import FtQuery
from search.queries.text import person_keys
from search.query_store import Document, Found
from search.ranking import EXACT_TIER_MAX, sort_keys, title_match_rank
from search.store import TAG_SEPARATOR
from search.values import RETURN_FIELDS


def title_tier_order(title_text: str, docs: list[Document]) -> list[Document]:
    """The whole title as typed first ("Scenic Route" before "The Scenic Route"), then
    the whole title ignoring its article, then (while typing) the titles that start with
    the text; each group in the engine's relevance order (the sort is stable)."""
    return sorted(docs, key=lambda doc: title_match_rank(title_text, doc.get("title", "")))


def title_tier(built: BuiltQuery) -> list[Document]:
    """The films whose whole title is the query (or, while the last word is typed,
    starts with it), ordered, when at most EXACT_TIER_MAX titles do; else []."""
    tiers = [(built.title_prefix_query, built.title_prefix_ranked_query),
             (built.exact_title_query, None)]  # fmt: skip
    for tier_query, ranked_query in tiers:
        if tier_query is None:
            continue
        # Keys first: a tier too large to use costs no document loads.
        tier = query_store.ft_search_keys(
            FtQuery(tier_query, built.exact_title_params, limit=EXACT_TIER_MAX)
        )
        if not tier.keys:
            break  # no title starts with the text, so none is the text either
        # More than that is too common to be "the" title: try the whole title alone.
        if tier.total <= EXACT_TIER_MAX:
            if ranked_query is not None and tier.total > 1:
                tier_docs = query_store.ft_search(
                    FtQuery(
                        ranked_query,
                        built.exact_title_params,
                        limit=EXACT_TIER_MAX,
                        return_fields=RETURN_FIELDS,
                    )
                ).docs
            else:
                tier_docs = query_store.docs_by_keys(tier.keys, RETURN_FIELDS)
            return title_tier_order(built.title_text, tier_docs)
    return []


def _films_of_people(built, names, taken):
    """(films, the names that matched): the matches of `built` that the people with these
    full names directed, then those they act in, each by relevance, at most
    EXACT_TIER_MAX, less the keys in `taken`."""
    films, seen, matched = [], set(taken), set()
    for role in ("director", "cast"):
        if len(films) >= EXACT_TIER_MAX:
            break
        query, query_params = person_query(built, f"{role}_key", names)
        found = query_store.ft_search(
            FtQuery(query, query_params, limit=EXACT_TIER_MAX, return_fields=RETURN_FIELDS)
        )
        for doc in found.docs:
            credits = (doc.get(role) or "").split(TAG_SEPARATOR)
            matched.update(set(names) & set(person_keys(credits)))
            if doc.key not in seen:
                seen.add(doc.key)
                films.append(doc)
    return films[:EXACT_TIER_MAX], matched


def person_tier(built: BuiltQuery, taken: set[str]) -> list[Document]:
    """The films of the people whose full name the query holds as a run of words
    ("jim sheridan", "william desmond taylor"): those they directed, then those they
    act in, less the keys in `taken`. Each lookup is a tag within the query's own
    matches, so it costs little."""
    if not built.person_names:
        return []
    # Most runs of words name nobody: one tag lookup spares the two searches within the
    # query's matches (about 1.8 ms of Redis time for three words at 100,000 movies).
    (credited,) = query_store.count_matches([people_query(built.person_names)])
    if not credited:
        return []
    films, matched = _films_of_people(built, built.person_names, taken)
    longest = longest_names(sorted(matched))
    if len(longest) < len(matched):  # a shorter run is someone else: ask for the longest
        films, _ = _films_of_people(built, longest, taken)
    return films


def ranked_page(built: BuiltQuery, params: SearchParams) -> Found:
    """One page: by relevance, the front tiers then the rest; otherwise by the sort with
    its tie breakers. Ties in relevance keep the engine's order, the same on every page."""
    page = FtQuery(built.query, built.params, offset=params.offset, limit=params.size,
                   return_fields=RETURN_FIELDS)  # fmt: skip
    keys = sort_keys(params.sort)
    if keys:
        return query_store.ft_sorted(replace(page, sort=keys))
    front = title_tier(built)
    front += person_tier(built, {doc.key for doc in front})
    if front:
        return _page_after_front(page, front)
    return query_store.ft_search(page)


def _page_after_front(page: FtQuery, front: list[Document]) -> Found:
    """The front tiers, then the ranked matches less those films. They are dropped here,
    not left out in the query: a NOT costs a check per match, and the ranking must be
    the same query's on every page, or ties could swap across a page boundary."""
    offset, size = page.offset, page.limit
    tier = len(front)
    front_keys = {doc.key for doc in front}
    page_docs = front[offset : offset + size]
    wanted = size - len(page_docs)
    rest_offset = max(0, offset - tier)
    if rest_offset == 0:  # the page starts within the first results: one query
        found = query_store.ft_search(replace(page, offset=0, limit=wanted + tier))
        rest = [doc for doc in found.docs if doc.key not in front_keys][:wanted]
        return Found(max(found.total, tier), page_docs + rest)
    # A later page: the ranked keys up to it, less the front tiers, then its movies.
    limit = min(rest_offset + wanted + tier, MAX_RESULT_WINDOW)
    ranked = query_store.ft_search_keys(replace(page, offset=0, limit=limit))
    rest = [key for key in ranked.keys if key not in front_keys][rest_offset : rest_offset + wanted]
    return Found(max(ranked.total, tier), page_docs + query_store.docs_by_keys(rest, RETURN_FIELDS))
