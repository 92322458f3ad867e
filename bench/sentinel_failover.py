"""How long writes stop when the primary of a Sentinel group is killed, through the
product's own clients (`get_redis` for writes, `get_read_redis` for reads).

Starts the embedded replicated layout (config/embedded_group.py: a primary, --replicas
replicas, three sentinels) on free loopback ports in a temporary folder, then --runs
times: a writer thread RPUSHes numbered writes (about 200 a second), a reader thread
reads through the replicas, the primary is killed with SIGKILL, and once a write is
acknowledged again the killed node is started back (it returns as a replica). Reports
per run the seconds from the kill to the first acknowledged write, the longest pause
between two acknowledged writes, the acknowledged writes missing from the new primary,
and the writes (given up after the client's retry window) and reads that failed.

    .venv/bin/python bench/sentinel_failover.py --runs 5 --replicas 2
"""

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "bench:failover"


def setup(group):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="bench-" + "x" * 50,
        REDIS_PASSWORD=group.password,
        REDIS_SENTINEL_PASSWORD=group.sentinel_password,
        REDIS_SENTINEL_SERVICE=group.service,
        REDIS_SENTINELS=",".join(f"{h}:{p}" for h, p in group.sentinel_addresses()),
        DATABASE_URL="sqlite:///" + str(group.data_dir / "bench.sqlite3"),
    )
    import django

    django.setup()


def one_run(group):
    from config.embedded_group import process_state
    from config.redis_stores import get_read_redis, get_redis

    writer, reader = get_redis("analytics"), get_read_redis("analytics")
    writer.delete(KEY)
    acked, failed, stop = [], {"writes": 0, "reads": 0}, threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            try:
                writer.rpush(KEY, n)
                acked.append((time.monotonic(), n))
            except Exception:  # the window passed: the write is not acknowledged
                failed["writes"] += 1
            n += 1
            time.sleep(0.005)

    def read():
        while not stop.is_set():
            try:
                reader.llen(KEY)
            except Exception:
                failed["reads"] += 1
            time.sleep(0.005)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    # The node that says it is primary (a second failover may have moved it meanwhile).
    states = [(node, process_state(node)) for node in group.nodes()]
    primary = next(node for node, state in states if state and state.role == "primary")
    killed_at = time.monotonic()
    primary.kill()
    while not any(t > killed_at for t, _ in acked):
        time.sleep(0.01)
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    resumed = min(t for t, _ in acked if t > killed_at) - killed_at
    times = [t for t, _ in acked]
    longest = max(b - a for a, b in itertools.pairwise(times))
    kept = {int(v) for v in writer.lrange(KEY, 0, -1)}
    lost = sum(1 for _, n in acked if n not in kept)
    group.start()  # the killed node comes back as a replica of the new primary
    return resumed, longest, lost, len(acked), failed["writes"], failed["reads"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()

    from config.embedded_group import EmbeddedGroup, free_port_run
    from config.embedded_redis import random_password

    with tempfile.TemporaryDirectory(prefix="failover-") as tmp:
        group = EmbeddedGroup(
            port=free_port_run(args.replicas + 4),
            data_dir=Path(tmp),
            replicas=args.replicas,
            password=random_password(),
            sentinel_password=random_password(),
            maxmemory="256mb",
        )
        try:
            group.start()
            setup(group)
            print("run  resumed_s  longest_pause_s  acked_lost/acked  writes_failed  reads_failed")
            for run in range(1, args.runs + 1):
                resumed, longest, lost, acked, writes, reads = one_run(group)
                print(
                    f"{run:3}  {resumed:9.2f}  {longest:15.2f}  {lost:5}/{acked:<6}  "
                    f"{writes:13}  {reads:12}"
                )
        finally:
            group.stop(save=False)


if __name__ == "__main__":
    main()
