"""Searching the bundled catalogue on the real Redis Stack, through search/results.py."""

import collections

import pytest
from django.http import QueryDict

from search import facets
from search.facets import facets_for, filter_options
from search.params import parse_params
from search.queries.text import InvalidSearch, title_keys, words_of
from search.results import run_search


def search(**params):
    query = QueryDict(mutable=True)
    for key, value in params.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return run_search(parse_params(query, filter_options()))


def titles(result):
    return [m.title for m in result.movies]


@pytest.fixture(autouse=True)
def _catalogue(catalogue):
    return catalogue


def test_exact_whole_title_ranks_that_film_first():
    assert titles(search(q="star wars"))[0] == "Star Wars"
    assert titles(search(q="The Godfather"))[0] == "The Godfather"
    assert titles(search(q="terminator"))[0] == "The Terminator"


@pytest.mark.parametrize("q", ["The Godfather", "star wars", "it", "love"])
def test_exact_title_tier_keeps_totals_and_pages_consistent(q):
    """The first page drops the exact titles from the ranked results instead of leaving
    them out in the query; totals and page boundaries must not notice."""
    first = search(q=q, size="10")
    by_year = search(q=q, size="10", sort="year_asc")
    assert first.total_count == by_year.total_count > 0
    pages = [first, *(search(q=q, size="10", page=str(n)) for n in (2, 3))]
    assert {p.total_count for p in pages} == {first.total_count}
    ids = [m.id for p in pages for m in p.movies]
    assert len(ids) == len(set(ids)) == min(30, first.total_count)
    whole = search(q=q, size="50")
    assert [m.id for m in whole.movies][:30] == ids


def test_titles_with_stopwords_and_punctuation():
    assert "It" in titles(search(q="it"))[:3]
    assert "Up" in titles(search(q="up"))[:3]
    spider = titles(search(q="Spider-Man: No Way Home"))
    assert spider[0] == "Spider-Man: No Way Home"
    assert titles(search(q="Mission: Impossible"))[0] == "Mission: Impossible"


def title_words(movie):
    return " ".join(words_of(movie.title))


def test_stop_words_match_by_title_only():
    # Beside other words a stop word neither narrows nor widens the search…
    godfather = search(q="godfather ")
    assert search(q="the godfather ").total_count == godfather.total_count > 0
    assert titles(search(q="the godfather "))[0] == "The Godfather"
    # …and alone it finds the titles that are, or start with, it (not every plot).
    alone = search(q="it ", size="100")
    assert titles(alone)[0] == "It"
    assert all(title_words(m) == "it" or title_words(m).startswith("it ") for m in alone.movies)
    typing = search(q="the", size="100")
    assert typing.total_count > 0
    for movie in typing.movies:
        assert any(key.startswith("the") for key in title_keys(movie.title))


def test_a_short_last_word_completes_only_the_start_of_a_title():
    result = search(q="ca", size="100")
    assert result.total_count > 0
    for movie in result.movies:  # "A Camouflage Kiss" starts with "ca" without its article
        starts = any(key.startswith("ca") for key in title_keys(movie.title))
        assert starts or "ca" in words_of(movie_text(movie))


def test_prefix_of_the_last_word_while_typing():
    # Titles that start with the text come first, by relevance among themselves.
    assert titles(search(q="the termin"))[0] == "The Terminator"
    assert "Star Wars" in titles(search(q="star wa"))[:3]
    assert "Casablanca" in titles(search(q="casabl"))


def test_a_word_being_typed_completes_in_titles_and_names_not_in_plots(catalogue):
    named = {w for r in catalogue for f in ("title", "director", "cast")
             for w in words_of(str(r.get(f) or ""))}  # fmt: skip
    film, word = next(
        (r, w) for r in catalogue for w in words_of(r.get("plot") or "")
        if len(w) >= 9 and w.isalpha() and not any(n.startswith(w[:6]) for n in named)
    )  # fmt: skip
    typing = search(q=word[:6], size="100")
    assert str(film["id"]) not in {m.id for m in typing.movies}
    assert str(film["id"]) in {m.id for m in search(q=word, size="100").movies}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("casablanka", "Casablanca"),  # wrong letter
        ("casablnca", "Casablanca"),  # missing letter
        ("casablancaa", "Casablanca"),  # extra letter
        ("csaablanca", "Casablanca"),  # swapped letters
        ("godfahter", "The Godfather"),  # a swap in an 9-letter word
        ("gladaitor", "Gladiator"),  # a swap in an 8-letter word (Levenshtein 2)
    ],
)
def test_typo_tolerance(typed, expected):
    assert expected in titles(search(q=typed, size="50"))


