"""Search benchmark: import rate, search and autocomplete latency, memory per movie, and
the same queries on tantivy as the reference of what the machine can do.

Starts its own Redis Stack (the embedded build, project redis.conf) on a free port in a
temporary directory, writes N synthetic movies as JSONL (`generate_movies --output`),
loads that file with the project's importer and indexes it in tantivy, and measures:

- import rate against the physical floor measured in the same run: raw pipelined HSETs
  of the same movie hashes into the same indexed server (median of alternating rounds);
- per query class, alternated query by query: the service (search/results.py, cache
  bypassed: the tiers, the typo fallback and the facet aggregations), the bare engine
  command of the same query, and tantivy (top 20, exact total and facets, one thread);
- autocomplete latency;
- used_memory, split into hashes, both indexes and the autocomplete dictionary, with
  the server's maxmemory and the OOM errors it replied.

With --port it measures a server already holding the catalogue (e.g. the load test's)
and regenerates the same movies as JSONL from their seed and first id (--segments).

Usage (from the project root):
    .venv/bin/python bench/search_bench.py --movies 100000 --write docs/BENCHMARKS.md
    .venv/bin/python bench/search_bench.py --movies 1000000 --maxmemory 2gb
    .venv/bin/python bench/search_bench.py --port PORT \\
        --password-file var/bench/load-1000000/redis-password
"""

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    bare_ft_search,
    percentile,
    setup_django,
    start_redis_and_django,
    write_section,
)


def typical_queries():
    """What users type, drawn from the synthetic vocabulary by how common the words are
    (rank 1 is "the"): one common word, a rarer one, two words, a typo, a half-typed
    word, each with and without filters."""
    from search.synthetic import MovieFactory

    vocabulary = MovieFactory().vocabulary
    word = lambda rank: vocabulary[rank]  # noqa: E731
    typo = lambda w: w[:2] + w[3] + w[2] + w[4:]  # a swap of two letters  # noqa: E731
    return [
        {"q": word(60)}, {"q": word(200)}, {"q": word(900)}, {"q": word(4000)},
        {"q": f"{word(120)} {word(700)}"}, {"q": f"{word(40)} {word(300)} {word(2000)}"},
        {"q": typo(word(500))}, {"q": word(350)[:4]},
        {"q": word(150), "genre": ["drama"]}, {"q": word(250), "language": ["French"]},
        {"q": word(80), "year_min": "1990", "year_max": "2010"},
        {"q": word(600), "sort": "rating_desc"}, {"q": word(1200), "country": ["Japan", "India"]},
    ]  # fmt: skip


# The class of each of typical_queries(), in its order.
QUERY_CLASSES = (
    "common word", "word (rank 200)", "rarer word (rank 900)", "rare word (rank 4000)",
    "two words", "three words", "typo", "prefix", "word + genre", "word + language",
    "word + year range", "sort by rating", "word + two countries",
)  # fmt: skip


def query_classes():
    """(class, query) pairs; a query list of another length is named by its text."""
    queries = typical_queries()
    names = QUERY_CLASSES if len(QUERY_CLASSES) == len(queries) else [q["q"] for q in queries]
    return list(zip(names, queries, strict=True))


def suggest_prefixes():
    from search.synthetic import MovieFactory

    vocabulary = MovieFactory().vocabulary
    return [vocabulary[rank][:n] for rank, n in ((50, 3), (120, 4), (400, 5), (900, 3),
                                                 (2500, 6), (30, 4), (700, 5))]  # fmt: skip


def machine():
    import psutil
    import redis

    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "redis_py": redis.__version__,
        "cpu": platform.processor() or platform.machine(),
    }


def synthetic(count, seed, start_id):
    from search import records
    from search.synthetic import MovieFactory

    factory = MovieFactory(seed=seed, start_id=start_id)
    return [records.validate(movie) for movie in factory.movies(count)]


