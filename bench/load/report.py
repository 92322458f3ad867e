"""The load test's Markdown: one run (the "## Load" section) and a capacity search (the
"## Load: capacity" section), from the result dicts bench/load_test.py makes."""

P99_GOAL_MS = 200
GUNICORN_MS_GOAL = 3.0  # CPU per request, averaged over the run
REDIS_MS_GOAL = 1.5  # Redis command time per request


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def fmt_ms(value):
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def ok(flag):
    return "**met**" if flag else "**NOT met**"


def hit_ratio(counts):
    """ "62 % (1,234 of 1,990)" from {"hit", "miss", "absent"} counts, or the server's silence."""
    hits, misses = counts.get("hit", 0), counts.get("miss", 0)
    if not hits + misses:
        return "not reported by the server"
    text = f"{hits / (hits + misses):.0%} ({hits:,} of {hits + misses:,})"
    if counts.get("absent"):
        text += f"; {counts['absent']:,} answers without the header"
    return text


def total_cache(cache):
    total = {}
    for counts in cache.values():
        for answer, n in counts.items():
            total[answer] = total.get(answer, 0) + n
    return total


def distribution_lines(r):
    q = r["queries"]
    top = ", ".join(f"`{query}` {count:,}" for query, count in r["top_queries"][:5])
    return [
        f"Queries as run: {q['draws']:,} drawn, **{q['distinct']:,} distinct**; "
        f"the log holds {q['log_size']:,} distinct queries from {r['plan']['sampled']:,} "
        f"sampled movies (titles' leading words and short titles, directors' and cast "
        f"names, one to three plot words, typos), drawn Zipf with s = {q['zipf_s']}; "
        f"**{q['one_off_share']:.1%} one-off queries** ({q['one_offs']:,}, each drawn once: "
        f"{q['one_offs_repeated']} repeated). The 10 commonest queries were "
        f"{q['top10_share']:.1%} of the draws, the 100 commonest {q['top100_share']:.1%} "
        f"(commonest: {top}). Each typed query sends its prefixes as the page's script "
        "does (suggestions per keystroke from 2 letters, the results fragment per pause of "
        f"200 ms, recorded after 1 s: {r['prefixes']['sent']:,} fragments, "
        f"{r['prefixes']['distinct']:,} distinct texts); Enter loads the full page. "
        "Each run starts "
        + (
            "with the result cache left by earlier runs."
            if r["plan"]["warm_cache"]
            else "with an empty result cache (a new cache generation)."
        )
    ]


def cost_lines(r):
    c = r["cost"]
    return [
        f"| gunicorn CPU per request (averaged over the run) | **{c['gunicorn_ms']:.2f} ms** | "
        f"≤ {GUNICORN_MS_GOAL} ms: {ok(c['gunicorn_ms'] <= GUNICORN_MS_GOAL)} |",
        f"| Redis command time per request | **{c['redis_ms']:.2f} ms** | "
        f"≤ {REDIS_MS_GOAL} ms: {ok(c['redis_ms'] <= REDIS_MS_GOAL)} |",
        f"| load generator (locust) CPU per request | {c['locust_ms']:.2f} ms | reported |",
        f"| cache hit ratio (`Server-Timing`), all answers | {hit_ratio(total_cache(r['cache']))}"
        " | reported |",
    ]


