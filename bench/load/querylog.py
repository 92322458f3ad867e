"""The load test's query log: what visitors type, drawn from the catalogue loaded.

The driver (bench/load_test.py) builds the log once per run from a sample of movies
(`build_log`): distinct queries from titles (leading words, whole short titles),
people (full names, surnames), one to three plot words, and a few typos, ranked at
random. The locustfile draws from it with Zipf's law (`ZipfDraw`: rank r with weight
1 / r**s) and, for a share of the draws, makes a one-off query instead (`OneOffs`: a
title word and plot words of one movie, so it matches something, never drawn twice).
Pure logic: no Redis, no Django, no locust (the locustfile imports it too).
"""

import bisect
import itertools
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from search.queries.text import STOP_WORDS, clean_text, words_of

# How often each kind of query enters the log (weights); a typo mangles a title word
# or a surname.
KINDS = {"title_start": 15, "title": 20, "person": 15, "surname": 10, "plot": 35, "typo": 5}
TYPO_FROM = 5  # the product corrects no word under 5 letters
COMMONEST_SKIPPED = 40


def words(text: str | None) -> list[str]:
    """Lower-case words of letters and digits, as the product's normalise_query cuts them."""
    return words_of(clean_text(text))


@dataclass(frozen=True)
class Source:
    """One sampled movie, as the log draws from it."""

    title: tuple[str, ...]
    people: tuple[tuple[str, ...], ...]
    plot: tuple[str, ...]  # its plot's words, stop words left out

    @classmethod
    def of(
        cls, title: str | None, director: str | None, cast: str | None, plot: str | None
    ) -> "Source":
        names = [director or "", *(cast or "").split("|")]
        people = tuple(tuple(words(name)) for name in names if words(name))
        return cls(
            tuple(words(title)), people, tuple(w for w in words(plot) if w not in STOP_WORDS)
        )

    def to_json(self) -> list:
        return [list(self.title), [list(p) for p in self.people], list(self.plot)]

    @classmethod
    def from_json(cls, data: Sequence) -> "Source":
        return cls(tuple(data[0]), tuple(tuple(p) for p in data[1]), tuple(data[2]))


def without_commonest(sources: Sequence[Source], n: int = COMMONEST_SKIPPED) -> list[Source]:
    """The sources with their plots' `n` commonest words left out: function words
    ("his", "from") that nobody searches for, whatever the catalogue's language."""
    counts = Counter(w for source in sources for w in source.plot)
    common = {w for w, _ in counts.most_common(n)}
    return [Source(s.title, s.people, tuple(w for w in s.plot if w not in common)) for s in sources]


def typo(word: str, rng: random.Random) -> str:
    """The word with one slip of the fingers: two letters swapped, one dropped or doubled."""
    at = rng.randrange(len(word) - 1)
    slip = rng.choice(("swap", "drop", "double"))
    if slip == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    if slip == "drop":
        return word[:at] + word[at + 1 :]
    return word[: at + 1] + word[at] + word[at + 1 :]


def candidate(source: Source, kind: str, rng: random.Random) -> str:
    """One query of `kind` from one movie ("" when the movie has none of that kind)."""
    title, plot = source.title, source.plot
    person = rng.choice(source.people) if source.people else ()
    if kind == "title_start" and title:
        picked = title[: rng.randint(1, 2)]
    elif kind == "title":
        picked = title if len(title) <= 5 else title[:4]
    elif kind == "person":
        picked = person
    elif kind == "surname":
        picked = person[-1:]
    elif kind == "plot" and plot:
        positions = sorted(rng.sample(range(len(plot)), min(len(plot), rng.randint(1, 3))))
        picked = tuple(plot[i] for i in positions)
    elif kind == "typo":
        long_words = [w for w in (*title, *person[-1:]) if len(w) >= TYPO_FROM]
        picked = (typo(rng.choice(long_words), rng),) if long_words else ()
    else:
        picked = ()
    if all(w in STOP_WORDS for w in picked):
        return ""
    return " ".join(picked)


def build_log(sources: Sequence[Source], size: int, rng: random.Random) -> list[str]:
    """`size` distinct queries (fewer if the sample cannot give that many), the most
    popular first; the order is random, so no kind of query is favoured by rank."""
    kinds, weights = list(KINDS), list(KINDS.values())
    seen: dict[str, None] = {}
    for _ in range(size * 20):
        if len(seen) >= size:
            break
        query = candidate(rng.choice(sources), rng.choices(kinds, weights)[0], rng)
        if query:
            seen.setdefault(query)
    log = list(seen)
    rng.shuffle(log)
    return log


class ZipfDraw:
    """Draws item k (from 1) with probability proportional to 1 / k**s."""

    def __init__(self, items: Sequence[str], s: float, rng: random.Random):
        self.items, self.rng = items, rng
        self.cumulative = list(itertools.accumulate(1 / k**s for k in range(1, len(items) + 1)))

    def __call__(self) -> str:
        point = self.rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect_left(self.cumulative, point)]

    def top_share(self, n: int) -> float:
        """The share of draws the n most popular items get, in theory."""
        return self.cumulative[min(n, len(self.items)) - 1] / self.cumulative[-1]


class OneOffs:
    """Queries made fresh per draw, never the same twice and never one of the log's:
    a movie's title word and one plot word (two once collisions get common)."""

    def __init__(self, sources: Sequence[Source], taken: Iterable[str], rng: random.Random):
        self.sources = [s for s in sources if s.title and s.plot]
        self.taken = set(taken)
        self.made: list[str] = []
        self.rng = rng

    def __call__(self) -> str:
        rng = self.rng
        for attempt in range(200):
            source = rng.choice(self.sources)
            start = [w for w in source.title if w not in STOP_WORDS][:1] or list(source.title[:1])
            extra = rng.sample(source.plot, min(len(source.plot), 1 + attempt // 20))
            query = " ".join(start + extra)
            if query not in self.taken:
                self.taken.add(query)
                self.made.append(query)
                return query
        raise RuntimeError("no fresh one-off query left in the sample")


@dataclass(frozen=True)
class Distribution:
    """The queries a run drew, as they came."""

    draws: int
    distinct: int
    one_offs: int
    one_off_share: float
    one_offs_repeated: int  # one-offs drawn more than once: 0 unless something is wrong
    top10_share: float
    top100_share: float
    log_size: int
    zipf_s: float

    def to_json(self) -> dict:
        return asdict(self)


def distribution(drawn: Counter, one_offs: Sequence[str], log_size: int, s: float) -> Distribution:
    """What `drawn` (every query drawn, one-offs included, with its count) looks like."""
    total = sum(drawn.values()) or 1
    ranked = [count for _, count in drawn.most_common(100)]
    return Distribution(
        draws=sum(drawn.values()),
        distinct=len(drawn),
        one_offs=len(one_offs),
        one_off_share=len(one_offs) / total,
        one_offs_repeated=sum(1 for q in set(one_offs) if drawn[q] > 1),
        top10_share=sum(ranked[:10]) / total,
        top100_share=sum(ranked) / total,
        log_size=log_size,
        zipf_s=s,
    )