def raw_write_rate(records, with_suggestions=False, batch=500):
    """The floor, as plain pipelined commands into the same indexed server: the movie
    hashes only (HSET), or with_suggestions the same keys the importer writes (movie
    hash with its `autocomplete` field, autocomplete entries), without its reads and
    upsert logic."""
    return _raw_writes(records, with_suggestions, batch)[0]


def _raw_writes(records, with_suggestions=False, batch=500):
    """(movies/s, microseconds of Redis time per HSET) for `raw_write_rate`."""
    from search import keys, store

    client = store.client()
    client.config_resetstat()
    now = int(time.time())
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        pipe = client.pipeline(transaction=False)
        for record in records[i : i + batch]:
            mapping = {k: v for k, v in record.items() if v not in (None, "")}
            mapping["created_at"] = mapping["updated_at"] = now
            if with_suggestions:
                mapping["autocomplete"] = queue_suggestion_writes(pipe, record)
            pipe.hset(keys.movie_key(record["id"]), mapping=mapping)
        pipe.execute()
    rate = len(records) / (time.perf_counter() - started)
    stats = client.info("commandstats").get("cmdstat_hset", {})
    return rate, float(stats.get("usec_per_call", 0))


def queue_suggestion_writes(pipe, record):
    """Queue the movie's FT.SUGADDs; returns the `autocomplete` field its hash keeps."""
    from search import keys, ranking

    strings = ranking.autocomplete_strings(record["title"], record.get("year"))
    payload = json.dumps({"id": record["id"], "label": strings[0]})
    for string in strings:
        score = ranking.suggestion_score(record.get("rating"))
        pipe.execute_command("FT.SUGADD", keys.AUTOCOMPLETE_KEY, string, score, "PAYLOAD", payload)
    return "\x1f".join(strings)


def importer_rate(records, batch=500):
    from search import importer

    writer = importer.MovieWriter(batch_size=batch)
    started = time.perf_counter()
    for record in records:
        writer.add(record)
    writer.flush()
    return len(records) / (time.perf_counter() - started)


def delete_records(records):
    from search import store

    store.delete_movies(r["id"] for r in records)


def measure_import(sample_size, rounds):
    """Alternate the two floors and the importer on fresh id ranges of the same size."""
    raw, same, imp, hset_usec = [], [], [], []

    def raw_round(records):
        rate, usec = _raw_writes(records)
        raw.append(rate)
        hset_usec.append(usec)

    writers = [
        raw_round,
        lambda records: same.append(raw_write_rate(records, with_suggestions=True)),
        lambda records: imp.append(importer_rate(records)),
    ]
    for round_number in range(rounds):
        base = 50_000_000 + round_number * 3 * sample_size
        batches = [synthetic(sample_size, seed=100 + round_number, start_id=base + k * sample_size)
                   for k in range(3)]  # fmt: skip
        # Each writer takes each place in turn: the later writes of a round meet the
        # snapshots and index garbage collection the earlier ones set off.
        shift = round_number % len(writers)
        try:
            for write, batch in zip(writers[shift:] + writers[:shift], batches, strict=True):
                write(batch)
        finally:  # a failed round (out of memory) leaves nothing behind either
            for batch in batches:
                delete_records(batch)
    return {"raw": statistics.median(raw), "same": statistics.median(same),
            "importer": statistics.median(imp), "raw_rounds": raw, "same_rounds": same,
            "importer_rounds": imp, "hset_usec": statistics.median(hset_usec)}  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """A run of `generate_movies --seed S --start-id ID --count N`."""

    seed: int
    start_id: int
    count: int


def parse_segments(text):
    """`SEED:START_ID:COUNT[,…]`, the runs that filled a server (a resumed load test
    generates one run per resumption)."""
    segments = []
    for part in text.split(","):
        seed, start_id, count = (int(v) for v in part.split(":"))
        segments.append(Segment(seed, start_id, count))
    return segments