def test_exact_hits_rank_above_fuzzy_ones():
    # Fewer than 50 films say "wizard", so its typo variants (lizard, …) are searched too.
    found = search(q="wizard ", size="50")
    assert found.typos_included
    result = titles(found)
    first_fuzzy = next(i for i, t in enumerate(result) if "wizard" not in t.lower())
    assert all("wizard" in t.lower() for t in result[:first_fuzzy])
    assert first_fuzzy >= 3


def movie_text(movie):
    return " ".join([movie.title, movie.plot, " ".join(movie.cast)]).lower()


def test_typo_variants_only_when_the_words_as_typed_find_little():
    # 166 films say "ghost": its variants (host, ghosh, …) would only add noise and cost.
    common = search(q="ghost ", size="100")
    assert common.total_count >= 100 and not common.typos_included
    assert all("ghost" in movie_text(m) for m in common.movies)
    # As typed, "ghots" finds nothing: the one-typo variants are searched.
    typo = search(q="ghots ", size="100")
    assert typo.typos_included
    assert sum("ghost" in movie_text(m) for m in typo.movies) >= 50
    # Every page makes the same choice, so totals and pages agree.
    second = search(q="ghots ", size="100", page="2")
    assert second.total_count == typo.total_count
    assert not {m.id for m in second.movies} & {m.id for m in typo.movies}


def test_short_words_get_no_typos():
    # "jaws" has 4 letters: no typo allowed, so "Jams" or "Java" never match.
    result = search(q="jaws ", size="100")
    assert "Jaws" in titles(result)
    for movie in result.movies:
        text = " ".join([movie.title, movie.plot, " ".join(movie.cast)]).lower()
        assert "jaw" in text


def test_director_and_cast():
    result = search(q="francis ford coppola", size="50")
    assert "The Godfather" in titles(result)
    assert search(q="marlon brando").total_count > 5
    assert "The Godfather" in titles(search(q="marlon brando", size="100"))


def test_quoted_phrase_is_exact():
    phrase = search(q='"star wars"', size="100")
    loose = search(q="star wars", size="100")
    assert 0 < phrase.total_count < loose.total_count
    for movie in phrase.movies:
        text = " ".join([movie.title, movie.plot or ""]).lower()
        assert "star wars" in text


def test_synonyms_and_multiword_synonyms():
    assert search(q="sci-fi robots").total_count == search(q="science fiction robots").total_count
    assert search(q="sci-fi robots").total_count > 0


def counts(records, field, predicate=lambda r: True):
    counter = collections.Counter()
    for record in records:
        if not predicate(record):
            continue
        value = record.get(field)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v:
                counter[v.lower() if field != "country" else v] += 1
    return counter


def facet_dict(result, field):
    return {row.value: row.count for row in result.facets[field]}


def test_facet_counts_equal_python_counts(catalogue, monkeypatch):
    monkeypatch.setattr(facets, "FACET_SAMPLE", 10_000)  # exact counts, however broad
    everything = search()
    assert facet_dict(everything, "genre") == dict(counts(catalogue, "genre"))
    assert facet_dict(everything, "country") == dict(counts(catalogue, "country"))
    assert facet_dict(everything, "subgenre") == dict(counts(catalogue, "subgenres"))
    assert everything.total_count == len(catalogue)

    westerns = search(genre="western", year_min="1950", year_max="1959")
    in_range = lambda r: 1950 <= r["year"] <= 1959  # noqa: E731
    is_western = lambda r: (r["genre"] or "") == "western"  # noqa: E731
    assert westerns.total_count == sum(1 for r in catalogue if in_range(r) and is_western(r))
    expected_sub = counts(catalogue, "subgenres", lambda r: in_range(r) and is_western(r))
    assert facet_dict(westerns, "subgenre") == dict(expected_sub)
    # The genre facet ignores its own filter (OR within a facet): every genre of the 1950s.
    assert facet_dict(westerns, "genre") == dict(counts(catalogue, "genre", in_range))


def test_filters_or_within_and_across(catalogue):
    both = search(genre=["western", "musical"], subgenre="comedy")
    expected = sum(
        1 for r in catalogue
        if (r["genre"] or "") in ("western", "musical") and "comedy" in r["subgenres"]
    )  # fmt: skip
    assert both.total_count == expected > 0
    for movie in both.movies:
        assert movie.genre in ("western", "musical") and "comedy" in movie.subgenres


def test_country_filter_keeps_case_and_rating_range_is_applied(catalogue):
    us = search(country="united states")  # matched case-insensitively to the facet value
    assert us.total_count == sum(1 for r in catalogue if r["country"] == "United States")
    assert search(rating_min="5").total_count == 0  # the bundled data has no ratings


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [("year_desc", "year", True), ("year_asc", "year", False),
     ("title_asc", "title", False), ("title_desc", "title", True)],
)  # fmt: skip
def test_sorts(sort, key, reverse):
    movies = search(q="love", sort=sort, size="50").movies
    values = [getattr(m, key).lower() if key == "title" else getattr(m, key) for m in movies]
    assert len(values) == 50
    assert values == sorted(values, reverse=reverse)


