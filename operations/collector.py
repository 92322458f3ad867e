"""One collector pass: sample, write, evaluate (the `collect_metrics` command only loops).

System figures come from psutil; Redis figures from INFO; application figures from the
series and t-digests the request-metrics middleware writes; the thresholds from their
published copy, which the collector republishes from the model at start and every 10
minutes. Every source is injectable so tests can drive values and time.

Every web host runs a collector and writes its own CPU and memory; the one holding the
evaluator lease (operations.fleet) also writes the shared figures and evaluates the
rules, against the highest CPU and memory of the hosts still reporting.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from operations import alert_store, metrics_store, redis_server
from operations.alert_types import Transition
from operations.alerts import Evaluator
from operations.configuration import (
    publish_thresholds,
    read_configuration,
    routine_problems,
)
from operations.fleet import EvaluatorLease, evaluator_host, lease_seconds, metrics_host
from operations.rules import RuleConfig
from operations.series import HOST_METRICS, REQUEST_BUCKET_MS
from telemetry.units import MINUTE_MS

logger = logging.getLogger("operations.collector")

ERROR_RATE_WINDOW_MS = MINUTE_MS
# The thresholds are republished this often even when the copy looks right: a save whose
# publish failed (Redis unreachable from the web process only) still applies.
REPUBLISH_INTERVAL_MS = 10 * MINUTE_MS
LATENCY_MINUTES = 3  # the current minute and the two before it are (re)written each pass


@dataclass(frozen=True)
class PassResult:
    values: dict[str, float | None]  # what the rules were evaluated against
    system: dict[str, float | None]  # the system and Redis figures written
    transitions: list[Transition]
    duration_ms: float
    evaluated: bool = True  # False: another host's collector holds the evaluator lease


class Collector:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        cpu_percent: Callable | None = None,
        virtual_memory: Callable | None = None,
        evaluator: Evaluator | None = None,
        host: str | None = None,
        interval_seconds: float | None = None,
    ):
        self.clock = clock
        self.host = host or metrics_host()
        self.lease_ms = int(lease_seconds(interval_seconds) * 1000)
        self.lease = EvaluatorLease(self.host, self.lease_ms / 1000)
        self.evaluating = None  # None until the first pass finds out
        self.cpu_percent = cpu_percent or psutil.cpu_percent
        self.virtual_memory = virtual_memory or psutil.virtual_memory
        self.evaluator = evaluator or Evaluator(clock=clock)
        self.ready = False
        self.previous_keyspace = None
        self.previous_commands = None  # (ms, total_commands_processed) of the last pass
        self.last_written_ms = None  # the timestamp of the last system sample written
        self.host_written_ms = None  # the same for this host's own series
        self.published_ms = None  # when this collector last published the thresholds
        self.cpu_percent(interval=None)  # psutil's first reading is meaningless: prime it

    def reset(self) -> None:
        """After a Redis failure: check series and configuration again on the next pass
        (a restarted server may have come back empty)."""
        self.ready = False
        self.previous_keyspace = None
        self.previous_commands = None
        self.evaluating = False  # the lease may have passed to another host meanwhile

    def stop(self) -> None:
        """Give the evaluator lease up, so another host's collector takes over at its
        next pass."""
        self.lease.release()
        self.evaluating = False

    def prepare(self) -> None:
        # Restores lost rules, drops obsolete ones.
        metrics_store.ensure_series(check_rules=True, host=self.host)
        # The model is the source: publish it before the first evaluation, so a flushed
        # store, or an edit saved while Redis was down, gets its copy.
        self.published_ms = None
        self.ready = True

    def thresholds(self, now_ms: int) -> dict[str, RuleConfig]:
        """The thresholds to evaluate: the published copy, republished from the model at
        start, every REPUBLISH_INTERVAL_MS, and whenever the copy is unusable."""
        since = None if self.published_ms is None else now_ms - self.published_ms
        due = since is None or not 0 <= since < REPUBLISH_INTERVAL_MS  # the clock may go back
        problems = (configuration := read_configuration()).problems
        if problems:  # e.g. a hand-edited hash, the legacy layout
            logger.log(logging.INFO if routine_problems(problems) else logging.WARNING,
                       "operations:configuration rewritten from the admin's thresholds: %s",
                       "; ".join(problems))  # fmt: skip
        if not (problems or due):
            return configuration.rules
        self.published_ms = now_ms
        return {config.rule: config for config in publish_thresholds()}

    def run_pass(self) -> PassResult:
        started = time.perf_counter()
        if not self.ready:
            self.prepare()
        else:  # one EXISTS round trip; recreates a flushed series
            metrics_store.ensure_series(host=self.host)
        now_ms = int(self.clock() * 1000)
        own = self.sample_system()
        if self.host_written_ms is None or now_ms > self.host_written_ms:
            metrics_store.write_host_samples(self.host, now_ms, own)
            self.host_written_ms = now_ms
        if not self.take_lease():
            duration_ms = (time.perf_counter() - started) * 1000
            return PassResult({}, own, [], duration_ms, evaluated=False)
        configs = self.thresholds(now_ms)
        system, busiest = self.fleet_figures(now_ms, own)
        system.update(self.sample_redis(now_ms))
        error_rate = self.error_rate(now_ms)
        latency = self.latency(now_ms)
        if self.last_written_ms is not None and now_ms <= self.last_written_ms:
            # The clock went back or stood still: an out-of-order sample would delete the
            # series' compaction rules (telemetry.timeseries), so only the app-compacted
            # latency is written.
            metrics_store.write_samples(now_ms, {}, None, latency)
        else:
            metrics_store.write_samples(now_ms, system, error_rate, latency)
            self.last_written_ms = now_ms
        values = {
            "cpu_usage": system["cpu_usage"],
            "memory_usage": system["memory_usage"],
            "redis_memory": system["redis_memory"],
            "error_rate": error_rate,
            "response_time": self.completed_minute_p95(now_ms, latency),
        }
        transitions = self.evaluator.evaluate(values, configs, hosts=busiest)
        alert_store.trim_alert_history(now_ms)  # the retention, also when no alert comes
        duration_ms = (time.perf_counter() - started) * 1000
        alert_store.record_collector_pass(now_ms, duration_ms, len(transitions))
        return PassResult(values, system, transitions, duration_ms)

    def take_lease(self) -> bool:
        """Renew or take the evaluator lease; on taking it over, start from what the
        previous evaluator wrote (its samples may be later than this host's clock)."""
        if not self.lease.hold():
            if self.evaluating is not False:
                logger.info("the alert rules are evaluated by the collector of %s",
                            evaluator_host() or "another host")  # fmt: skip
            self.evaluating = False
            return False
        if self.lease.taken or not self.evaluating:  # another host may have written since
            logger.info("this collector (%s) evaluates the alert rules", self.host)
            self.evaluating = True
            self.previous_keyspace = self.previous_commands = None
            written = [sample[0] for sample in metrics_store.latest_values().values() if sample]
            self.last_written_ms = max([*written, self.last_written_ms or 0]) or None
        return True

    def fleet_figures(
        self, now_ms: int, own: dict[str, float]
    ) -> tuple[dict[str, float], dict[str, str]]:
        """The highest CPU and memory of the hosts that reported within a lease: what
        the rules judge, so a busy host alerts whichever host evaluates. With several
        hosts, also which host each figure is from ({metric: host})."""
        hosts = metrics_store.host_values(now_ms - self.lease_ms)
        hosts[self.host] = own
        busiest = {
            name: max((h for h in hosts if name in hosts[h]), key=lambda h: hosts[h][name])
            for name in HOST_METRICS
        }
        figures = {name: hosts[host][name] for name, host in busiest.items()}
        return figures, (busiest if len(hosts) > 1 else {})

    def sample_system(self) -> dict[str, float]:
        return {
            "cpu_usage": float(self.cpu_percent(interval=None)),
            "memory_usage": float(self.virtual_memory().percent),
        }

    def sample_redis(self, now_ms: int) -> dict[str, float | None]:
        figures = redis_server.read_figures()
        # With no maxmemory the server may grow to the machine's RAM: measure against it.
        limit = figures.maxmemory or self.virtual_memory().total
        hits, misses = figures.keyspace_hits, figures.keyspace_misses
        if self.previous_keyspace is not None:
            # The ratio since the previous pass, not since the server started.
            hits -= self.previous_keyspace[0]
            misses -= self.previous_keyspace[1]
        self.previous_keyspace = (figures.keyspace_hits, figures.keyspace_misses)
        lookups = hits + misses
        return {
            "redis_memory": figures.used_memory / limit * 100 if limit else None,
            "redis_ops_per_sec": self.ops_per_sec(now_ms, figures.total_commands_processed),
            "redis_clients": float(figures.connected_clients),
            "cache_hit_ratio": hits / lookups * 100 if lookups > 0 else None,
        }

    def ops_per_sec(self, now_ms: int, total_commands: int) -> float | None:
        """Commands per second since the previous pass: the one figure of Redis ops/s the
        dashboard shows. None on the first pass, and when the counter went back (the
        server restarted) or the clock did not move."""
        previous, self.previous_commands = self.previous_commands, (now_ms, total_commands)
        if previous is None or now_ms <= previous[0] or total_commands < previous[1]:
            return None
        return (total_commands - previous[1]) / ((now_ms - previous[0]) / 1000)

    def error_rate(self, now_ms: int) -> float:
        """5xx responses as a percentage of requests over the last minute (0 when idle)."""
        since = now_ms - ERROR_RATE_WINDOW_MS
        since -= since % REQUEST_BUCKET_MS
        requests, errors = metrics_store.request_counts_since(since)
        return errors / requests * 100 if requests else 0.0

    def latency(self, now_ms: int) -> dict[int, dict]:
        current = metrics_store.minute_of(now_ms)
        minutes = [current - i * MINUTE_MS for i in range(LATENCY_MINUTES)]
        return metrics_store.digest_quantiles(minutes)

    @staticmethod
    def completed_minute_p95(now_ms: int, latency: dict[int, dict]) -> float | None:
        """The alert reads the last complete minute: a minute a few seconds old holds too
        few requests to judge."""
        previous = metrics_store.minute_of(now_ms) - MINUTE_MS
        figures = latency.get(previous)
        return figures["p95"] if figures else None