def write_jsonl(path, segments):
    """The catalogue as `generate_movies --output` writes it, one run after the other."""
    from django.core.management import call_command

    started = time.perf_counter()
    with open(path, "w", encoding="utf-8") as out:
        for n, segment in enumerate(segments):
            part = Path(f"{path}.{n}")
            options = {"count": segment.count, "seed": segment.seed, "start_id": segment.start_id}
            call_command("generate_movies", output=str(part), stdout=io.StringIO(), **options)
            with open(part, encoding="utf-8") as lines:
                shutil.copyfileobj(lines, out)
            part.unlink()
    return time.perf_counter() - started


RESUMED_LOAD = (
    "Give --segments as the server was filled: bench/load_test.py resumed after N movies "
    "generates the rest with --seed 1+N --start-id 1000001+N, so a load stopped once at "
    "N of M is --segments 1:1000001:N,{1+N}:{1000001+N}:{M-N}."
)


def check_same_movies(jsonl, expected_count, sample=500):
    """Stop unless Redis holds the JSONL's movies: the same count, and the same title
    under the same id for an even sample of the file."""
    from tantivy_reference import jsonl_records

    from search import records, store

    count = store.movie_count()
    if count != expected_count:
        raise SystemExit(f"Redis holds {count:,} movies, the JSONL {expected_count:,}. "
                         + RESUMED_LOAD)  # fmt: skip
    step = max(1, expected_count // sample)
    for n, movie in enumerate(jsonl_records(jsonl)):
        if n % step:
            continue
        held = store.get_movie(movie["id"]) or {}
        if held.get("title") != records.validate(movie)["title"]:
            raise SystemExit(f"movie {movie['id']}: Redis holds {held.get('title')!r}, the "
                             f"JSONL {movie['title']!r}. " + RESUMED_LOAD)  # fmt: skip


def load_catalogue(jsonl, batch=1000):
    """Import the bench's JSONL file with the product's writer (so Redis holds exactly
    the movies tantivy indexes); movies/s."""
    from tantivy_reference import jsonl_records

    from search import importer, indexing, records, store

    indexing.ensure_indexes()
    writer = importer.MovieWriter(batch_size=batch)
    started = time.perf_counter()
    for n, movie in enumerate(jsonl_records(jsonl), start=1):
        writer.add(records.validate(movie))
        if n % 100_000 == 0:
            print(f"  loaded {n:,} ({n / (time.perf_counter() - started):,.0f}/s)", flush=True)
    writer.flush()
    store.bump_generation()
    store.wait_until_indexed(store.live_index_name())
    return n / (time.perf_counter() - started)


def query_dict(spec):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in spec.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query


@dataclass
class Prepared:
    """One query class as each engine runs it, with what each found."""

    name: str
    params: object  # search.params.SearchParams
    bare: object  # search.queries.ft.FtQuery
    text_query: object  # search.queries.text.TextQuery
    totals: dict = field(default_factory=dict)
    facets_exact: dict = field(default_factory=dict)
    facets_agree: bool | None = None  # the service's counts are tantivy's (None: not run)


def prepare_queries(catalogue):
    """Each class's parameters, the bare FT.SEARCH of the words the service searched
    (typo variants only if it used them) and the same text query for tantivy; one
    untimed run of each warms them up and records their totals."""
    from search.facets import filter_options
    from search.params import parse_params
    from search.queries.builder import build_query
    from search.queries.ft import FtQuery
    from search.queries.text import parse_text
    from search.ranking import sort_keys
    from search.results import search_uncached
    from search.values import RETURN_FIELDS

    options = filter_options()
    prepared = []
    for name, spec in query_classes():
        params = parse_params(query_dict(spec), options)
        result = search_uncached(params)
        text_query = replace(parse_text(params.q), typos=result.typos_included)
        built = build_query(text_query, params.filters, params.ranges)
        bare = FtQuery(built.query, built.params, limit=params.size,
                       return_fields=RETURN_FIELDS, sort=sort_keys(params.sort))  # fmt: skip
        query = Prepared(name, params, bare, text_query)
        query.totals = {"service": result.total_count, "bare": bare_search(bare)}
        query.facets_exact = {"service": result.facets_exact}
        if catalogue is not None:
            page = catalogue.search(params, text_query)
            query.totals["tantivy"] = page.total
            query.facets_exact["tantivy"] = page.facets_exact
            query.facets_agree = same_facets(result.facets, page.facets)
        prepared.append(query)
    return prepared


def same_facets(product, reference):
    """True when every count the product shows is the reference's for that value."""
    counts = {facet: dict(rows) for facet, rows in reference.items()}
    return all(counts.get(facet, {}).get(row.value) == row.count
               for facet, rows in product.items() for row in rows)  # fmt: skip


def bare_search(bare):
    """The one engine command of a page, its total: a ranked FT.SEARCH, or for a sort
    the aggregation the product sorts with."""
    from search import query_store

    return query_store.ft_sorted(bare).total if bare.sort else bare_ft_search(bare)


def measure_search(repeats, catalogue=None):
    """Per class, milliseconds of the service (cache bypassed), the bare engine command
    and tantivy, run back to back in ABBA order (reversed every other repeat)."""
    from search.results import search_uncached

    prepared = prepare_queries(catalogue)
    runs = {
        "service": lambda q: search_uncached(q.params),  # the cache is bypassed on purpose
        "bare": lambda q: bare_search(q.bare),
    }
    if catalogue is not None:
        runs["tantivy"] = lambda q: catalogue.search(q.params, q.text_query)
        runs["tantivy_page"] = lambda q: catalogue.search(q.params, q.text_query, facets=False)
    times = {engine: {q.name: [] for q in prepared} for engine in runs}
    for repeat in range(repeats):
        order = list(runs.items()) if repeat % 2 == 0 else list(runs.items())[::-1]
        for query in prepared:
            for engine, run in order:
                started = time.perf_counter()
                run(query)
                times[engine][query.name].append((time.perf_counter() - started) * 1000)
    return prepared, times


def per_class(prepared, times):
    """Per class and overall: each engine's p50/p99, the ratios at p50, the totals."""
    classes = {}
    for query in prepared:
        row = {engine: summarise(by_class[query.name]) for engine, by_class in times.items()}
        row |= {"totals": query.totals, "facets_exact": query.facets_exact,
                "facets_agree": query.facets_agree}  # fmt: skip
        classes[query.name] = row
    overall = {e: summarise([t for ts in by_class.values() for t in ts])
               for e, by_class in times.items()}  # fmt: skip
    return classes, overall


def measure_api(repeats):
    """The JSON API through Django's test client with the cache on (what users get)."""
    from django.test import Client

    client = Client()
    times = []
    for _ in range(repeats):
        for spec in typical_queries():
            started = time.perf_counter()
            response = client.get("/api/search", spec)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:200]
    return times


