"""Realistic synthetic movies for scale tests (`manage.py generate_movies`).

Every field is filled, with plausible distributions (more recent films than old ones,
ratings around 6.4, mostly English), and the same seed always gives the same movies.
Words follow Zipf's law over a vocabulary of tens of thousands (common English words,
then invented ones), and names come from thousands of surnames, as in a real catalogue:
a search for one word matches a realistic share of the movies, not a third of them.
"""

import bisect
import itertools
import random

GENRES = [
    ("drama", 24), ("comedy", 18), ("action", 10), ("thriller", 8), ("horror", 6),
    ("romance", 6), ("crime", 6), ("documentary", 5), ("science fiction", 4),
    ("adventure", 4), ("animation", 3), ("fantasy", 3), ("western", 2), ("musical", 1),
]  # fmt: skip
LANGUAGES = [
    ("English", 62), ("French", 6), ("Spanish", 6), ("Hindi", 5), ("Japanese", 4),
    ("German", 3), ("Italian", 3), ("Korean", 3), ("Mandarin", 3), ("Portuguese", 2),
    ("Russian", 2), ("Swedish", 1),
]  # fmt: skip
COUNTRIES = [
    ("United States", 45), ("United Kingdom", 9), ("France", 7), ("India", 7),
    ("Japan", 5), ("Germany", 4), ("Spain", 4), ("Italy", 4), ("South Korea", 3),
    ("China", 3), ("Canada", 3), ("Brazil", 2), ("Mexico", 2), ("Sweden", 1), ("Australia", 1),
]  # fmt: skip
FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William "
    "Barbara Richard Susan Joseph Jessica Thomas Sarah Carlos Ana Hiroshi Yuki Priya "
    "Arjun Sofia Mateo Elena Luca Chloe Pierre Ingrid Lars Min-jun Ji-woo Wei Mei"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Wilson "
    "Anderson Taylor Thomas Moore Jackson Martin Lee Thompson White Harris Clark Lewis "
    "Walker Hall Young King Wright Lopez Hill Scott Green Adams Baker Nelson Carter "
    "Tanaka Sato Kapoor Sharma Rossi Dubois Schmidt Larsson Kim Park Chen Wang Silva"
).split()
TITLE_ADJ = (
    "Silent Broken Last Hidden Golden Dark Lost Eternal Wild Final Secret Crimson "
    "Frozen Burning Forgotten Midnight Distant Savage Quiet Electric Hollow"
).split()
TITLE_NOUN = (
    "River Empire Heart Night City Shadow Kingdom Dream Storm Garden Road Machine "
    "Ocean Mountain Station Promise Witness Harvest Frontier Signal Orchard Mirror "
    "Tide Voyage Letter Island Engine Summer Winter Crown"
).split()
PLOT_WORDS = (
    "a young woman man detective family town war secret journey love betrayal "
    "mission crew ship planet village father mother daughter son friend rival "
    "teacher soldier doctor thief artist escape discover return struggle survive "
    "uncover chase protect dangerous mysterious ancient future small distant "
    "powerful corrupt haunted city island desert forest river mountain empire "
    "revolution storm night summer winter memory truth lie dream past fortune "
    "justice revenge hope fear courage loss home world the of and in to with "
    "after before during against"
).split()


FUNCTION_WORDS = (
    "the of and a to in his her is with for on by as an at from who their after but when into while"
).split()
SYLLABLES = (
    "ka ren mo li ta vo shi ne ra do mi sa lu be tor an el gar us in ver "
    "pa co dri fen hal jo kel mar nor os pre quin sel tam ul vik wes yor zan"
).split()
VOCABULARY_SIZE = 40_000
SURNAMES = 5_000
ZIPF_EXPONENT = 1.07


def invented_words(rng, count, syllables=(2, 4)):
    """`count` distinct pronounceable words, made from syllables."""
    words, seen = [], set()
    while len(words) < count:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(*syllables)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class ZipfSampler:
    """Draws item k with probability proportional to 1 / k**s."""

    def __init__(self, items, rng, exponent=ZIPF_EXPONENT):
        self.items = items
        self.rng = rng
        self.cumulative = list(itertools.accumulate(1 / (k**exponent) for k in
                                                    range(1, len(items) + 1)))  # fmt: skip

    def __call__(self):
        point = self.rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect_left(self.cumulative, point)]


def _weighted(choices):
    values = [c for c, _ in choices]
    weights = [w for _, w in choices]
    return values, weights


class MovieFactory:
    def __init__(self, seed=0, start_id=1_000_001):
        self.random = random.Random(seed)
        self.next_id = start_id
        self.genres = _weighted(GENRES)
        self.languages = _weighted(LANGUAGES)
        self.countries = _weighted(COUNTRIES)
        # The vocabulary is the same for every seed, so queries can be planned ahead.
        words = random.Random(1)
        # Function words are the commonest, as in English; then the content words.
        content = [w.lower() for w in PLOT_WORDS + TITLE_NOUN + TITLE_ADJ]
        words.shuffle(content)
        vocabulary = list(dict.fromkeys(FUNCTION_WORDS + content))
        vocabulary += invented_words(words, VOCABULARY_SIZE - len(vocabulary))
        self.vocabulary = vocabulary
        self.word = ZipfSampler(vocabulary, self.random)
        self.title_word = ZipfSampler(vocabulary[len(FUNCTION_WORDS) :], self.random)
        surnames = LAST + [w.capitalize() for w in invented_words(words, SURNAMES)]
        self.surname = ZipfSampler(surnames, self.random, exponent=0.9)

    def person(self):
        return f"{self.random.choice(FIRST)} {self.surname()}"

    def title(self):
        r = self.random
        word = lambda: self.title_word().capitalize()  # noqa: E731
        shape = r.random()
        if shape < 0.3:
            return f"The {r.choice(TITLE_ADJ)} {word()}"
        if shape < 0.55:
            return f"{word()} of the {word()}"
        if shape < 0.75:
            return f"{word()} {word()} {r.randint(2, 4)}"
        if shape < 0.9:
            return f"{word()} {word()}"
        return f"{self.surname()}'s {word()}"

    def plot(self, words=40):
        text = " ".join(self.word() for _ in range(words))
        return text[0].upper() + text[1:] + "."

    def movie(self):
        r = self.random
        movie_id = self.next_id
        self.next_id += 1
        genre = r.choices(*self.genres)[0]
        subgenres = sorted({r.choices(*self.genres)[0] for _ in range(r.randint(0, 3))} - {genre})
        # More films every decade: a triangular distribution leaning to recent years.
        year = int(r.triangular(1910, 2025, 2020))
        rating = round(min(10.0, max(1.0, r.gauss(6.4, 1.2))), 1)
        return {
            "id": movie_id,
            "title": self.title(),
            "year": year,
            "genre": genre,
            "subgenres": subgenres,
            "rating": rating,
            "language": r.choices(*self.languages)[0],
            "country": r.choices(*self.countries)[0],
            "plot": self.plot(),
            "director": self.person(),
            "cast": [self.person() for _ in range(4)],
            "wikipedia_url": None,
        }

    def movies(self, count):
        for _ in range(count):
            yield self.movie()
