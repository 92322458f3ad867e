"""import_movies: validation with line numbers, formats, upserts, suggestions in step,
nothing half-written, cached searches invalidated."""

import gzip
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from search import importer, query_store, store
from search.params import SearchParams
from search.records import RecordError, max_year, validate
from search.results import run_search
from search.suggestions import suggest

pytestmark = pytest.mark.usefixtures("catalogue")


def good(movie_id, **extra):
    record = {"id": movie_id, "title": f"Quixotic Zephyr {movie_id}", "year": 1999,
              "genre": "Drama", "subgenres": ["Mystery"], "rating": 7.5, "language": "English",
              "country": "France", "plot": "A quixotic zephyr.", "director": "Ann Example",
              "cast": ["Bo One", "Cy Two"]}  # fmt: skip
    record.update(extra)
    return record


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": 1}, "title is required"),
        ({"id": 1, "title": "   "}, "title is required"),
        ({"title": "x"}, "id is required"),
        ({"id": -4, "title": "x"}, "positive"),
        ({"id": "abc", "title": "x"}, "whole number"),
        ({"id": 1, "title": "x", "year": 1869}, "outside 1870"),
        ({"id": 1, "title": "x", "year": 3000}, "outside 1870"),
        ({"id": 1, "title": "x", "rating": 11}, "between 0 and 10"),
        ({"id": 1, "title": "x", "rating": "good"}, "must be a number"),
        ({"id": 1, "title": "x", "budget": 5}, "unknown field 'budget'"),
        ({"id": 1, "title": "x" * 301}, "longer than 300"),
        ({"id": 1, "title": "bad\x00title"}, "control characters"),
        ({"id": 1, "title": "x", "cast": ["a"] * 201}, "more than 200"),
        ({"id": 1, "title": "x", "cast": 5}, "list"),
        ({"id": 1, "title": "x", "wikipedia_url": "javascript:alert(1)"}, "http"),
        ({"id": 1, "title": "x", "country": "A|B"}, "cannot contain"),
        ([1, 2], "JSON object"),
    ],
)
def test_validation_reasons(record, reason):
    with pytest.raises(RecordError, match=reason):
        validate(record)


def test_validation_normalises():
    raw = {"id": "7", "title": " The  Thing ", "year": "1982", "rating": "",
           "subgenre": "Horror|Sci-Fi", "cast": "Kurt Russell|Keith David"}  # fmt: skip
    record = validate(raw)
    assert record["id"] == 7 and record["title"] == "The Thing" and record["year"] == 1982
    assert record["rating"] is None
    assert record["subgenre"] == "horror|sci-fi"
    assert record["cast"] == "Kurt Russell|Keith David"
    assert record["title_key"] == "the thing|thing"


def write_jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_rejects_bad_lines_with_numbers_and_imports_the_rest(tmp_path, scratch_ids):
    a, b, c = scratch_ids(3)
    path = write_jsonl(tmp_path / "m.jsonl", [
        json.dumps(good(a)),
        '{"id": 5, "title": ',  # truncated line
        json.dumps(good(b, year=1700)),
        json.dumps(good(c)),
    ])  # fmt: skip
    summary = importer.import_file(path)
    assert (summary.read, summary.imported, summary.updated) == (4, 2, 0)
    assert [str(r) for r in summary.rejected] == [
        "line 2: invalid JSON: Expecting value (column 1)",
        "line 3: year 1700 is outside 1870-" + str(max_year()),
    ]
    assert store.get_movie(a)["title"] == f"Quixotic Zephyr {a}"
    assert store.get_movie(b) is None


