"""create_index: idempotent, synonyms, and a zero-downtime reindex while searching."""

import threading

from django.core.management import call_command

from search import keys, query_store, store
from search.queries.builder import build_query
from search.queries.ft import FtQuery
from search.queries.text import parse_text


def test_create_index_twice_changes_nothing(catalogue, capsys):
    before = store.live_index_name()
    call_command("create_index")
    call_command("create_index")
    assert store.live_index_name() == before
    assert "already exists" in capsys.readouterr().out
    assert [name for _, name in store.index_versions()] == [before]
    info = store.client().ft(keys.SUGGESTIONS_INDEX).info()
    assert int(info["num_docs"]) == len(catalogue)


def test_schema_and_synonyms(catalogue):
    info = store.client().ft(keys.index_alias()).info()
    attributes = {a[1]: a for a in info["attributes"]}
    assert set(attributes) >= {"title", "genre", "subgenre", "year", "rating", "language",
                               "country", "plot", "director", "cast", "created_at",
                               "updated_at"}  # fmt: skip
    assert "SEPARATOR" in attributes["genre"] and "|" in attributes["genre"]
    assert "SORTABLE" in attributes["year"]
    groups = store.synonym_groups()
    assert "movie" in groups and "film" in groups["movie"]


def test_reindex_while_searching_never_fails(catalogue):
    old = store.live_index_name()
    built = build_query(parse_text("love"), {}, {})
    expected = query_store.ft_search(FtQuery(built.query, built.params, limit=0)).total
    failures, counts = [], []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                total = query_store.ft_search(FtQuery(built.query, built.params, limit=0)).total
                counts.append(total)
            except Exception as exc:  # anything at all is a failure here
                failures.append(exc)
            stop.wait(0.01)  # leave Redis time to index: it is single-threaded

    threads = [threading.Thread(target=hammer)]
    for thread in threads:
        thread.start()
    try:
        call_command("create_index", "--reindex", verbosity=0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(counts) > 10 and set(counts) == {expected}
    new = store.live_index_name()
    assert new != old
    assert [name for _, name in store.index_versions()] == [new]
    assert store.movie_count() == len(catalogue)  # documents were kept
    assert store.movie_key_count() == len(catalogue)
