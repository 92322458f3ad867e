"""The search and insights benches on two revisions, alternately, in one run.

A refactor must not make the hot paths slower; on a shared, noisy machine only figures
taken side by side mean anything. This checks `--base` out into a temporary worktree,
runs each tree's own bench script in ABBA order (`--rounds` times), and reports the
median of each figure per tree and the ratio this tree / base.

Usage (from the project root):
    .venv/bin/python bench/compare_revisions.py --base 1173db9 --write docs/BENCHMARKS.md
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import write_section  # noqa: E402

# figure name -> (regex over the insights bench's output, group index); lower is better
# except where LOWER_IS_WORSE says so.
INSIGHTS_FIGURES = {
    "middleware p50, tracking on (ms)": (r"tracking on : p50 ([\d.]+)", 1),
    "middleware p99, tracking on (ms)": (r"tracking on : .*? p99 ([\d.]+)", 1),
    "middleware p50, tracking off (ms)": (r"tracking off: p50 ([\d.]+)", 1),
    "recording (page views/s)": (r"= ([\d,]+) page views/s recorded", 1),
    "dashboard 24h render p50 (ms)": (r"24h: first [\d.]+ ms \(baseline [\d.]+\); p50 ([\d.]+)", 1),
    "dashboard 30d render p50 (ms)": (r"30d: first [\d.]+ ms \(baseline [\d.]+\); p50 ([\d.]+)", 1),
}
LOWER_IS_WORSE = {"recording (page views/s)", "import rate (movies/s)"}


def search_figures(output: str) -> dict[str, float]:
    """The figures of one search bench run, from the JSON it prints last."""
    start = output.rindex("\n{\n") + 1
    results = json.loads(output[start : output.rindex("\n}") + 2])
    return {
        "search p50, cache bypassed (ms)": results["search"]["p50"],
        "search p99, cache bypassed (ms)": results["search"]["p99"],
        "bare FT.SEARCH p50 (ms)": results["bare"]["p50"],
        "search API p50, cached (ms)": results["api"]["p50"],
        "suggest p50 (ms)": results["suggest"]["p50"],
        "import rate (movies/s)": results["import"]["importer"],
    }


def insights_figures(output: str) -> dict[str, float]:
    found = {}
    for name, (pattern, group) in INSIGHTS_FIGURES.items():
        match = re.search(pattern, output)
        if match is None:
            raise SystemExit(f"insights bench output has no {name!r}:\n{output[-1500:]}")
        found[name] = float(match.group(group).replace(",", ""))
    return found


def run_bench(label: str, tree: Path, command: list[str]) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *command], cwd=tree, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{command} failed in {tree}:\n{done.stdout[-2000:]}{done.stderr}")
    print(f"  {label}: {' '.join(command)} ({time.perf_counter() - started:.0f} s)")
    return done.stdout


def base_worktree(revision: str, parent: Path) -> Path:
    tree = parent / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(tree), revision], cwd=ROOT, check=True
    )
    libssl = ROOT / "var" / "libssl1.1"
    if libssl.exists():  # the embedded Redis needs it; don't fetch it twice
        (tree / "var").mkdir(exist_ok=True)
        (tree / "var" / "libssl1.1").symlink_to(libssl)
    return tree


def compare(trees: dict[str, Path], benches: dict, rounds: int) -> dict:
    """{bench: {figure: {tree: [values]}}}, each tree run `rounds` times in ABBA order."""
    figures: dict = {name: {} for name in benches}
    order = list(trees)
    for round_index in range(rounds):
        for tree_name in order if round_index % 2 == 0 else order[::-1]:
            for bench, (command, parse) in benches.items():
                values = parse(run_bench(tree_name, trees[tree_name], command))
                for figure, value in values.items():
                    figures[bench].setdefault(figure, {}).setdefault(tree_name, []).append(value)
    return figures


def render(figures: dict, base: str, head: str, command: str, benches: dict) -> str:
    lines = [
        "## Refactor check: this revision against the previous one",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GB RAM, "
        f"{time.strftime('%Y-%m-%d')}. Base `{base}`, this tree `{head}`; medians of each "
        "tree's runs, taken alternately (ABBA) in one run.",
        "",
    ]
    for bench, rows in figures.items():
        lines += [
            f"`{' '.join(benches[bench][0])}`",
            "",
            "| figure | base | this tree | this ÷ base |",
            "|---|---|---|---|",
        ]
        for figure, by_tree in rows.items():
            old, new = statistics.median(by_tree["base"]), statistics.median(by_tree["head"])
            lines.append(f"| {figure} | {old:,.2f} | {new:,.2f} | {new / old:.2f} |")
        lines.append("")
    lines.append(
        "Lower is better except for rates ("
        + ", ".join(sorted(LOWER_IS_WORSE))
        + "), where higher is better."
    )
    return "\n".join(lines) + "\n"


def revision(tree: Path) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=2, help="runs per tree (ABBA order)")
    parser.add_argument("--movies", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--only", choices=["search", "insights"], help="run one bench only")
    parser.add_argument("--write", help="update this Markdown file's comparison section")
    args = parser.parse_args()
    benches = {
        "search": (
            ["bench/search_bench.py", "--movies", str(args.movies), "--import-sample",
             "5000", "--rounds", "3", "--repeats", "20"],
            search_figures,
        ),
        "insights": (
            ["bench/insights_bench.py", "--events", str(args.events), "--requests", "2000",
             "--seconds", "5", "--renders", "20"],
            insights_figures,
        ),
    }  # fmt: skip
    if args.only:
        benches = {args.only: benches[args.only]}
    command = "python bench/compare_revisions.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        base = base_worktree(args.base, Path(tmp))
        try:
            figures = compare({"base": base, "head": ROOT}, benches, args.rounds)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)
    text = render(figures, args.base, revision(ROOT), command, benches)
    print(text)
    if args.write:
        write_section(args.write, "compare-revisions", text)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
