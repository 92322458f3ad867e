"""Failovers of the served app's Sentinel group, under gunicorn, with figures.

The harness of tests/reliability/test_failover_live.py (tests/reliability/failover.py):
the app as `manage.py serve` runs it, on an embedded group of its own (a primary, two
replicas, three sentinels on free loopback ports), one visitor after another searching
and opening a tracked page, and a writer of WAIT-confirmed writes (about 80 a second).
Each run fails the primary, by SIGKILL (then started again as a replica) or by SIGSTOP
(resumed once replaced), in turn. Per run: the seconds from the failure to the next
acknowledged write, the longest any answer took, the answers that were not 200, and the
acknowledged writes missing from the new primary, confirmed and unconfirmed. Then
--replica-runs times each replica in turn is frozen until the sentinels mark it down:
the longest answer and the answers that were not 200.

    .venv/bin/python bench/failover_live.py --runs 6
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOCAL_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="failovers, kill and freeze in turn")
    parser.add_argument(
        "--replica-runs", type=int, default=3, help="then each replica frozen in turn"
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    import pytest

    django.setup()
    from django.test import override_settings

    # This process only seeds and reads the stores; its own cache would be the default
    # server's, which need not exist.
    override_settings(CACHES={"default": {"BACKEND": LOCAL_CACHE}}).enable()
    from tests.reliability import failover

    print("run  failure  writes_paused_s  longest_answer_s  not_200/answers  "
          "lost_confirmed  lost_unconfirmed/acked  refused")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="failover-live-") as tmp,
        failover.served_group(Path(tmp), pytest.MonkeyPatch()) as app,
    ):
        for run in range(1, args.runs + 1):
            frozen = run % 2 == 0
            if frozen:
                outcome = failover.run_failover(app, fail=failover.freeze, recover=failover.resume)
            else:
                outcome = failover.run_failover(app, fail=failover.kill)
                app.redis.start()  # the killed node back, as a replica
            paused = "-" if outcome.writes_paused_s is None else f"{outcome.writes_paused_s:.2f}"
            print(
                f"{run:3}  {'SIGSTOP' if frozen else 'SIGKILL':7}  {paused:>15}  "
                f"{outcome.longest_answer_s:16.2f}  "
                f"{len(outcome.failed_answers):7}/{outcome.answers:<7}  "
                f"{len(outcome.lost_confirmed):14}  "
                f"{outcome.lost_unconfirmed:16}/{outcome.acked:<6}  {outcome.refused:7}",
                flush=True,
            )
        for _ in range(args.replica_runs):
            frozen = failover.freeze_each_replica(app)
            print(
                f"each replica frozen in turn until marked down: longest answer "
                f"{frozen.longest_answer_s:.2f} s, {len(frozen.failed_answers)} of "
                f"{frozen.answers} answers not 200",
                flush=True,
            )


if __name__ == "__main__":
    main()
