"""The person tier: looked up only when the words name someone in the catalogue."""

from search import query_store, tiers
from search.queries.builder import build_query
from search.queries.text import parse_text


def built_for(text):
    return build_query(parse_text(text), {}, {}, exact_tier=True)


def test_words_that_name_nobody_skip_the_person_searches(catalogue, monkeypatch):
    def no_search(q):
        raise AssertionError(f"searched {q.query}")

    monkeypatch.setattr(query_store, "ft_search", no_search)
    assert tiers.person_tier(built_for("quokka zanzibar"), set()) == []


def test_a_credited_name_still_finds_the_persons_films(catalogue):
    films = tiers.person_tier(built_for("jim sheridan"), set())
    assert films and all("Jim Sheridan" in (doc.get("director") or "") + (doc.get("cast") or "")
                         for doc in films)  # fmt: skip