def measure_suggest(repeats):
    from search.suggestions import suggest

    times = []
    for _ in range(repeats):
        for prefix in suggest_prefixes():
            started = time.perf_counter()
            suggest(prefix)
            times.append((time.perf_counter() - started) * 1000)
    return times


def index_mb(client, name):
    info = client.ft(name).info()
    if "total_index_memory_sz_mb" in info:
        return float(info["total_index_memory_sz_mb"])
    parts = ("inverted_sz_mb", "doc_table_size_mb", "sortable_values_size_mb",
             "key_table_size_mb", "offset_vectors_sz_mb")  # fmt: skip
    return sum(float(info.get(k, 0)) for k in parts)


def server_limits(client):
    """maxmemory and its policy (None where CONFIG is refused), the OOM error replies the
    server has sent since it started (INFO errorstats) and the keys it evicted."""
    import redis

    try:
        config = client.config_get("maxmemory*")
    except redis.ResponseError:
        config = {}
    errors = client.info("errorstats")
    stats = client.info("stats")
    return {
        "maxmemory_mb": round(int(config["maxmemory"]) / 2**20) if "maxmemory" in config else None,
        "maxmemory_policy": config.get("maxmemory-policy"),
        "oom_errors": int(errors.get("errorstat_OOM", {}).get("count", 0)),
        "evicted_keys": int(stats.get("evicted_keys", 0)),
    }


