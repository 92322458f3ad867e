"""Reading and writing movie files (`manage.py import_movies`); search/records.py
validates each record.

Formats: JSON Lines, a JSON array, or CSV (each optionally gzipped). A record that
fails validation is reported with its line number and reason and the rest go in; a
file whose structure is broken (a truncated JSON array, a CSV without the needed
columns, an encoding that is not UTF-8 in a JSON array or CSV) is refused before
anything is written, so nothing is ever half-imported.
"""

import csv
import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import redis

from config.redis_stores import confirm_replicated
from search import store, upsert
from search.records import ALIASES, FIELDS, RecordError, validate

REQUIRED_CSV_COLUMNS = {"id", "title"}
MAX_LINE_BYTES = 1_000_000
BATCH_SIZE = 500


class ImportFileError(Exception):
    """The file as a whole cannot be read; nothing was written."""


@dataclass
class Rejection:
    line: int
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportSummary:
    read: int = 0
    imported: int = 0
    updated: int = 0
    rejected: list = field(default_factory=list)
    # Valid records Redis refused to write (out of memory): [(id, reason)].
    refused: list = field(default_factory=list)
    # Ids written on the primary that no replica confirmed, even after a second write:
    # a failover now could lose them.
    unconfirmed: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def written(self) -> int:
        return self.imported + self.updated

    @property
    def rate(self) -> float:
        return (
            (self.written if not self.dry_run else self.read) / self.seconds
            if self.seconds
            else 0.0
        )


# --- readers: each yields (line number, raw record or RecordError) ---------------------


def _open_binary(path):
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def detect_format(path: str | Path) -> str:
    name = Path(path).name.lower().removesuffix(".gz")
    for suffix, kind in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "json"),
                         (".csv", "csv")):  # fmt: skip
        if name.endswith(suffix):
            return kind
    raise ImportFileError(f"{path}: unknown format; use .jsonl, .json or .csv (optionally .gz)")


UTF8_BOM = b"\xef\xbb\xbf"
# Byte-order marks of encodings that are not UTF-8 (longest first: UTF-32LE starts
# with UTF-16LE's mark).
FOREIGN_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)  # fmt: skip
HEAD_BYTES = 4096


def check_file(path: str | Path) -> None:
    """Refuse, before anything is written, a file that is wrong as a whole: text in a
    foreign encoding (a UTF-16/32 byte-order mark), binary data (NUL bytes near the
    start), or gzip data that is truncated or damaged (read through once to its end, as
    its checksum is only known there)."""
    try:
        with _open_binary(path) as stream:
            head = stream.read(HEAD_BYTES)
            for bom, encoding in FOREIGN_BOMS:
                if head.startswith(bom):
                    raise ImportFileError(
                        f"line 1: the file is {encoding} (byte-order mark), not UTF-8; "
                        "save it as UTF-8, nothing imported"
                    )
            if b"\x00" in head:
                line = head[: head.index(b"\x00")].count(b"\n") + 1
                raise ImportFileError(
                    f"line {line}: binary data (NUL bytes), not UTF-8 text; nothing imported"
                )
            if Path(path).suffix == ".gz":
                while stream.read(1 << 20):
                    pass
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ImportFileError(
            f"the gzip data is truncated or damaged ({exc}); nothing imported"
        ) from None
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from None


def _bounded_lines(stream):
    """(line number, bytes) of each line, reading at most MAX_LINE_BYTES + 1 bytes at a
    time: a line without end is never held in memory. An overlong line comes back as
    None once its rest has been skipped. The UTF-8 byte-order mark is dropped."""
    line_number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        line_number += 1
        if line_number == 1 and line.startswith(UTF8_BOM):
            line = line[len(UTF8_BOM) :]
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of the huge line
                line = stream.readline(MAX_LINE_BYTES)
            yield line_number, None
            continue
        yield line_number, line


