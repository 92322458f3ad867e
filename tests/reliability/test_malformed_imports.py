"""Malformed imports: each gets a clear error (with its line number where there is one),
a file that is wrong as a whole exits non-zero, and nothing is ever half-imported: for a
refused file the search store (keys, indexed documents, autocomplete entries, cache
generation) is exactly as before."""

import gzip
import json
import os
import random
import tracemalloc

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from search import importer, indexing, keys, store

# Ids of this module's movies: far above the bundled catalogue's, apart from other tests' 900M+.
ID_BASE = 920_000_000
HUNDRED_MB = 100 * 1024 * 1024


def good(movie_id, **extra):
    record = {"id": movie_id, "title": f"Malformed Test Zephyr {movie_id}", "year": 2001,
              "genre": "Drama", "plot": "A zephyr.", "cast": ["Ann A", "Bob B"]}  # fmt: skip
    record.update(extra)
    return record


def store_state():
    """What a refused file must leave unchanged."""
    r = store.client()
    return {
        "keys": r.dbsize(),
        "indexed": store.movie_count(),
        "suggestions": int(r.ft(keys.SUGGESTIONS_INDEX).info()["num_docs"]),
        "autocomplete": r.execute_command("FT.SUGLEN", keys.AUTOCOMPLETE_KEY),
        "generation": store.generation(),
    }


@pytest.fixture
def ids():
    """Movie ids for one test; every trace of them is removed afterwards."""
    indexing.ensure_indexes()
    used = []

    def allocate(count):
        start = ID_BASE + len(used)
        used.extend(range(start, start + count))
        return list(range(start, start + count))

    yield allocate
    store.delete_movies(used)


def refused(path, match):
    """Import `path` through the command; it must fail with `match` and change nothing."""
    before = store_state()
    with pytest.raises(CommandError, match=match) as failure:
        call_command("import_movies", str(path), verbosity=0)
    assert store_state() == before
    return str(failure.value)


def jsonl_bytes(records):
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


# --- truncated files ------------------------------------------------------------


def test_truncated_json_array_is_refused_with_its_line(tmp_path, ids):
    a, b, c = ids(3)
    path = tmp_path / "movies.json"
    path.write_text("[\n" + ",\n".join(json.dumps(good(i)) for i in (a, b, c)) + "\n]\n")
    path.write_bytes(path.read_bytes()[:-40])  # cut inside the third record
    message = refused(path, "truncated or damaged")
    assert "line 4" in message


def test_truncated_jsonl_rejects_only_the_cut_line(tmp_path, ids, capsys):
    a, b, c = ids(3)
    path = tmp_path / "movies.jsonl"
    path.write_bytes(jsonl_bytes([good(a), good(b), good(c)])[:-25])
    call_command("import_movies", str(path), verbosity=0)
    out, err = capsys.readouterr()
    assert "read 3, imported 2, updated 0, rejected 1" in out
    assert "rejected line 3: invalid JSON" in err
    assert store.get_movie(a) and store.get_movie(b) and store.get_movie(c) is None


def test_jsonl_whose_only_line_is_cut_exits_non_zero(tmp_path, ids):
    (a,) = ids(1)
    path = tmp_path / "movies.jsonl"
    path.write_bytes(jsonl_bytes([good(a)])[:30])
    refused(path, "none of the 1 records is valid")


@pytest.mark.parametrize("cut", ["half", "last bytes"])
def test_truncated_gzip_is_refused_before_any_write(tmp_path, ids, cut):
    # The first half decompresses into valid records: without the up-front check they
    # would be written before the end of the stream shows the file is damaged.
    movies = ids(2000)
    path = tmp_path / "movies.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl_bytes(good(i) for i in movies)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if cut == "half" else data[:-6])
    refused(path, "gzip data is truncated or damaged")
    assert store.get_movie(movies[0]) is None


