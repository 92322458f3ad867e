"""`manage.py collect_metrics`: the metrics collector loop (`--once` for one pass).

Survives Redis restarts: a failed pass is logged once, retried every interval, and the
recovery is logged once too. SIGTERM and Ctrl-C stop it between passes.
"""

import logging
import signal
import threading
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from operations.collector import Collector

logger = logging.getLogger("operations.collector")


class Command(BaseCommand):
    help = "Sample system, Redis and request metrics every interval and evaluate alert rules."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument(
            "--interval", type=float, default=None,
            help="seconds between passes (default: OPERATIONS_COLLECT_INTERVAL)",
        )  # fmt: skip

    def handle(self, *args, **options):
        interval = options["interval"] or settings.OPERATIONS_COLLECT_INTERVAL
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds")
        self.stop_event = threading.Event()
        self.failing = False
        collector = self.build_collector(interval)
        if options["once"]:
            time.sleep(0.2)  # lets psutil measure CPU over a meaningful interval
            passed = self.tick(collector)
            collector.stop()  # another host's collector may evaluate at once
            if not passed:
                raise CommandError(
                    "the pass failed: Redis or the database is unavailable (see the log)"
                )
            return
        self.install_signal_handlers()
        self.stdout.write(f"Collecting metrics every {interval:g} s (Ctrl-C stops)")
        self.loop(collector, interval)

    def build_collector(self, interval=None):
        return Collector(interval_seconds=interval)

    def install_signal_handlers(self):
        signal.signal(signal.SIGTERM, lambda *_: self.stop_event.set())

    def loop(self, collector, interval, max_passes=None):
        passes = 0
        try:
            while not self.stop_event.is_set():
                started = time.monotonic()
                self.tick(collector)
                passes += 1
                if max_passes is not None and passes >= max_passes:
                    break
                self.stop_event.wait(max(0.0, interval - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
        finally:
            collector.stop()  # another host's collector may evaluate at once
        self.stdout.write("Collector stopped.")

    def tick(self, collector):
        """One pass that never raises for a Redis failure; True when it succeeded."""
        try:
            result = collector.run_pass()
        except (redis.RedisError, DatabaseError) as exc:
            if not self.failing:  # log once per outage, not once per pass
                logger.error("metrics collection failed, retrying every pass: %s: %s",
                             type(exc).__name__, exc)  # fmt: skip
            self.failing = True
            collector.reset()
            return False
        if self.failing:
            logger.warning("metrics collection recovered")
            self.failing = False
        for transition in result.transitions:
            self.stdout.write(f"{transition.action}: {transition.rule}: {transition.alert.message}")
        return True
