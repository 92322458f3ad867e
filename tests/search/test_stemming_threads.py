"""Stemming is shared by every thread of a gthread worker."""

import random
import string
import threading

import snowballstemmer

from search.queries.text import stem


def test_stemming_from_many_threads_at_once_is_safe_and_right():
    words = [
        "".join(random.Random(n).choices(string.ascii_lowercase, k=3 + n % 10))
        for n in range(40_000)
    ]
    expected = snowballstemmer.stemmer("english").stemWords(words)
    results = {}
    errors = []

    def work(part):
        try:
            results[part] = [stem(word) for word in words[part::8]]
        except Exception as exc:  # what the shared stemmer raised (IndexError)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(part,)) for part in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(results[part] == expected[part::8] for part in range(8))