def measure_memory(count, sample=2000):
    """used_memory and its split: movie and legacy suggestion hashes (sampled MEMORY USAGE, as
    SCAN finds them), both indexes (FT.INFO) and the autocomplete dictionary. The parts
    leave out Redis's own overhead and the other stores, which used_memory includes."""
    from search import keys, store

    client = store.client()
    # SCAN walks the keyspace in hash-table order: a fair sample, whatever the ids are.
    movie_keys = []
    for key in client.scan_iter(match=f"{keys.movie_prefix()}*", count=1000):
        movie_keys.append(key)
        if len(movie_keys) == sample:
            break
    pipe = client.pipeline(transaction=False)
    for key in movie_keys:
        pipe.memory_usage(key, samples=0)
        pipe.memory_usage(keys.legacy_suggestion_key(key.removeprefix(keys.movie_prefix())),
                          samples=0)  # fmt: skip
    sizes = pipe.execute()
    scale = count / max(1, len(movie_keys)) / 2**20
    parts = {
        "movie_hashes_mb": sum(v or 0 for v in sizes[0::2]) * scale,
        "suggestion_hashes_mb": sum(v or 0 for v in sizes[1::2]) * scale,
        "movie_index_mb": index_mb(client, keys.index_alias()),
        "suggestion_index_mb": index_mb(client, keys.SUGGESTIONS_INDEX),
        "autocomplete_mb": (client.memory_usage(keys.AUTOCOMPLETE_KEY) or 0) / 2**20,
    }
    used = int(client.info("memory")["used_memory"])
    return {
        "used_memory_mb": round(used / 2**20, 1),
        "bytes_per_movie": round(sum(parts.values()) * 2**20 / max(1, count)),
        "used_bytes_per_movie": round(used / max(1, count)),
        "index_mb": round(parts["movie_index_mb"] + parts["suggestion_index_mb"], 1),
        **{name: round(mb, 1) for name, mb in parts.items()},
        **server_limits(client),
    }


def summarise(values):
    return {"p50": round(percentile(values, 50), 2), "p99": round(percentile(values, 99), 2),
            "n": len(values)}  # fmt: skip


def ratio(a, b):
    return f"{a / b:.1f}×" if b else "—"


ENGINE_HEADS = {
    "service": "service (cache bypassed)",
    "bare": "bare engine command",
    "tantivy": "tantivy",
    "tantivy_page": "tantivy without facets",
}


def class_table(results):
    """Per class: each engine's p50 / p99 (ms), the ratios at p50, the totals found."""
    engines = [e for e in ENGINE_HEADS if e in results["overall"]]
    heads = ENGINE_HEADS
    pairs = [("service", "bare"), ("service", "tantivy"), ("bare", "tantivy"),
             ("bare", "tantivy_page")]  # fmt: skip
    pairs = [p for p in pairs if set(p) <= set(engines)]
    lines = [
        "| class | "
        + " | ".join(f"{heads[e]} p50 / p99" for e in engines)
        + " | "
        + " | ".join(f"{a} ÷ {b}".replace("_page", " without facets") for a, b in pairs)
        + " | matches (service / bare"
        + (" / tantivy" if "tantivy" in engines else "")
        + ") |",
        "|---" * (len(engines) + len(pairs) + 2) + "|",
    ]
    rows = [*results["classes"].items(), ("overall", results["overall"])]
    for name, row in rows:
        cells = [f"{row[e]['p50']:.2f} / {row[e]['p99']:.2f}" for e in engines]
        cells += [ratio(row[a]["p50"], row[b]["p50"]) for a, b in pairs]
        totals = row.get("totals", {})
        exact = row.get("facets_exact", {})
        counts = " / ".join(f"{totals[e]:,}" for e in engines if e in totals)
        if exact and not exact.get("service"):
            counts += ", service facets ≈"
        elif row.get("facets_agree") is False:
            counts += ", facet counts differ"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {counts} |")
    return lines


