"""The search cache: an entry is shared only by inputs that have the same answer."""

import pytest
from django.http import QueryDict
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from search import store
from search.facets import filter_options
from search.params import parse_params
from search.results import run_search, search_cache_key, search_uncached

pytestmark = pytest.mark.usefixtures("catalogue")


def params_of(q, **extra):
    query = QueryDict(mutable=True)
    query["q"] = q
    for name, value in extra.items():
        query[name] = value
    return parse_params(query, filter_options())


def answer(result):
    """What a user gets, less the request's own figures."""
    return {k: v for k, v in result.to_json().items() if k != "took_ms"}


def test_a_trailing_space_or_control_character_does_not_poison_the_prefix_search():
    # Asked first, "kidnapp " (a whole word) must not answer "kidnapp" (a word being
    # typed, matched as a prefix: kidnapped, kidnapper, …).
    whole = run_search(params_of("kidnapp ", year_min="1941"))
    typing = run_search(params_of("kidnapp", year_min="1941"))
    assert typing.cached is False
    live_typing = search_uncached(params_of("kidnapp", year_min="1941"))
    assert typing.total_count == live_typing.total_count > whole.total_count > 0
    # A control character ends the word as a space does: the same parsed query, the
    # same entry, the same answer.
    control = run_search(params_of("kidnapp\x01", year_min="1941"))
    assert control.cached is True and answer(control) == answer(whole)


def test_the_key_follows_the_parsed_query_not_the_cleaned_text():
    generation = store.generation()

    def key(q, **extra):
        return search_cache_key(params_of(q, **extra), generation)

    assert key("kidnapp ") != key("kidnapp")
    assert key("kidnapp ") == key("kidnapp\x01") == key("Kidnapp!") == key("  KIDNAPP.")
    assert key('"star wars"') != key("star wars ")
    assert key("kidnapp ", sort="year_desc") != key("kidnapp ")
    assert key("kidnapp ", page="2") != key("kidnapp ")
    assert key("kidnapp ", size="50") != key("kidnapp ")
    assert key("kidnapp ", year_min="1941") != key("kidnapp ")
    assert search_cache_key(params_of("kidnapp "), generation + 1) != key("kidnapp ")


# Raw text built from words whose prefix and whole-word searches differ, with the noise
# people and scripts type: trailing spaces, control characters, punctuation, quotes,
# other scripts, compatibility forms that NFKC folds (fullwidth letters, ligatures).
WORDS = ["kidnapp", "kidnap", "star", "wars", "the", "it", "love", "termin", "casabl",
         "ghost", "ca", "sci", "fi"]  # fmt: skip
NOISE = [" ", "  ", "\t", "\n", "\x01", "\x7f", "\u200b", "\u00a0", "\u3000", "-", ":", "!",
         ".", "'", '"', "_", "*", "@", "|", "%", "(", "{", "$", "é", "\u0301", "ß", "ﬁ", "Ｓ",
         "ｓｔａｒ", "日本", "🎬"]  # fmt: skip
pieces = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(str.upper),
    st.sampled_from(NOISE),
    st.text(max_size=3),
)
raw_text = st.lists(pieces, max_size=6).map("".join)
# Endings and beginnings that may or may not change the parsed query.
AFFIXES = ["", " ", "\x01", "\x00", "!", ".", '"', "\u200b", "\u0301", "Ｓ", "s", "-", "\t "]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    base=raw_text,
    endings=st.lists(st.sampled_from(AFFIXES), min_size=1, max_size=4, unique=True),
    upper=st.booleans(),
    extra=st.sampled_from([{}, {"year_min": "1941"}, {"sort": "year_desc"}, {"size": "50"}]),
)
@example(base="kidnapp", endings=[" ", "\x01", "!"], upper=True, extra={"year_min": "1941"})
@example(base='"star wars', endings=['"', " "], upper=False, extra={})
def test_inputs_that_share_a_key_share_an_uncached_answer(base, endings, upper, extra):
    generation = store.generation()
    inputs = {base, *(base + ending for ending in endings), *(e + base for e in endings)}
    if upper:
        inputs.add(base.upper())
    groups = {}
    for raw in sorted(inputs):
        params = params_of(raw, **extra)
        groups.setdefault(search_cache_key(params, generation), []).append(params)
    for same_key in groups.values():
        first, *others = same_key
        if not others:
            continue
        expected = answer(search_uncached(first))
        for params in others:
            assert answer(search_uncached(params)) == expected, (first.q, params.q)