def test_wrong_encoding_and_huge_lines_are_rejected_lines(tmp_path, scratch_ids, monkeypatch):
    (a,) = scratch_ids(1)
    monkeypatch.setattr(importer, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "m.jsonl"
    path.write_bytes(
        b'{"id": 1, "title": "caf\xe9"}\n' + b'{"id": 2, "title": "' + b"x" * 5000 + b'"}\n'
        + json.dumps(good(a)).encode() + b"\n"
    )  # fmt: skip
    summary = importer.import_file(path)
    reasons = [str(r) for r in summary.rejected]
    assert reasons[0].startswith("line 1: not UTF-8")
    assert reasons[1] == "line 2: line longer than 1000 bytes"
    assert summary.imported == 1


def test_truncated_json_array_imports_nothing(tmp_path, scratch_ids):
    a, b = scratch_ids(2)
    path = tmp_path / "m.json"
    path.write_text(json.dumps([good(a), good(b)])[:-30])
    with pytest.raises(importer.ImportFileError, match="truncated or damaged"):
        importer.import_file(path)
    assert store.get_movie(a) is None and store.get_movie(b) is None


def test_json_array_and_gzip(tmp_path, scratch_ids):
    a, b = scratch_ids(2)
    path = tmp_path / "m.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("[\n" + json.dumps(good(a)) + ",\n" + json.dumps({"id": b}) + "\n]\n")
    summary = importer.import_file(path)
    assert summary.imported == 1
    assert [str(r) for r in summary.rejected] == ["line 3: title is required"]


def test_csv_with_pipe_lists_and_wrong_columns(tmp_path, scratch_ids):
    a, b = scratch_ids(2)
    path = tmp_path / "m.csv"
    path.write_text(
        "id,title,year,genre,subgenres,cast,rating\n"
        f'{a},"Zephyr, The Quixotic",2001,Drama,horror|comedy,Ann A|Bob B,8.1\n'
        f"{b},,2001,Drama,,,\n"
    )
    summary = importer.import_file(path)
    assert summary.imported == 1
    assert [str(r) for r in summary.rejected] == ["line 3: title is required"]
    movie = store.get_movie(a)
    assert movie["subgenre"] == "horror|comedy" and movie["cast"] == "Ann A|Bob B"
    assert movie["rating"] == "8.1"

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,when\nx,1999\n")
    with pytest.raises(importer.ImportFileError, match="missing column"):
        importer.import_file(wrong)


def test_upsert_keeps_created_at_sets_updated_at_and_keeps_suggestions_in_step(
    tmp_path, scratch_ids
):
    (a,) = scratch_ids(1)
    first = write_jsonl(tmp_path / "1.jsonl", [json.dumps(good(a, title="Quixotic Zephyr"))])
    importer.import_file(first, clock=lambda: 1_000)
    second = write_jsonl(tmp_path / "2.jsonl",
                         [json.dumps(good(a, title="Zanzibar Quokka", plot=None))])  # fmt: skip
    summary = importer.import_file(second, clock=lambda: 2_000)
    assert (summary.imported, summary.updated) == (0, 1)
    movie = store.get_movie(a)
    assert movie["created_at"] == "1000" and movie["updated_at"] == "2000"
    assert movie["title"] == "Zanzibar Quokka" and "plot" not in movie
    assert movie["autocomplete"] == "Zanzibar Quokka (1999)"
    labels = [s.label for s in suggest("zanzibar quo")]
    assert "Zanzibar Quokka (1999)" in labels
    old = query_store.autocomplete("quixotic zephyr", fuzzy=False)
    assert all(entry.movie_id != str(a) for entry in old)


def test_autocomplete_puts_better_rated_films_first_and_a_reimport_rescores(tmp_path, scratch_ids):
    low, high, unrated = scratch_ids(3)
    records = [good(low, title="Qwyzzle Low", rating=3.0),
               good(high, title="Qwyzzle High", rating=9.0),
               good(unrated, title="Qwyzzle Unrated", rating=None)]  # fmt: skip
    importer.import_file(write_jsonl(tmp_path / "1.jsonl", map(json.dumps, records)))
    assert [s.id for s in suggest("qwyzz")] == [str(high), str(unrated), str(low)]
    records[0]["rating"] = 9.9
    importer.import_file(write_jsonl(tmp_path / "2.jsonl", [json.dumps(records[0])]))
    assert [s.id for s in suggest("qwyzz")] == [str(low), str(high), str(unrated)]


def test_dry_run_writes_nothing(tmp_path, scratch_ids):
    (a,) = scratch_ids(1)
    path = write_jsonl(tmp_path / "m.jsonl", [json.dumps(good(a))])
    summary = importer.import_file(path, dry_run=True)
    assert summary.read == 1 and not summary.rejected
    assert store.get_movie(a) is None


def test_import_makes_cached_searches_unreachable(tmp_path, scratch_ids):
    (a,) = scratch_ids(1)
    params = SearchParams(q="quixotic zephyr")
    assert run_search(params).total_count == 0
    assert run_search(params).cached is True
    importer.import_file(write_jsonl(tmp_path / "m.jsonl", [json.dumps(good(a))]))
    fresh = run_search(params)
    assert fresh.cached is False and fresh.total_count == 1


def test_command_reports_summary_and_errors(tmp_path, scratch_ids, capsys):
    (a,) = scratch_ids(1)
    path = write_jsonl(tmp_path / "m.jsonl", [json.dumps(good(a)), '{"id": 1}'])
    call_command("import_movies", str(path))
    out, err = capsys.readouterr()
    assert "read 2, imported 1, updated 0, rejected 1" in out and "movies/s" in out
    assert "rejected line 2: title is required" in err
    with pytest.raises(CommandError, match="unknown format"):
        call_command("import_movies", str(tmp_path / "m.txt"))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_movies", str(tmp_path / "missing.jsonl"))