def memory_lines(memory, end):
    """used_memory and its parts after the load; `end`: the limits at the end of the run."""
    limit = memory["maxmemory_mb"]
    limit_text = "not readable (CONFIG refused)" if limit is None else (
        f"{limit:,} MB ({memory['maxmemory_policy']})" if limit else "none")  # fmt: skip
    return [
        f"Memory: used_memory {memory['used_memory_mb']:,} MB "
        f"({memory['used_bytes_per_movie']:,} bytes per movie, every store included); "
        f"movie hashes {memory['movie_hashes_mb']:,} MB, legacy suggestion hashes "
        f"{memory['suggestion_hashes_mb']:,} MB, movie index {memory['movie_index_mb']:,} MB, "
        f"suggestion index {memory['suggestion_index_mb']:,} MB, autocomplete "
        f"{memory['autocomplete_mb']:,} MB: {memory['bytes_per_movie']:,} bytes per movie. "
        f"maxmemory {limit_text}; OOM error replies since the server started: "
        f"{memory['oom_errors']:,} after the load, {end['oom_errors']:,} at the end of the "
        f"run; evicted keys: {memory['evicted_keys']:,}, then {end['evicted_keys']:,}.",
    ]


def tantivy_lines(results):
    build = results.get("tantivy_build")
    if not build:
        return []
    return [
        f"tantivy {build['version']}: built from the same JSONL ({results['movies']:,} "
        f"movies, {results['jsonl_mb']:,} MB) in {build['seconds']:.1f} s with one indexing "
        f"thread ({build['movies'] / build['seconds']:,.0f} movies/s), {build['disk_mb']:,} MB "
        f"on disk, {build['segments']} segment(s); searched on one thread. Its facet counts "
        "are exact (terms aggregations over fast fields, each facet without its own "
        "filter, plus the year histogram); the product's are sampled beyond "
        "FACET_SAMPLE matches, marked ≈ above. Sorted by rating, tantivy orders by the "
        "rating alone, the product by rating, year and title.",
    ]


def import_round_lines(imp):
    if imp is None:
        return []
    rounds = (f"{name} {', '.join(f'{v:,.0f}' for v in imp[name + '_rounds'])}"
              for name in ("raw", "same", "importer"))  # fmt: skip
    return ["Import rounds (movies/s): " + "; ".join(rounds) + ".", ""]


def import_rows(results):
    imp = results["import"]
    if imp is None:
        return [f"| import rounds | {results['import_error']} | | |"]
    return [
        f"| import rate (importer: upsert, suggestions, autocomplete) | "
        f"{imp['importer']:,.0f} movies/s | raw pipelined HSET of the same movie hashes: "
        f"{imp['raw']:,.0f}/s | {imp['importer'] / imp['raw']:.0%} (goal ≥ 90 %) |",
        f"| import rate, against the same writes | {imp['importer']:,.0f} movies/s | the "
        f"same movie hashes (with `autocomplete`) and FT.SUGADDs as plain pipelined commands: "
        f"{imp['same']:,.0f}/s | {imp['importer'] / imp['same']:.0%} |",
        f"| Redis time per indexed movie HSET (INFO commandstats) | {imp['hset_usec']:.0f} µs"
        f" | one Redis thread indexes, so at most {1e6 / max(imp['hset_usec'], 1):,.0f} "
        f"movies/s | |",
    ]