def test_damaged_gzip_is_refused(tmp_path, ids):
    movies = ids(500)
    data = bytearray(gzip.compress(jsonl_bytes(good(i) for i in movies)))
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0xFF
    path = tmp_path / "movies.jsonl.gz"
    path.write_bytes(bytes(data))
    refused(path, "gzip data is truncated or damaged")


# --- encodings ------------------------------------------------------------------


def latin1_records(a, b):
    return [good(a), good(b, title="Café Zephyr")]


def test_latin1_json_array_and_csv_are_refused_with_the_line(tmp_path, ids):
    a, b = ids(2)
    array = tmp_path / "movies.json"
    array.write_bytes(
        ("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in latin1_records(a, b))
         + "\n]\n").encode("latin-1")
    )  # fmt: skip
    assert "line 3: not UTF-8" in refused(array, "not UTF-8")
    table = tmp_path / "movies.csv"
    table.write_bytes(f"id,title\n{a},Plain\n{b},Café Zephyr\n".encode("latin-1"))
    assert "line 3: not UTF-8" in refused(table, "not UTF-8")


def test_latin1_jsonl_rejects_the_undecodable_lines(tmp_path, ids, capsys):
    # JSON Lines are records one by one: a line that is not UTF-8 is one rejected record.
    a, b = ids(2)
    path = tmp_path / "movies.jsonl"
    path.write_bytes(
        b"".join(json.dumps(r, ensure_ascii=False).encode("latin-1") + b"\n"
                 for r in latin1_records(a, b))
    )  # fmt: skip
    call_command("import_movies", str(path), verbosity=0)
    assert "rejected line 2: not UTF-8" in capsys.readouterr().err
    assert store.get_movie(a) and store.get_movie(b) is None


def one_movie_file(directory, movie_id, suffix, encoding, csv_title):
    """A file of one good movie in the format of `suffix`, written in `encoding`."""
    text = {
        ".jsonl": json.dumps(good(movie_id)) + "\n",
        ".json": json.dumps([good(movie_id)]),
        ".csv": f"id,title\n{movie_id},{csv_title}\n",
    }[suffix]
    path = directory / f"movies{suffix}"
    path.write_bytes(text.encode(encoding))  # Python writes the byte-order mark
    return path


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_utf16_and_utf32_with_bom_are_refused(tmp_path, ids, encoding, suffix):
    (a,) = ids(1)
    path = one_movie_file(tmp_path, a, suffix, encoding, "Zephyr")
    message = refused(path, f"{encoding.upper()} \\(byte-order mark\\), not UTF-8")
    assert message.startswith(f"{path}: line 1:")


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
def test_utf8_with_bom_imports(tmp_path, ids, suffix):
    (a,) = ids(1)
    path = one_movie_file(tmp_path, a, suffix, "utf-8-sig", "Zephyr BOM")
    summary = importer.import_file(path)
    assert (summary.imported, summary.rejected) == (1, [])


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".jsonl.gz"])
def test_binary_garbage_is_refused(tmp_path, ids, suffix):
    garbage = random.Random(7).randbytes(200_000)
    assert b"\x00" in garbage
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(gzip.compress(garbage) if suffix.endswith(".gz") else garbage)
    refused(path, "binary data \\(NUL bytes\\)")


def test_garbage_without_nul_bytes_exits_non_zero(tmp_path, ids):
    garbage = random.Random(8).randbytes(200_000).replace(b"\x00", b"\x01")
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(garbage)
    refused(path, "records is valid; nothing imported")


# --- a 100 MB line ----------------------------------------------------------------


def write_huge_line(path, prefix, suffix, size=HUNDRED_MB):
    """Stream-write one line of `size` bytes: the test never holds it in memory either."""
    chunk = b"x" * (1 << 20)
    with open(path, "wb") as out:
        out.write(prefix)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(suffix)