def test_pagination_and_total():
    first = search(q="love", size="10")
    second = search(q="love", size="10", page="2")
    assert first.total_count == second.total_count > 20
    assert not set(titles(first)) & set(titles(second)) or titles(first) != titles(second)
    assert first.pages == -(-first.total_count // 10)


def test_deep_pages_are_capped_with_a_message():
    with pytest.raises(InvalidSearch, match="first 10,000 results"):
        search(page="1001", size="10")
    last = search(page="1000", size="10")
    assert last.capped is True and last.pages == 1000


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "popularity"}, "unknown sort"),
        ({"genre": "not-a-genre"}, "unknown genre"),
        ({"year_min": "2000", "year_max": "1990"}, "reversed"),
        ({"year_min": "abc"}, "must be a number"),
        ({"year_min": "1500"}, "between"),
        ({"rating_max": "11"}, "between"),
        ({"rating_min": "nan"}, "finite"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
        ({"size": "7"}, "size"),
    ],
)
def test_bad_parameters_are_explained(params, message):
    with pytest.raises(InvalidSearch, match=message):
        search(**params)


def test_zero_results_offer_did_you_mean():
    result = search(q="casablanca godfathr zzzzqqq")
    assert result.total_count == 0
    result = search(q="rocky balboaa godfater wqxz")
    assert result.total_count == 0
    typo = search(q='"the godfater"')
    assert typo.total_count == 0
    assert typo.did_you_mean == "the godfather"


def test_results_are_cached_and_an_import_bumps_the_generation():
    first = search(q="casablanca")
    again = search(q="casablanca")
    assert first.cached is False and again.cached is True
    from search import store

    store.bump_generation()
    assert search(q="casablanca").cached is False


def test_a_cache_failure_falls_back_to_a_live_search(monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    result = search(q="casablanca")
    assert result.cached is False and "Casablanca" in titles(result)


def test_facets_of_broad_queries_are_estimated_from_a_sample(monkeypatch):
    monkeypatch.setattr(facets, "FACET_SAMPLE", 10_000)
    exact = search(q="love", genre="drama")
    assert exact.facets_exact is True
    monkeypatch.setattr(facets, "FACET_SAMPLE", 100)
    estimated = search(q="love", genre="drama", page="2")  # another cache key
    assert estimated.facets_exact is False
    assert estimated.total_count == exact.total_count
    # The genre facet ignores its own filter: scaled to all "love" matches, not the dramas.
    love_total = search(q="love").total_count
    genre_sum = sum(row.count for row in estimated.facets["genre"])
    exact_sum = sum(row.count for row in exact.facets["genre"])
    assert exact_sum <= love_total
    assert abs(genre_sum - exact_sum) <= 0.1 * love_total  # a 100-movie sample of 1,800
    us = estimated.facets["country"][0].count
    assert abs(us - exact.facets["country"][0].count) <= 0.1 * love_total


def test_a_filter_chosen_alone_keeps_exact_counts_while_the_others_are_estimated(
    monkeypatch,
):
    monkeypatch.setattr(facets, "FACET_SAMPLE", 100)
    dramas = search(genre="drama")
    assert dramas.facets_exact is False
    assert "genre" not in dramas.facets_estimated  # the catalogue's own genre counts
    assert {"country", "language"} <= set(dramas.facets_estimated)
    genre = [(row.value, row.count) for row in dramas.facets["genre"]]
    assert genre == [tuple(row) for row in filter_options().facets["genre"]]


def test_facets_counted_from_the_page_equal_the_aggregated_ones():
    from search.queries.text import parse_text

    params = parse_params(QueryDict("q=casablanca"), filter_options())
    result = run_search(params)
    assert 0 < result.total_count <= params.size  # every match on the page
    aggregated, estimated = facets_for(params, parse_text(params.q), result.total_count)
    assert estimated == []
    assert {f: [[r.value, r.count] for r in rows] for f, rows in result.facets.items()} \
        == {f: [list(r) for r in rows] for f, rows in aggregated.items()}  # fmt: skip


def test_only_one_request_computes_the_filter_options_the_others_wait(monkeypatch):
    import threading
    import time

    from search import query_store, store

    store.bump_generation()  # a cold filter cache, as after an import or its expiry
    real = query_store.facet_counts
    calls = []

    def slow_facet_counts(*args, **kwargs):
        calls.append(1)
        time.sleep(0.5)  # the seconds it takes over a million movies, shortened
        return real(*args, **kwargs)

    monkeypatch.setattr(query_store, "facet_counts", slow_facet_counts)
    results = []
    threads = [threading.Thread(target=lambda: results.append(filter_options())) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 6 and all(r == results[0] for r in results)
    assert results[0].facets["genre"]