def render(results, command):
    m = results["machine"]
    load_rate = (
        f"{results['load_rate']:,.0f} movies/s" if results["load_rate"] else "(loaded earlier)"
    )
    memory = results["memory"]
    lines = [
        "## Search",
        "",
        f"Command: `{command}`  ",
        f"Machine: {m['nproc']} cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"redis-py {m['redis_py']}, Redis Stack 7.4 (embedded), {results['date']}.  ",
        f"Catalogue: {results['movies']:,} synthetic movies, every field (`generate_movies`"
        f" runs seed:first id:count {results['segments']}), the same JSONL in Redis and "
        "tantivy.",
        "",
        "| measure | result | baseline in the same run | ratio |",
        "|---|---|---|---|",
        *import_rows(results),
        f"| bulk load of the whole catalogue | {load_rate} | | |",
        f"| search server time, typical queries with facets, cache bypassed | "
        f"p50 {results['search']['p50']} ms, p99 {results['search']['p99']} ms | bare engine "
        f"command of the same query: p50 {results['bare']['p50']} ms, p99 "
        f"{results['bare']['p99']} ms | "
        f"{results['search']['p50'] / max(results['bare']['p50'], 0.001):.1f}× at p50 |",
        f"| search API through Django (cache on, repeated queries) | p50 {results['api']['p50']} "
        f"ms, p99 {results['api']['p99']} ms | | |",
        f"| autocomplete (`suggest`) | p50 {results['suggest']['p50']} ms, p99 "
        f"{results['suggest']['p99']} ms | | |",
        f"| memory per movie (data + indexes + suggestions + autocomplete) | "
        f"{memory['bytes_per_movie']:,} bytes | used_memory {memory['used_memory_mb']:,} MB, "
        f"indexes {memory['index_mb']} MB | |",
        "",
        "Per query class, milliseconds, the engines alternated query by query (ABBA). The "
        "bare engine command is the service's main query alone (FT.SEARCH, or for a sort "
        "the FT.AGGREGATE it sorts with), without tiers, facets or typo fallback; tantivy "
        "without facets is the same page and exact total alone, its like.",
        "",
        *class_table(results),
        "",
        *tantivy_lines(results),
        "",
        *memory_lines(memory, results["memory_after_import"]),
        "",
        *import_round_lines(results["import"]),
    ]
    return "\n".join(lines)


def build_tantivy(jsonl, directory):
    from importlib.metadata import version

    from tantivy_reference import Catalogue, build_index

    print("tantivy index…", flush=True)
    index, build = build_index(jsonl, Path(directory))
    figures = {"version": version("tantivy"), "movies": build.movies,
               "seconds": round(build.seconds, 2), "disk_mb": round(build.disk_bytes / 2**20, 1),
               "segments": build.segments}  # fmt: skip
    return Catalogue(index), figures