def test_hundred_mb_jsonl_line_is_rejected_without_reading_it_whole(tmp_path, ids, capsys):
    a, b = ids(2)
    path = tmp_path / "huge.jsonl"
    write_huge_line(path, json.dumps(good(a)).encode() + b'\n{"id": 1, "title": "', b'"}\n')
    with open(path, "ab") as out:
        out.write(json.dumps(good(b)).encode() + b"\n")
    assert os.path.getsize(path) > HUNDRED_MB
    tracemalloc.start()
    try:
        summary = importer.import_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [str(r) for r in summary.rejected] == [
        f"line 2: line longer than {importer.MAX_LINE_BYTES} bytes"
    ]
    assert (summary.read, summary.imported) == (3, 2)
    assert peak < 20 * 1024 * 1024  # bounded reads: a few MB, never the 100 MB line


def test_hundred_mb_csv_line_refuses_the_file(tmp_path, ids):
    (a,) = ids(1)
    path = tmp_path / "huge.csv"
    write_huge_line(path, f"id,title,plot\n{a},Zephyr,".encode(), b"\n")
    tracemalloc.start()
    try:
        message = refused(path, f"line 2: longer than {importer.MAX_LINE_BYTES} bytes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "nothing imported" in message
    assert peak < 20 * 1024 * 1024


def test_oversized_record_in_json_array_is_rejected(tmp_path, ids, monkeypatch):
    a, b = ids(2)
    monkeypatch.setattr(importer, "MAX_LINE_BYTES", 2000)
    path = tmp_path / "movies.json"
    path.write_text(json.dumps([good(a), good(b, plot="p" * 5000)], indent=0))
    summary = importer.import_file(path)
    assert summary.imported == 1
    assert [r.reason for r in summary.rejected] == ["record longer than 2000 bytes"]


# --- CSV columns ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("name,year", "missing column\\(s\\) id, title"),
        ("id,year", "missing column\\(s\\) title"),
        ("id,title,budget,mood", "unknown column\\(s\\) budget, mood"),
        ("id,title,title", "duplicate column\\(s\\) title"),
        ("id,title,cast,actors", "duplicate column\\(s\\) cast"),
    ],
)
def test_csv_with_wrong_columns_is_refused(tmp_path, ids, header, reason):
    (a,) = ids(1)
    path = tmp_path / "movies.csv"
    values = ",".join(str(a) if h == "id" else "Zephyr" for h in header.split(","))
    path.write_text(f"{header}\n{values}\n")
    assert "line 1: CSV header has" in refused(path, reason)


def test_csv_rows_with_extra_or_missing_values_are_rejected_with_their_line(tmp_path, ids):
    a, b, c = ids(3)
    path = tmp_path / "movies.csv"
    path.write_text(f"id,title,year\n{a},Zephyr,2001\n{b},Zephyr,2001,extra\n{c},Zephyr\n")
    summary = importer.import_file(path)
    assert summary.imported == 1
    assert [str(r) for r in summary.rejected] == [
        "line 3: more values than header columns",
        "line 4: fewer values than header columns",
    ]
    assert store.get_movie(b) is None and store.get_movie(c) is None


def test_csv_with_a_broken_quote_is_refused(tmp_path, ids):
    (a,) = ids(1)
    path = tmp_path / "movies.csv"
    path.write_text(f'id,title\n{a},"Zephyr\n')  # the quoted field never ends
    refused(path, "line 2: unexpected end of data; nothing imported")


# --- empty files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jsonl", b"", "holds no movie records"),
        ("blank.jsonl", b"\n\n  \n", "holds no movie records"),
        ("empty.json", b"", "must hold a JSON array"),
        ("empty-array.json", b"[]", "holds no movie records"),
        ("empty.csv", b"", "missing column"),
        ("header-only.csv", b"id,title\n", "holds no movie records"),
        ("empty.jsonl.gz", gzip.compress(b""), "holds no movie records"),
    ],
)
def test_empty_files_are_refused(tmp_path, ids, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    refused(path, reason)
