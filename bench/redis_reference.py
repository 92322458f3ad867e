"""The physical reference: redis-benchmark's PING and SET rates on this machine.

Starts a throwaway embedded Redis Stack (the project's redis.conf, so AOF everysec as in
production, modules loaded) on a free port and runs the redis-benchmark shipped with the
same Redis Stack build several times; reports the median of each figure, with the
spread. Every other benchmark's figures read against these: a request that costs one
round trip cannot beat the PING rate of the same machine.

    .venv/bin/python bench/redis_reference.py --runs 5 --write docs/BENCHMARKS.md
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import write_section  # noqa: E402

# "SET: 81037.28 requests per second, p50=0.311 msec"
LINE = re.compile(
    r"^\s*(?P<test>[A-Z_]+):\s+(?P<rps>[\d.]+) requests per second(?:, p50=(?P<p50>[\d.]+) msec)?"
)


def benchmark_binary():
    """redis-benchmark of the embedded Redis Stack package (found from the package, not
    a fixed path), and the library folder it needs (libssl 1.1 where the system lacks it)."""
    from config.embedded_redis import ensure_libssl, server_dir

    binary = server_dir() / "bin" / "redis-benchmark"
    if not binary.exists():
        raise SystemExit(f"no redis-benchmark in {binary.parent}")
    return binary, ensure_libssl()


def run_once(binary, lib_dir, port, password, requests, clients, pipeline):
    env = dict(os.environ)
    if lib_dir:
        env["LD_LIBRARY_PATH"] = str(lib_dir)
    # redis-benchmark reads a password only from -a; it is the throwaway server's random one.
    command = [str(binary), "-p", str(port), "-a", password, "-t", "ping,set", "-q",
               "-n", str(requests), "-c", str(clients), "-P", str(pipeline)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    figures = {}
    # -q rewrites its progress line with \r; the final figure follows the last \r
    for line in done.stdout.replace("\r", "\n").splitlines():
        match = LINE.match(line)
        if match:
            figures[match["test"]] = (float(match["rps"]), float(match["p50"] or "nan"))
    return figures


def measure(runs, requests, clients, pipeline):
    from config.embedded_redis import EmbeddedRedis, free_port

    binary, lib_dir = benchmark_binary()
    with tempfile.TemporaryDirectory(prefix="redis-reference-") as tmp:
        server = EmbeddedRedis(port=free_port(), data_dir=Path(tmp))
        server.start()
        try:
            version = server.client().info("server")["redis_version"]
            rounds = []
            for _ in range(runs):
                figures = run_once(
                    binary, lib_dir, server.port, server.password, requests, clients, pipeline
                )
                rounds.append(figures)
                time.sleep(0.5)
        finally:
            server.stop(save=False)
    return version, rounds


def summarise(rounds):
    tests = sorted({test for figures in rounds for test in figures})
    rows = {}
    for test in tests:
        rates = [figures[test][0] for figures in rounds if test in figures]
        p50s = [figures[test][1] for figures in rounds if test in figures]
        rows[test] = {
            "median": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "p50_ms": statistics.median(p50s),
            "runs": len(rates),
        }
    return rows


def render(version, rows, command, requests, clients, pipeline):
    from run_all import header_lines

    lines = [
        "## Physical reference: redis-benchmark",
        "",
        *header_lines(command),
        f"Server: Redis {version} (embedded Redis Stack, the project's redis.conf: AOF "
        f"everysec), redis-benchmark of the same build, {requests:,} requests per test, "
        f"{clients} clients, pipeline {pipeline}, same machine (loopback).",
        "",
        "| test | median rate | range over the runs | p50 latency (median) | runs |",
        "|---|---|---|---|---|",
    ]
    for test, row in rows.items():
        lines.append(
            f"| {test} | **{row['median']:,.0f} requests/s** | {row['min']:,.0f}–"
            f"{row['max']:,.0f} | {row['p50_ms']:.3f} ms | {row['runs']} |"
        )
    lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pipeline", type=int, default=1)
    parser.add_argument("--write", help="put the figures in this Markdown file's section")
    args = parser.parse_args()
    command = ".venv/bin/python bench/redis_reference.py " + " ".join(sys.argv[1:])
    version, rounds = measure(args.runs, args.requests, args.clients, args.pipeline)
    rows = summarise(rounds)
    text = render(version, rows, command, args.requests, args.clients, args.pipeline)
    print(text)
    if args.write:
        write_section(args.write, "redis-reference", text)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
