"""Search benchmark: import rate, search and autocomplete latency, memory per movie.

Starts its own Redis Stack (the embedded build, project redis.conf) on a free port in a
temporary directory, loads N synthetic movies with the project's importer, and measures:

- import rate against the physical floor measured in the same run: raw pipelined HSETs
  of the same movie hashes into the same indexed server (median of alternating rounds);
- search server time (search/results.py, cache bypassed: every query runs FT.SEARCH plus the
  facet aggregations) and the same query as a bare FT.SEARCH, for the overhead ratio;
- autocomplete latency;
- memory per movie from INFO used_memory and FT.INFO.

Usage (from the project root):
    .venv/bin/python bench/search_bench.py --movies 1000000 --write docs/BENCHMARKS.md
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
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
    hash, suggestion hash, autocomplete entries), without its reads and upsert logic."""
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
            pipe.hset(keys.movie_key(record["id"]), mapping=mapping)
            if with_suggestions:
                queue_suggestion_writes(pipe, record)
        pipe.execute()
    rate = len(records) / (time.perf_counter() - started)
    stats = client.info("commandstats").get("cmdstat_hset", {})
    return rate, float(stats.get("usec_per_call", 0))


def queue_suggestion_writes(pipe, record):
    from search import keys, ranking

    strings = ranking.autocomplete_strings(record["title"], record.get("year"))
    suggestion = {"title": record["title"], "movie_id": record["id"],
                  "autocomplete": "\x1f".join(strings)}  # fmt: skip
    for name in ("genre", "year"):
        if record.get(name):
            suggestion[name] = record[name]
    pipe.hset(keys.suggestion_key(record["id"]), mapping=suggestion)
    payload = json.dumps({"id": record["id"], "label": strings[0]})
    for string in strings:
        score = ranking.suggestion_score(record.get("rating"))
        pipe.execute_command("FT.SUGADD", keys.AUTOCOMPLETE_KEY, string, score, "PAYLOAD", payload)


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
    for round_number in range(rounds):
        base = 50_000_000 + round_number * 3 * sample_size
        batches = [synthetic(sample_size, seed=100 + round_number, start_id=base + k * sample_size)
                   for k in range(3)]  # fmt: skip
        rate, usec = _raw_writes(batches[0])
        raw.append(rate)
        hset_usec.append(usec)
        same.append(raw_write_rate(batches[1], with_suggestions=True))
        imp.append(importer_rate(batches[2]))
        for batch in batches:
            delete_records(batch)
    return {"raw": statistics.median(raw), "same": statistics.median(same),
            "importer": statistics.median(imp), "raw_rounds": raw, "same_rounds": same,
            "importer_rounds": imp, "hset_usec": statistics.median(hset_usec)}  # fmt: skip


def load_catalogue(count, batch=1000):
    from search import importer, indexing, records, store
    from search.synthetic import MovieFactory

    indexing.ensure_indexes()
    factory = MovieFactory(seed=42, start_id=1)
    writer = importer.MovieWriter(batch_size=batch)
    started = time.perf_counter()
    for n, movie in enumerate(factory.movies(count), start=1):
        writer.add(records.validate(movie))
        if n % 100_000 == 0:
            print(f"  loaded {n:,} ({n / (time.perf_counter() - started):,.0f}/s)", flush=True)
    writer.flush()
    store.bump_generation()
    store.wait_until_indexed(store.live_index_name())
    return count / (time.perf_counter() - started)


def query_dict(spec):
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in spec.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query


def measure_search(repeats):
    from search import store
    from search.facets import filter_options
    from search.params import parse_params
    from search.queries.builder import build_query
    from search.queries.ft import FtQuery
    from search.queries.text import parse_text
    from search.results import search_uncached
    from search.values import RETURN_FIELDS

    options = filter_options()
    server, bare = [], []
    for _ in range(repeats):
        for spec in typical_queries():
            params = parse_params(query_dict(spec), options)
            started = time.perf_counter()
            result = search_uncached(params)  # the cache is bypassed on purpose
            server.append((time.perf_counter() - started) * 1000)
            # The same words the search used: with typo variants only if it did.
            text_query = replace(parse_text(params.q), typos=result.typos_included)
            built = build_query(text_query, params.filters, params.ranges)
            started = time.perf_counter()
            store.ft_search(FtQuery(built.query, built.params, limit=params.size,
                                    return_fields=RETURN_FIELDS))  # fmt: skip
            bare.append((time.perf_counter() - started) * 1000)
    return server, bare


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


def measure_memory(count, before):
    from search import store

    info = store.client().info("memory")
    index = store.index_info()
    used = int(info["used_memory"]) - before
    return {
        "used_memory_mb": round(int(info["used_memory"]) / 2**20, 1),
        "bytes_per_movie": round(used / count),
        "index_mb": round(index.inverted_sz_mb + index.doc_table_size_mb
                          + index.sortable_values_size_mb + index.key_table_size_mb, 1),
    }  # fmt: skip