def read_jsonl(stream: BinaryIO) -> Iterator[tuple[int, object]]:
    for line_number, line in _bounded_lines(stream):
        if line is None:
            yield line_number, RecordError(f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield line_number, RecordError(f"not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        try:
            yield line_number, json.loads(text)
        except json.JSONDecodeError as exc:
            yield line_number, RecordError(f"invalid JSON: {exc.msg} (column {exc.colno})")


def read_json_array(stream: BinaryIO) -> Iterator[tuple[int, object]]:
    data = stream.read()  # read whole: the array's structure is checked before any write
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(f"line {line}: not UTF-8 ({exc.reason})") from None
    decoder = json.JSONDecoder()
    position = 0
    length = len(text)

    def skip_space(pos):
        while pos < length and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def line_of(pos):
        return text.count("\n", 0, pos) + 1

    position = skip_space(position)
    if position >= length or text[position] != "[":
        raise ImportFileError(f"line {line_of(position)}: a .json file must hold a JSON array")
    position += 1
    records = []
    while True:
        position = skip_space(position)
        if position < length and text[position] == "]":
            break
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"line {exc.lineno}: invalid JSON ({exc.msg}); the file looks truncated or "
                "damaged, nothing was imported"
            ) from None
        if end - position > MAX_LINE_BYTES:
            value = RecordError(f"record longer than {MAX_LINE_BYTES} bytes")
        records.append((line_of(position), value))
        position = skip_space(end)
        if position < length and text[position] == ",":
            position += 1
            continue
        if position < length and text[position] == "]":
            break
        raise ImportFileError(
            f"line {line_of(position)}: expected ',' or ']' in the JSON array; the file looks "
            "truncated or damaged, nothing was imported"
        )
    if skip_space(position + 1) < length:
        raise ImportFileError(f"line {line_of(position + 1)}: unexpected data after the array")
    yield from records


def _csv_text_lines(stream, position):
    """Decoded lines for the csv module, each bounded in length; an overlong or
    undecodable line refuses the file (a CSV line may be part of a quoted field, so
    the rows after it cannot be trusted). `position[0]` is the last line handed out."""
    for line_number, line in _bounded_lines(stream):
        position[0] = line_number
        if line is None:
            raise ImportFileError(
                f"line {line_number}: longer than {MAX_LINE_BYTES} bytes; nothing imported"
            )
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"line {line_number}: not UTF-8 ({exc.reason} at byte {exc.start}); "
                "nothing imported"
            ) from None


_MISSING = object()  # DictReader's filler for a row with fewer values than columns


def read_csv(stream: BinaryIO) -> Iterator[tuple[int, object]]:
    # strict: a quote left open at the end of the file is an error, not a long field.
    position = [1]
    reader = csv.DictReader(_csv_text_lines(stream, position), restval=_MISSING, strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise ImportFileError(f"line {position[0]}: {exc}; nothing imported") from None
    names = [ALIASES.get(h.strip(), h.strip()) for h in header]
    columns = set(names)
    missing = REQUIRED_CSV_COLUMNS - columns
    unknown = sorted(c for c in columns if c not in FIELDS)
    duplicate = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or duplicate:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(sorted(missing))}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if duplicate:
            problems.append(f"duplicate column(s) {', '.join(duplicate)}")
        raise ImportFileError(f"line 1: CSV header has {'; '.join(problems)}; nothing imported")
    rows = []
    try:
        for row in reader:
            if None in row:
                rows.append((reader.line_num, RecordError("more values than header columns")))
                continue
            if _MISSING in row.values():
                rows.append((reader.line_num, RecordError("fewer values than header columns")))
                continue
            clean = {k.strip(): (None if v == "" else v) for k, v in row.items()}
            rows.append((reader.line_num, clean))
    except csv.Error as exc:
        raise ImportFileError(f"line {position[0]}: {exc}; nothing imported") from None
    yield from rows


