"""The whole-catalogue filter options in the cache store, under the names Redis shows."""

import json

import pytest

from config.redis_stores import get_redis
from search import facets, importer
from search.facets import filter_options

pytestmark = pytest.mark.usefixtures("catalogue")


def raw_list(key):
    """A key as any Redis client sees it (no django-redis prefix), its JSON and TTL."""
    cache_db = get_redis("cache")
    return json.loads(cache_db.get(key)), cache_db.ttl(key)


def test_genres_and_years_are_json_lists_with_a_ttl_under_their_own_names(catalogue):
    options = filter_options()
    names = set(get_redis("cache").scan_iter(match="*filter_cache:*"))
    assert {"filter_cache:genres", "filter_cache:years"} <= names

    genres, ttl = raw_list("filter_cache:genres")
    assert genres == [value for value, _ in options.facets["genre"]]
    assert genres[0] == "drama" and "comedy" in genres
    assert 0 < ttl <= facets.FILTER_CACHE_TTL == 1800

    years, ttl = raw_list("filter_cache:years")
    assert years == sorted({r["year"] for r in catalogue if r.get("year")})
    assert (years[0], years[-1]) == tuple(options.years)
    assert 0 < ttl <= 1800


def test_an_import_makes_the_old_options_unreachable(tmp_path, scratch_ids):
    (movie_id,) = scratch_ids(1)
    before = filter_options()
    assert "zorblaxian" not in dict(before.facets["genre"])
    path = tmp_path / "one.jsonl"
    record = {"id": movie_id, "title": "Quixotic Zephyr", "year": 1899, "genre": "Zorblaxian"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert importer.import_file(path).imported == 1

    after = filter_options()
    assert after.generation > before.generation
    assert dict(after.facets["genre"])["zorblaxian"] == 1
    assert after.years[0] == 1899
    assert "zorblaxian" in raw_list("filter_cache:genres")[0]
    assert raw_list("filter_cache:years")[0][0] == 1899
