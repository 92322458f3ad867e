"""Redis time of a search: what `search.results.search_uncached` costs Redis's one command
thread, against the bare FT.SEARCH of the same query (search_bench's `typical_queries`).

Redis time is read from the server's own SLOWLOG (every command logged, its duration in
µs), so client, network and Python time are left out. Per query, the median over the
repeats; then the ratio per query class and overall (sums over the queries).

Usage (from the project root), against a server that holds a catalogue:
    .venv/bin/python bench/search_redis_time.py --port 6391 --password-file PATH
or on its own throwaway server with N synthetic movies:
    .venv/bin/python bench/search_redis_time.py --movies 100000
"""

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import bare_ft_search, setup_django, start_redis_and_django  # noqa: E402

CLASSES = {"language": "filtered", "genre": "filtered", "country": "filtered",
           "year_min": "filtered", "sort": "sorted"}  # fmt: skip


def query_class(spec):
    for key, name in CLASSES.items():
        if key in spec:
            return name
    return "several words" if " " in spec["q"] else "one word"


def redis_us(client, function, *args):
    """(microseconds of Redis time of the commands `function(*args)` sends, its result)."""
    client.slowlog_reset()
    result = function(*args)
    entries = client.slowlog_get(10_000)
    return sum(e["duration"] for e in entries if b"SLOWLOG" not in _command(e)), result


def _command(entry):
    command = entry["command"]
    return command if isinstance(command, bytes) else str(command).encode()


def measure(repeats):
    from search_bench import query_dict, typical_queries

    from search import store
    from search.facets import filter_options
    from search.params import parse_params
    from search.queries.builder import build_query
    from search.queries.ft import FtQuery
    from search.queries.text import parse_text
    from search.results import search_uncached
    from search.values import RETURN_FIELDS

    client = store.client()
    before = client.config_get("slowlog-*")
    client.config_set("slowlog-log-slower-than", 0)
    client.config_set("slowlog-max-len", 10_000)
    options = filter_options()
    rows = []
    try:
        for spec in typical_queries():
            params = parse_params(query_dict(spec), options)
            service, bare = [], []
            for _ in range(repeats):
                spent, result = redis_us(client, search_uncached, params)
                service.append(spent)
                text_query = replace(parse_text(params.q), typos=result.typos_included)
                built = build_query(text_query, params.filters, params.ranges)
                page = FtQuery(built.query, built.params, limit=params.size,
                               return_fields=RETURN_FIELDS)  # fmt: skip
                bare.append(redis_us(client, bare_ft_search, page)[0])
            rows.append((spec, statistics.median(service), statistics.median(bare)))
    finally:
        for name, value in before.items():
            client.config_set(name, value)
    return rows


def report(rows):
    for spec, service, bare in rows:
        print(f"{spec!s:62s} service {service / 1000:6.2f} ms  bare {bare / 1000:6.2f} ms"
              f"  {service / max(bare, 1):5.2f}x")  # fmt: skip
    classes = {}
    for spec, service, bare in rows:
        totals = classes.setdefault(query_class(spec), [0, 0])
        totals[0] += service
        totals[1] += bare
    classes["overall"] = [sum(r[1] for r in rows), sum(r[2] for r in rows)]
    for name, (service, bare) in classes.items():
        print(f"{name:14s} service {service / 1000:6.2f} ms  bare {bare / 1000:6.2f} ms"
              f"  {service / max(bare, 1):5.2f}x")  # fmt: skip


def server_password(path):
    """The password in the file at `path`, else $REDIS_PASSWORD."""
    return Path(path).read_text().strip() if path else os.environ.get("REDIS_PASSWORD", "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--movies", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--port", type=int, help="a running Redis Stack with a catalogue")
    parser.add_argument("--password-file", help="with --port; default $REDIS_PASSWORD")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="search-redis-time-") as tmp:
        if args.port:
            setup_django(args.port, tmp, server_password(args.password_file))
            report(measure(args.repeats))
            return
        server = start_redis_and_django(tmp, "8gb")
        try:
            from search_bench import load_catalogue

            print(f"loading {args.movies:,} movies…", flush=True)
            load_catalogue(args.movies)
            report(measure(args.repeats))
        finally:
            server.stop(save=False)


if __name__ == "__main__":
    main()
