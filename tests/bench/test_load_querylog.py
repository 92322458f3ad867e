"""The load test's query log (bench/load/querylog.py): pure logic, no Redis."""

import random
from collections import Counter

import pytest

from bench.load.querylog import (
    OneOffs,
    Source,
    ZipfDraw,
    build_log,
    distribution,
    typo,
    without_commonest,
)
from search.highlight import damerau_levenshtein
from search.synthetic import MovieFactory


@pytest.fixture(scope="module")
def sources():
    movies = MovieFactory(seed=5).movies(3000)
    return without_commonest(
        [Source.of(m["title"], m["director"], "|".join(m["cast"]), m["plot"]) for m in movies]
    )


def sample_words(sources):
    return {w for s in sources for w in (*s.title, *s.plot, *(w for p in s.people for w in p))}


def test_log_holds_distinct_queries(sources):
    log = build_log(sources, 5000, random.Random(1))
    assert len(log) == 5000
    assert len(set(log)) == 5000


def test_log_queries_are_made_of_the_sample_words_but_typos(sources):
    known = sample_words(sources)
    log = build_log(sources, 5000, random.Random(1))
    unknown = [q for q in log if not set(q.split()) <= known]
    assert all(len(q.split()) == 1 for q in unknown)  # a typo is one mangled word
    assert 0 < len(unknown) < 0.1 * len(log)


def test_log_leaves_out_the_commonest_plot_words(sources):
    raw = [Source(s.title, s.people, (*s.plot, "zzcommon")) for s in sources]
    assert "zzcommon" not in {w for s in without_commonest(raw) for w in s.plot}


def test_typo_is_one_edit_away():
    rng = random.Random(3)
    for word in ("harvest", "frontier", "orchard", "kingdom") * 10:
        assert damerau_levenshtein(typo(word, rng), word) == 1


def test_zipf_draw_gives_the_top_ranks_their_share():
    items = [f"q{i}" for i in range(10_000)]
    draw = ZipfDraw(items, 1.0, random.Random(4))
    drawn = Counter(draw() for _ in range(50_000))
    top10 = sum(drawn[q] for q in items[:10]) / 50_000
    assert top10 == pytest.approx(draw.top_share(10), abs=0.02)
    assert draw.top_share(10) == pytest.approx(2.929 / 9.788, abs=0.001)  # H(10) / H(10,000)


def test_one_offs_never_repeat_nor_meet_the_log(sources):
    log = build_log(sources, 5000, random.Random(1))
    fresh = OneOffs(sources, log, random.Random(2))
    made = [fresh() for _ in range(5000)]
    assert len(set(made)) == len(made)
    assert not set(made) & set(log)


def test_one_offs_skip_queries_an_earlier_step_made(sources):
    earlier = OneOffs(sources, [], random.Random(2))
    before = {earlier() for _ in range(500)}
    later = OneOffs(sources, before, random.Random(2))
    assert not {later() for _ in range(500)} & before


def test_one_off_words_come_from_one_movie(sources):
    fresh = OneOffs(sources, [], random.Random(6))
    for _ in range(200):
        first, *rest = fresh().split()
        assert any(first in s.title and set(rest) <= set(s.plot) for s in sources)


def test_distribution_counts_one_offs_and_top_shares():
    drawn = Counter({"a": 50, "b": 30, "c": 10, "x": 1, "y": 1})
    drawn.update({f"q{i}": 1 for i in range(8)})
    d = distribution(drawn, ["x", "y"], log_size=100, s=1.0)
    assert (d.draws, d.distinct, d.one_offs, d.one_offs_repeated) == (100, 13, 2, 0)
    assert d.one_off_share == pytest.approx(0.02)
    assert d.top10_share == pytest.approx(0.97)
    assert d.top100_share == pytest.approx(1.0)


def test_distribution_notices_a_repeated_one_off():
    d = distribution(Counter({"x": 2, "a": 5}), ["x"], log_size=1, s=1.0)
    assert d.one_offs_repeated == 1
