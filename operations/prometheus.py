"""`/metrics` in the Prometheus text format, built with prometheus_client.

The figures live in Redis (shared by every gunicorn worker and the collector), so a
custom collector reads them at scrape time instead of keeping per-process counters.
"""

import time

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from operations import alert_store, metrics_store, redis_server
from operations.configuration import current_configuration
from operations.fleet import lease_seconds
from operations.rules import RULES
from operations.series import HOST_METRICS
from telemetry import batcher
from telemetry.units import MINUTE_MS

PREFIX = "movie_explorer"


class StoreCollector:
    def __init__(self, clock=time.time):
        self.clock = clock

    def collect(self):
        yield from self._process_counters()
        up = GaugeMetricFamily(f"{PREFIX}_redis_up", "1 when the metrics could be read")
        try:
            families = list(self._families())
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _process_counters(self):
        """This process's own losses, kept in memory: they are what could not be
        written to Redis, so they cannot live there."""
        lost = batcher.losses()
        yield CounterMetricFamily(
            f"{PREFIX}_analytics_hits_lost",
            "Page views and searches this process could not record (Redis unreachable or "
            "refusing writes, queue full)",
            value=lost.get("analytics", 0),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_request_metrics_dropped",
            "Request figures this process could not record (Redis unreachable or refusing "
            "writes, queue full)",
            value=lost.get("request_metrics", 0),
        )

    def _families(self):
        totals = metrics_store.request_totals()
        yield CounterMetricFamily(f"{PREFIX}_http_requests", "Requests served (static "
                                  "files excluded)", value=totals["requests"])  # fmt: skip
        yield CounterMetricFamily(f"{PREFIX}_http_server_errors", "Responses with a 5xx status",
                                  value=totals["errors"])  # fmt: skip
        yield SummaryMetricFamily(f"{PREFIX}_http_request_duration_seconds",
                                  "Time spent serving requests", count_value=totals["requests"],
                                  sum_value=totals["duration_seconds_sum"])  # fmt: skip

        latency = GaugeMetricFamily(
            f"{PREFIX}_http_request_latency_seconds",
            "Request latency quantiles over the last complete minute (t-digest)",
            labels=["quantile"],
        )
        now_ms = int(self.clock() * 1000)
        previous = metrics_store.minute_of(now_ms) - MINUTE_MS
        figures = metrics_store.digest_quantiles([previous]).get(previous)
        if figures:
            for name, quantile in metrics_store.QUANTILES:
                latency.add_metric([str(quantile)], figures[name] / 1000)
        yield latency

        active = {a.type: a for a in alert_store.active_alerts()}
        firing = GaugeMetricFamily(f"{PREFIX}_alert_active", "1 while the rule's alert is active",
                                   labels=["rule", "severity"])  # fmt: skip
        acknowledged = GaugeMetricFamily(f"{PREFIX}_alert_acknowledged",
                                         "1 while the rule's active alert is acknowledged",
                                         labels=["rule"])  # fmt: skip
        threshold = GaugeMetricFamily(f"{PREFIX}_alert_threshold", "The rule's threshold",
                                      labels=["rule", "unit"])  # fmt: skip
        for name, config in current_configuration().items():
            alert = active.get(name)
            firing.add_metric([name, config.severity], 1 if alert else 0)
            acknowledged.add_metric([name], 1 if alert and alert.acknowledged_by else 0)
            threshold.add_metric([name, RULES[name].unit], config.threshold)
        yield firing
        yield acknowledged
        yield threshold

        figures = redis_server.read_figures()
        yield GaugeMetricFamily(f"{PREFIX}_redis_memory_used_bytes", "Redis used_memory",
                                value=figures.used_memory)  # fmt: skip
        yield GaugeMetricFamily(f"{PREFIX}_redis_memory_max_bytes", "Redis maxmemory (0: none)",
                                value=figures.maxmemory)  # fmt: skip
        yield GaugeMetricFamily(f"{PREFIX}_redis_connected_clients", "Redis connected clients",
                                value=figures.connected_clients)  # fmt: skip

        latest = metrics_store.latest_values()
        for name, help_text in (("cpu_usage", "CPU usage, percent (collector)"),
                                ("memory_usage", "Memory usage, percent (collector)")):  # fmt: skip
            if latest.get(name):
                yield GaugeMetricFamily(f"{PREFIX}_system_{name}_percent", help_text,
                                        value=latest[name][1])  # fmt: skip
        yield from self._hosts(now_ms)

    def _hosts(self, now_ms):
        """Each web host's own figures; the system gauges above are the busiest host's."""
        hosts = metrics_store.host_values(now_ms - int(lease_seconds() * 1000))
        for name in HOST_METRICS:
            label = name.replace("_", " ").capitalize()
            family = GaugeMetricFamily(f"{PREFIX}_host_{name}_percent",
                                       f"{label}, percent, of each web host (its collector)",
                                       labels=["host"])  # fmt: skip
            for host, values in sorted(hosts.items()):
                if name in values:
                    family.add_metric([host], values[name])
            yield family


def render(clock=time.time):
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(clock))
    return generate_latest(registry)
