"""What keeps a million movies in 2 GB: listpack movie hashes, index options the product
does not use, and the upgrade of indexes an older release created."""

from django.core.management import call_command

from search import importer, indexing, keys, query_store, records, store
from search.suggestions import suggest

PLOT = "A lighthouse keeper finds a map. " * 40  # about 1,300 bytes, a long real plot


def test_movie_hash_with_a_long_plot_is_a_listpack(catalogue, scratch_ids):
    (movie_id,) = scratch_ids()
    writer = importer.MovieWriter()
    writer.add(records.validate({"id": movie_id, "title": "Listpack Lighthouse", "plot": PLOT,
                                 "cast": ["Ann Keeper", "Bo Light"], "year": 1999}))  # fmt: skip
    writer.flush()
    assert store.client().object("encoding", keys.movie_key(movie_id)) == "listpack"


def test_hashtable_hashes_load_back_as_listpacks_after_a_restart(second_server):
    client = second_server.client()
    client.config_set("hash-max-listpack-value", 64)  # the old release's default
    client.hset("movie:1", mapping={"title": "Old Encoding", "plot": PLOT})
    assert client.object("encoding", "movie:1") == "hashtable"
    second_server.stop(save=True)
    second_server.start()  # with the project's redis.conf
    client = second_server.client()
    assert client.hget("movie:1", "plot") == PLOT
    assert client.object("encoding", "movie:1") == "listpack"


def test_indexes_of_this_release_are_not_outdated(catalogue):
    report = indexing.ensure_indexes()
    assert report.outdated == []
    assert "NOHL" in store.client().ft(keys.index_alias()).info()["index_options"]


def _old_suggestions_index():
    """The suggestions index as the previous release created it."""
    r = store.client()
    r.ft(keys.SUGGESTIONS_INDEX).dropindex(delete_documents=False)
    r.execute_command(
        "FT.CREATE", keys.SUGGESTIONS_INDEX, "ON", "HASH",
        "PREFIX", 1, keys.LEGACY_SUGGESTION_PREFIX,
        "STOPWORDS", 0, "SCHEMA", "title", "TEXT", "PHONETIC", "dm:en",
        "genre", "TAG", "SEPARATOR", "|", "year", "NUMERIC",
    )  # fmt: skip


def test_create_index_names_an_index_of_an_older_schema(catalogue, capsys):
    _old_suggestions_index()
    try:
        call_command("create_index")
        assert "create_index --reindex" in capsys.readouterr().out
        assert indexing.ensure_indexes().outdated == [keys.SUGGESTIONS_INDEX]
    finally:
        store.rebuild_suggestions_index()
        store.wait_until_indexed(keys.SUGGESTIONS_INDEX)


def test_reindex_rebuilds_an_outdated_suggestions_index(catalogue):
    _old_suggestions_index()
    report = indexing.reindex()
    store.wait_until_indexed(keys.SUGGESTIONS_INDEX)
    assert report.outdated == []
    assert not indexing.schema_outdated(keys.SUGGESTIONS_INDEX)
    info = store.client().ft(keys.SUGGESTIONS_INDEX).info()
    assert int(info["num_docs"]) == len(catalogue)


def test_phonetic_fallback_works_on_the_slim_suggestions_index(catalogue):
    # "Kasablanka" completes nothing and is too far for FUZZY: only the phonetic
    # fallback over movies_suggestions finds Casablanca.
    labels = [s.label for s in suggest("Kasablanka")]
    assert any(label.startswith("Casablanca") for label in labels)


def _legacy_movie(movie_id, title):
    """A movie as releases before upsert v6 stored it: its autocomplete strings in a
    `suggestion:<id>` hash beside the movie hash."""
    writer = importer.MovieWriter()
    writer.add(records.validate({"id": movie_id, "title": title, "year": 1999}))
    writer.flush()
    r = store.client()
    strings = r.hget(keys.movie_key(movie_id), "autocomplete")
    r.hdel(keys.movie_key(movie_id), "autocomplete")
    legacy = {"title": title, "movie_id": movie_id, "year": 1999, "autocomplete": strings}
    r.hset(keys.legacy_suggestion_key(movie_id), mapping=legacy)


def _reimport(movie_id, title):
    writer = importer.MovieWriter()
    writer.add(records.validate({"id": movie_id, "title": title, "year": 1999}))
    writer.flush()


def test_reindex_moves_legacy_suggestion_hashes_into_the_movie_hashes(catalogue, scratch_ids):
    (movie_id,) = scratch_ids()
    _legacy_movie(movie_id, "Quillwort Marmalade")
    _old_suggestions_index()
    report = indexing.reindex()
    store.wait_until_indexed(keys.SUGGESTIONS_INDEX)
    r = store.client()
    assert report.legacy_suggestions_removed == 1
    assert not r.exists(keys.legacy_suggestion_key(movie_id))
    assert r.hget(keys.movie_key(movie_id), "autocomplete") == "Quillwort Marmalade (1999)"
    assert [s.id for s in suggest("quillwort marm")] == [str(movie_id)]
    assert [s.label for s in suggest("Kwilwort Marmelaid")] == ["Quillwort Marmalade (1999)"]
    _reimport(movie_id, "Quillwort Nectarine")
    assert query_store.autocomplete("quillwort marm", fuzzy=False) == []


def test_a_reimport_before_the_reindex_deletes_the_legacy_strings(catalogue, scratch_ids):
    (movie_id,) = scratch_ids()
    _legacy_movie(movie_id, "Quillwort Marmalade")
    _reimport(movie_id, "Quillwort Nectarine")
    assert query_store.autocomplete("quillwort marm", fuzzy=False) == []
    assert not store.client().exists(keys.legacy_suggestion_key(movie_id))


def test_the_phonetic_fallback_answers_from_legacy_hashes_until_the_reindex(catalogue, scratch_ids):
    (movie_id,) = scratch_ids()
    _legacy_movie(movie_id, "Quillwort Marmalade")
    _old_suggestions_index()
    try:
        store.wait_until_indexed(keys.SUGGESTIONS_INDEX)
        assert [s.id for s in suggest("Kwilwort Marmelaid")] == [str(movie_id)]
    finally:
        store.rebuild_suggestions_index()
        store.wait_until_indexed(keys.SUGGESTIONS_INDEX)