def single_report(r):
    agg = r["aggregated"]
    goals = r["goals"]
    cpu = r["cpu"]
    lines = [
        "## Load",
        "",
        *r["header"],
        f"Server: gunicorn `{r['server']}`, insights tracking on (background recorder), "
        f"metrics collector running; Redis Stack (embedded, AOF everysec) holding "
        f"{r['movies']:,} synthetic movies, {r['redis_memory']} used.  ",
        f"Load: {r['users']:,} users (locust, one process, spawn rate {r['spawn_rate']}/s), "
        f"{r['run_time']} including the ramp-up; visitors 96 % (reading 2–6 s between "
        "actions), staff polling the dashboards 2 %, crawlers 2 % (see "
        "`bench/load/locustfile.py`).  ",
        *distribution_lines(r),
        "",
        "| result | value | goal |",
        "|---|---|---|",
        f"| requests | {int(agg['Request Count']):,} | |",
        f"| failures | {int(agg['Failure Count']):,} | 0: {ok(goals['errors'])} |",
        f"| throughput | **{number(agg['Requests/s']):,.1f} requests/s** | reported |",
        f"| latency p50 / p95 / p99 | {fmt_ms(number(agg['50%']))} / {fmt_ms(number(agg['95%']))}"
        f" / **{fmt_ms(number(agg['99%']))}** | p99 ≤ {P99_GOAL_MS} ms: {ok(goals['p99'])} |",
        f"| page views sent / recorded by insights | {r['sent_total']:,} / {r['recorded_total']:,}"
        f" (raw series: {r['series_total']:,}) | equal: {ok(goals['page_views'])} |",
        *cost_lines(r),
        "",
        "CPU during the run (cores busy, out of "
        f"{r['machine']['nproc']}): machine {cpu['machine']:.2f}; "
        + ", ".join(f"{name} {value:.2f}" for name, value in sorted(cpu["groups"].items()))
        + f". Locust's own process peaked at {cpu['locust_peak']:.0%} of one core"
        + (
            " — **locust was the bottleneck**"
            if cpu["locust_peak"] > 0.9
            else " (not the bottleneck: it never saturated its core)"
        )
        + ". The per-request figures divide the run's CPU seconds and Redis command time"
        " (INFO commandstats, every client: gunicorn, the recorders, the collector) by its "
        "requests; the server does not split them per endpoint.",
        "",
        "| endpoint | requests | failures | p50 | p95 | p99 | max | cache hits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        if row["Name"] == "Aggregated":
            continue
        lines.append(
            f"| `{row['Type']} {row['Name']}` | {int(row['Request Count']):,} | "
            f"{int(row['Failure Count']):,} | {fmt_ms(number(row['50%']))} | "
            f"{fmt_ms(number(row['95%']))} | {fmt_ms(number(row['99%']))} | "
            f"{fmt_ms(number(row['Max Response Time']))} | "
            f"{hit_ratio(r['cache'].get(row['Name'], {}))} |"
        )
    lines += ["", "| page (insights URL name) | page views sent | recorded |", "|---|---|---|"]
    for page in sorted(set(r["sent"]) | set(r["recorded"])):
        lines.append(f"| {page} | {r['sent'].get(page, 0):,} | {r['recorded'].get(page, 0):,} |")
    if r["unanswered"]:
        lines.append(f"\nPage requests without an answer when locust stopped: {r['unanswered']}.")
    if r["failures"]:
        lines += ["", "Failures:", ""]
        lines += [f"- {f}" for f in r["failures"][:10]]
    lines += ["", f"Redis SLOWLOG entries over 10 ms during the run: {r['slowlog']}.  "]
    lines.append(redis_line(r))
    if r.get("probes"):
        lines += probe_lines(r["probes"])
    lines.append("")
    return "\n".join(lines)


def probe_lines(probes):
    """Each endpoint class measured alone."""
    lines = [
        "",
        "Cost per endpoint class, each sent alone after the run (the visitors' queries "
        "without their pauses, from the cache the run left; `--cost-per-class`):",
        "",
        "| endpoint class | requests | requests/s | p50 | p99 | gunicorn CPU per request "
        "| Redis per request | cache hits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, p in probes.items():
        agg, cost = p["aggregated"], p["cost"]
        lines.append(
            f"| {name} | {int(agg['Request Count']):,} | {number(agg['Requests/s']):,.1f} | "
            f"{fmt_ms(number(agg['50%']))} | {fmt_ms(number(agg['99%']))} | "
            f"{cost['gunicorn_ms']:.2f} ms | {cost['redis_ms']:.2f} ms | "
            f"{hit_ratio(total_cache(p['cache']))} |"
        )
    return lines


def redis_line(r):
    busy = sum(seconds for _, seconds, _ in r["redis_time"])
    return (
        f"Redis main thread busy with commands: {busy:,.0f} s; the dearest: "
        + "; ".join(
            f"`{name}` {seconds:,.0f} s ({calls:,} calls, "
            f"{seconds / max(calls, 1) * 1000:.1f} ms each)"
            for name, seconds, calls in r["redis_time"][:5]
        )
        + "."
    )


def step_passes(r):
    return r["goals"]["errors"] and r["goals"]["p99"]


def capacity_report(steps, header, stopped_early):
    first = steps[0]
    passing = [s["users"] for s in steps if step_passes(s)]
    lines = [
        "## Load: capacity",
        "",
        *header,
        f"Server: gunicorn `{first['server']}`, as in the single run. Each step: "
        f"locust ramps up to the user count ({first['spawn_rate']}/s), then runs "
        f"{first['step_time']}; the figures cover that time only (locust `--reset-stats`, "
        "CPU and Redis command time from the end of the ramp-up). The queries of the "
        "largest step:  ",
        *distribution_lines(max(steps, key=lambda s: s["queries"]["draws"])),
        "",
        "| users | requests/s | p50 | p95 | p99 | failures | CPU machine / gunicorn / Redis "
        "/ locust (cores) | gunicorn CPU per request | Redis per request | cache hits | "
        "page views sent / recorded |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        agg, cpu, cost, groups = s["aggregated"], s["cpu"], s["cost"], s["cpu"]["groups"]
        lines.append(
            f"| {s['users']:,} | {number(agg['Requests/s']):,.1f} | {fmt_ms(number(agg['50%']))} "
            f"| {fmt_ms(number(agg['95%']))} | **{fmt_ms(number(agg['99%']))}** | "
            f"{int(agg['Failure Count']):,} | {cpu['machine']:.2f} / "
            f"{groups.get('gunicorn', 0):.2f} / {groups.get('redis', 0):.2f} / "
            f"{groups.get('locust', 0):.2f} | {cost['gunicorn_ms']:.2f} ms | "
            f"{cost['redis_ms']:.2f} ms | {hit_ratio(total_cache(s['cache']))} | "
            f"{s['sent_total']:,} / {s['recorded_total']:,} |"
        )
    largest = max(passing) if passing else None
    lines += [
        "",
        (
            f"**Largest user count with p99 ≤ {P99_GOAL_MS} ms and 0 failures: {largest:,}.**"
            if largest
            else f"**No user count tried held p99 ≤ {P99_GOAL_MS} ms with 0 failures.**"
        )
        + (" The search stopped after two counts in a row missed." if stopped_early else ""),
        "",
    ]
    return "\n".join(lines)