def measure_memory_by_parts(count, sample=2000):
    """Bytes per movie on a shared server (other stores in it too): the sampled MEMORY
    USAGE of movie and suggestion hashes, plus both indexes and the autocomplete
    dictionary as FT.INFO and MEMORY USAGE report them."""
    from search import keys, store

    client = store.client()
    # SCAN walks the keyspace in hash-table order: a fair sample, whatever the ids are.
    ids = []
    for key in client.scan_iter(match=f"{keys.movie_prefix()}*", count=1000):
        ids.append(key)
        if len(ids) == sample:
            break
    sample = len(ids)
    pipe = client.pipeline(transaction=False)
    for key in ids:
        pipe.memory_usage(key, samples=0)
        pipe.memory_usage(keys.suggestion_key(key.removeprefix(keys.movie_prefix())), samples=0)
    hashes = sum(v or 0 for v in pipe.execute()) / sample * count
    indexes = 0.0
    for name in (keys.index_alias(), keys.SUGGESTIONS_INDEX):
        info = client.ft(name).info()
        indexes += sum(
            float(info[k])
            for k in (
                "inverted_sz_mb",
                "doc_table_size_mb",
                "sortable_values_size_mb",
                "key_table_size_mb",
                "offset_vectors_sz_mb",
            )
        )
    autocomplete = client.memory_usage(keys.AUTOCOMPLETE_KEY) or 0
    total = hashes + indexes * 2**20 + autocomplete
    return {
        "used_memory_mb": round(int(client.info("memory")["used_memory"]) / 2**20, 1),
        "bytes_per_movie": round(total / count),
        "index_mb": round(indexes, 1),
    }


def summarise(values):
    return {"p50": round(percentile(values, 50), 2), "p99": round(percentile(values, 99), 2),
            "n": len(values)}  # fmt: skip


def render(results, command):
    m = results["machine"]
    imp = results["import"]
    load_rate = (
        f"{results['load_rate']:,.0f} movies/s" if results["load_rate"] else "(loaded earlier)"
    )
    lines = [
        "## Search",
        "",
        f"Command: `{command}`  ",
        f"Machine: {m['nproc']} cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"redis-py {m['redis_py']}, Redis Stack 7.4 (embedded), {results['date']}.  ",
        f"Catalogue: {results['movies']:,} synthetic movies (`generate_movies`, every field).",
        "",
        "| measure | result | baseline in the same run | ratio |",
        "|---|---|---|---|",
        f"| import rate (importer: upsert, suggestions, autocomplete) | "
        f"{imp['importer']:,.0f} movies/s | raw pipelined HSET of the same movie hashes: "
        f"{imp['raw']:,.0f}/s | {imp['importer'] / imp['raw']:.0%} |",
        f"| import rate, against the same writes | {imp['importer']:,.0f} movies/s | the "
        f"same movie + suggestion hashes and FT.SUGADDs as plain pipelined commands: "
        f"{imp['same']:,.0f}/s | {imp['importer'] / imp['same']:.0%} |",
        f"| Redis time per indexed movie HSET (INFO commandstats) | {imp['hset_usec']:.0f} µs"
        f" | one Redis thread indexes, so at most {1e6 / max(imp['hset_usec'], 1):,.0f} "
        f"movies/s | |",
        f"| bulk load of the whole catalogue | {load_rate} | | |",
        f"| search server time, typical queries with facets, cache bypassed | "
        f"p50 {results['search']['p50']} ms, p99 {results['search']['p99']} ms | bare FT.SEARCH "
        f"of the same query: p50 {results['bare']['p50']} ms, p99 {results['bare']['p99']} ms | "
        f"{results['search']['p50'] / max(results['bare']['p50'], 0.001):.1f}× at p50 |",
        f"| search API through Django (cache on, repeated queries) | p50 {results['api']['p50']} "
        f"ms, p99 {results['api']['p99']} ms | | |",
        f"| autocomplete (`suggest`) | p50 {results['suggest']['p50']} ms, p99 "
        f"{results['suggest']['p99']} ms | | |",
        f"| memory per movie (data + index + suggestions) | "
        f"{results['memory']['bytes_per_movie']:,} bytes | used_memory "
        f"{results['memory']['used_memory_mb']:,} MB, index {results['memory']['index_mb']} MB | |",
        "",
        "Import rounds (movies/s): "
        + "; ".join(
            f"{name} {', '.join(f'{v:,.0f}' for v in imp[name + '_rounds'])}"
            for name in ("raw", "same", "importer")
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def run_measures(args, load):
    from search import indexing, store

    indexing.ensure_indexes()
    before = int(store.client().info("memory")["used_memory"])
    results = {"movies": args.movies}
    if load:
        print(f"loading {args.movies:,} movies…", flush=True)
        results["load_rate"] = load_catalogue(args.movies)
        results["memory"] = measure_memory(args.movies, before)
    else:
        results["movies"] = store.movie_count()
        results["load_rate"] = None
        results["memory"] = measure_memory_by_parts(results["movies"])
    # Searches first: the import rounds write and delete tens of thousands of movies,
    # which sets off snapshots (save 60 10000) and index garbage collection, forked
    # processes that share the two cores with the searches for minutes afterwards.
    print("search…", flush=True)
    server_times, bare_times = measure_search(args.repeats)
    results["search"] = summarise(server_times)
    results["bare"] = summarise(bare_times)
    results["api"] = summarise(measure_api(args.repeats))
    results["suggest"] = summarise(measure_suggest(args.repeats))
    print("import rate vs raw HSET…", flush=True)
    results["import"] = measure_import(args.import_sample, args.rounds)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=100_000)
    parser.add_argument("--import-sample", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--maxmemory", default="8gb")
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
    command = "python bench/search_bench.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        if args.port:
            password = os.environ.get("REDIS_PASSWORD", "")
            if args.password_file:
                password = Path(args.password_file).read_text().strip()
            setup_django(args.port, tmp, password)
            results = run_measures(args, load=False)
        else:
            server = start_redis_and_django(tmp, args.maxmemory)
            try:
                results = run_measures(args, load=True)
            finally:
                server.stop(save=False)
    results |= {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(results, indent=2))
    if args.write:
        write_section(args.write, "search-bench", render(results, command))
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
