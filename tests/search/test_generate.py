"""generate_movies: realistic, complete, repeatable synthetic movies."""

import json
import statistics

from django.core.management import call_command

from search import importer, records, store
from search.synthetic import MovieFactory


def test_same_seed_same_movies_and_every_field_filled():
    first = list(MovieFactory(seed=7).movies(300))
    again = list(MovieFactory(seed=7).movies(300))
    other = list(MovieFactory(seed=8).movies(300))
    assert first == again and first != other
    for movie in first:
        records.validate(movie)  # every synthetic movie passes the importer's rules
        for field in ("title", "year", "genre", "rating", "language", "country", "plot",
                      "director", "cast"):  # fmt: skip
            assert movie[field], field
        assert len(movie["cast"]) == 4
    ratings = [m["rating"] for m in first]
    assert 5.8 < statistics.mean(ratings) < 7.0
    languages = [m["language"] for m in first]
    assert languages.count("English") > len(languages) / 3
    assert statistics.median(m["year"] for m in first) > 1980


def test_command_writes_jsonl(tmp_path):
    out = tmp_path / "synthetic.jsonl"
    call_command("generate_movies", "--count", "50", "--seed", "3", "--output", str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 50
    summary = importer.import_file(out, dry_run=True)
    assert summary.read == 50 and summary.rejected == []
    assert json.loads(lines[0])["id"] == 1_000_001


def test_command_writes_into_redis(catalogue, scratch_ids):
    ids = scratch_ids(20)
    call_command("generate_movies", "--count", "20", "--seed", "1",
                 "--start-id", str(ids[0]))  # fmt: skip
    movie = store.get_movie(ids[-1])
    assert movie is not None and movie["rating"] and movie["language"]
    assert store.movie_count() == len(catalogue) + 20


def test_rating_and_language_filters_and_rating_sort_on_synthetic_movies(catalogue, scratch_ids):
    from django.http import QueryDict

    from search.facets import filter_options
    from search.params import parse_params
    from search.results import run_search

    ids = scratch_ids(60)
    call_command("generate_movies", "--count", "60", "--seed", "5",
                 "--start-id", str(ids[0]))  # fmt: skip
    query = QueryDict("rating_min=0&sort=rating_desc&size=100")
    result = run_search(parse_params(query, filter_options()))
    ratings = [m.rating for m in result.movies]
    assert result.total_count == len(ids)  # only the synthetic movies have ratings
    assert ratings == sorted(ratings, reverse=True)
    query = QueryDict("language=English&rating_min=7&rating_max=10&sort=rating_asc")
    result = run_search(parse_params(query, filter_options()))
    assert result.total_count > 0
    assert all(m.language == "English" and m.rating >= 7 for m in result.movies)
    languages = {row.value for row in result.facets["language"]}
    assert "English" in languages