def read_records(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield (line, raw record | RecordError). Raises ImportFileError for broken files
    before yielding anything (JSON arrays and CSV are read whole first)."""
    kind = detect_format(path)
    check_file(path)
    try:
        stream = _open_binary(path)
    except OSError as exc:
        raise ImportFileError(f"{path}: {exc.strerror or exc}") from None
    with stream:
        try:
            if kind == "jsonl":
                yield from read_jsonl(stream)
            elif kind == "json":
                yield from read_json_array(stream)
            else:
                yield from read_csv(stream)
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ImportFileError(f"{path}: cannot read ({exc})") from None


# --- writing ------------------------------------------------------------------------


class MovieWriter:
    """Upserts validated records in pipelined batches: one round trip per batch, one
    server-side function call per movie (search/upsert.py)."""

    def __init__(self, batch_size=BATCH_SIZE, clock=time.time):
        self.batch_size = batch_size
        self.clock = clock
        self.client = store.client()
        upsert.ensure_upsert_function()
        self.pending = {}
        self.imported = 0
        self.updated = 0
        self.refused = []
        self.unconfirmed = []

    def add(self, record: dict) -> None:
        self.pending[record["id"]] = record  # a later duplicate id in one batch wins
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        now = int(self.clock())
        results = self._write(now)
        for movie_id, result in zip(self.pending, results, strict=True):
            if isinstance(result, redis.ResponseError):
                self.refused.append((movie_id, f"{type(result).__name__}: {result}"))
            elif result:
                self.imported += 1
            else:
                self.updated += 1
        # Each batch on every replica before the next (WAIT): a primary failing over now
        # loses no acknowledged batch. Unconfirmed, it is written once more (upserts are
        # idempotent), then reported.
        if not confirm_replicated("search"):
            self._write(now)
            if not confirm_replicated("search"):
                self.unconfirmed.extend(self.pending)
        self.pending = {}

    def _write(self, now: int) -> list:
        pipe = self.client.pipeline(transaction=False)
        for record in self.pending.values():
            upsert.queue_movie_upsert(pipe, record, now)
        # Per-command replies: a refused write (OOM under maxmemory) is counted and
        # reported with its id, never dropped silently; a lost connection still raises.
        return pipe.execute(raise_on_error=False)


def import_file(
    path: str | Path,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    clock: Callable[[], float] = time.time,
) -> ImportSummary:
    """Validate and import one file; returns an ImportSummary. `progress` is called with
    the number of records read so far."""
    started = time.perf_counter()
    summary = ImportSummary(dry_run=dry_run)
    records = read_records(path)
    # Pull the first item before any write: a broken JSON array or CSV raises here.
    writer = None if dry_run else MovieWriter(batch_size=batch_size, clock=clock)
    for line, raw in records:
        summary.read += 1
        try:
            if isinstance(raw, RecordError):
                raise raw
            record = validate(raw)
        except RecordError as exc:
            summary.rejected.append(Rejection(line, str(exc)))
        else:
            if writer:
                writer.add(record)
        if progress and summary.read % 1000 == 0:
            progress(summary.read)
    if not summary.read:
        raise ImportFileError("the file holds no movie records; nothing imported")
    if writer:
        writer.flush()
        summary.imported, summary.updated = writer.imported, writer.updated
        summary.refused = writer.refused
        if writer.unconfirmed:
            summary.warnings.append(
                f"{len(writer.unconfirmed)} movie(s) written on the primary were not "
                f"confirmed by its replicas (first id {writer.unconfirmed[0]}): import the "
                "file again once the replicas are back"
            )
        if writer.imported or writer.updated:
            try:
                store.bump_generation()  # cached searches of the old data become unreachable
            except redis.ResponseError as exc:  # refused (OOM): said, not hidden
                summary.warnings.append(
                    f"cached searches were not invalidated ({type(exc).__name__}: {exc}); "
                    "they may show the old catalogue until they expire"
                )
    summary.seconds = time.perf_counter() - started
    if progress:
        progress(summary.read)
    return summary
