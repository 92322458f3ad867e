"""The bundled catalogue, imported once per session into the session's Redis Stack."""

import gzip
import json

import pytest
from django.core.management import call_command

from config.settings import BASE_DIR
from search import store

BUNDLED = BASE_DIR / "data" / "movies.jsonl.gz"
# Tests that write movies use ids from here up and remove them afterwards.
TEST_ID_BASE = 900_000_000


def bundled_records():
    with gzip.open(BUNDLED, "rt", encoding="utf-8") as lines:
        return list(map(json.loads, lines))


def ensure_catalogue(records):
    if store.live_index_name() is None:
        # Some other test flushed a DB, which makes RediSearch drop every index:
        # rebuild over the movies still stored.
        call_command("create_index", verbosity=0)
        store.wait_until_indexed(store.live_index_name())
    if store.movie_count() != len(records):
        store.delete_all_movies()
        call_command("import_movies", str(BUNDLED), verbosity=0)
        store.wait_until_indexed(store.live_index_name())
    assert store.movie_count() == len(records)


@pytest.fixture(scope="session")
def bundled(redis_settings):
    return bundled_records()


@pytest.fixture
def catalogue(bundled):
    """The bundled movies, indexed. Returns the records as Python dicts."""
    ensure_catalogue(bundled)
    return bundled


@pytest.fixture
def scratch_ids():
    """Ids for movies a test writes; every trace of them is removed afterwards."""
    used = []

    def allocate(count=1):
        start = TEST_ID_BASE + len(used)
        ids = list(range(start, start + count))
        used.extend(ids)
        return ids

    yield allocate
    store.delete_movies(used)
    store.bump_generation()