def run_measures(args, load, tmp):
    from search import indexing, store

    indexing.ensure_indexes()
    jsonl = Path(tmp) / "catalogue.jsonl"
    if load:
        segments = [Segment(args.seed, args.start_id, args.movies)]
    elif args.segments:
        segments = parse_segments(args.segments)
    else:
        segments = [Segment(args.seed, args.start_id, store.movie_count())]
    count = sum(s.count for s in segments)
    print(f"writing {count:,} movies as JSONL…", flush=True)
    seconds = write_jsonl(jsonl, segments)
    runs = ",".join(f"{s.seed}:{s.start_id}:{s.count}" for s in segments)
    results = {"movies": count, "jsonl_seconds": round(seconds, 1), "segments": runs,
               "jsonl_mb": round(jsonl.stat().st_size / 2**20, 1)}  # fmt: skip
    results["load_rate"] = None
    if load:
        print(f"loading {count:,} movies…", flush=True)
        try:
            results["load_rate"] = load_catalogue(jsonl)
        except redis_oom() as exc:
            memory = measure_memory(count)
            raise SystemExit(f"out of memory while loading: {exc}; {memory}") from exc
    check_same_movies(jsonl, count)
    results["memory"] = measure_memory(count)
    catalogue = None
    if not args.no_tantivy:
        catalogue, results["tantivy_build"] = build_tantivy(jsonl, Path(tmp) / "tantivy")
    # Searches first: the import rounds write and delete tens of thousands of movies,
    # which sets off snapshots (save 60 10000) and index garbage collection, forked
    # processes that share the two cores with the searches for minutes afterwards.
    print("search…", flush=True)
    prepared, times = measure_search(args.repeats, catalogue)
    results["classes"], results["overall"] = per_class(prepared, times)
    results["search"] = results["overall"]["service"]
    results["bare"] = results["overall"]["bare"]
    results["api"] = summarise(measure_api(args.repeats))
    results["suggest"] = summarise(measure_suggest(args.repeats))
    print("import rate vs raw HSET…", flush=True)
    try:
        results["import"] = measure_import(args.import_sample, args.rounds) if args.rounds else None
        results["import_error"] = None if args.rounds else "not measured (--rounds 0)"
    except redis_oom() as exc:  # the --maxmemory limit reached: report it, keep the rest
        results["import"], results["import_error"] = None, f"stopped: out of memory ({exc})"
    results["memory_after_import"] = server_limits(store.client())
    return results


def redis_oom():
    import redis

    return redis.exceptions.OutOfMemoryError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=100_000)
    parser.add_argument("--seed", type=int,
                        help="generate_movies --seed of the catalogue: default 42, with --port "
                        "1 (as bench/load_test.py fills a fresh server)")  # fmt: skip
    parser.add_argument(
        "--start-id", type=int, help="generate_movies --start-id: default 1, with --port 1000001"
    )
    parser.add_argument(
        "--segments",
        help="with --port: SEED:START_ID:COUNT[,…], the generate_movies runs that filled "
        "the server when it was not one run (a resumed load test: one run per resumption)",
    )
    parser.add_argument("--import-sample", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="import rounds (0: none, on a server to leave untouched)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--maxmemory", default="8gb",
                        help="the bench server's maxmemory (the plan's is 2gb)")  # fmt: skip
    parser.add_argument("--no-tantivy", action="store_true", help="skip the tantivy reference")
    parser.add_argument(
        "--port", type=int,
        help="measure against a Redis Stack already running on this port and holding the "
        "catalogue (e.g. the load test's, under var/bench/) instead of loading one",
    )  # fmt: skip
    parser.add_argument(
        "--password-file",
        help="with --port: the file holding that server's password (the load test keeps "
        "its own in var/bench/load-<movies>/redis-password); default $REDIS_PASSWORD",
    )
    parser.add_argument("--write", help="update this Markdown file's search section")
    args = parser.parse_args()
    if args.seed is None:  # with --port: how bench/load_test.py fills a fresh server
        args.seed = 1 if args.port else 42
    if args.start_id is None:
        args.start_id = 1_000_001 if args.port else 1
    command = "python bench/search_bench.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        if args.port:
            password = os.environ.get("REDIS_PASSWORD", "")
            if args.password_file:
                password = Path(args.password_file).read_text().strip()
            setup_django(args.port, tmp, password)
            results = run_measures(args, load=False, tmp=tmp)
        else:
            server = start_redis_and_django(tmp, args.maxmemory)
            try:
                results = run_measures(args, load=True, tmp=tmp)
            except Exception:
                # The server's log goes with the temporary directory: show why it failed.
                log = server.logfile.read_text(errors="replace")
                crash = log.find("REDIS BUG REPORT START")
                print(log[crash : crash + 6000] if crash >= 0 else log[-3000:], file=sys.stderr)
                raise
            finally:
                server.stop(save=False)
    results |= {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(results, indent=2))
    if args.write:
        write_section(args.write, "search-bench", render(results, command))
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
