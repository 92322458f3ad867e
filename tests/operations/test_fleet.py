"""Several web hosts: one evaluator at a time (a Redis lock with an expiry), and each
host's CPU and memory in series of its own, against the real Redis Stack."""

import logging
import time

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.redis_stores import get_redis
from operations import alert_store, metrics_store
from operations.collector import Collector
from operations.fleet import evaluator_host, metrics_host
from operations.keys import EVALUATOR_LOCK_KEY
from operations.prometheus import render
from operations.reports import configuration, system_metrics
from tests.operations.conftest import FakeClock
from tests.operations.helpers import fixed_system

pytestmark = pytest.mark.django_db


def collector(host, clock, cpu=12.5, memory=40.0):
    return Collector(clock=clock, host=host, **fixed_system(cpu=cpu, memory=memory))


def expire_lease():
    """As if the lease's time had run out: it expires now, as Redis expires it."""
    operations = get_redis("operations")
    operations.pexpire(EVALUATOR_LOCK_KEY, 1)
    deadline = time.monotonic() + 10
    while operations.exists(EVALUATOR_LOCK_KEY) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_of_two_collectors_only_one_evaluates_the_alert_rules(clock):
    web1, web2 = collector("web-1", clock, cpu=99.0), collector("web-2", clock, cpu=99.0)
    results = []
    for _ in range(8):  # CPU at 99 % for 80 s: the rule fires after 60 s
        results += [(web1.run_pass(), "web-1"), (web2.run_pass(), "web-2")]
        clock.advance(10)
    assert {host for result, host in results if result.evaluated} == {"web-1"}
    assert all(not r.transitions for r, host in results if host == "web-2")
    fired = [t for r, _ in results for t in r.transitions]
    assert [t.rule for t in fired] == ["cpu_usage"]  # one alert, not one per host
    assert [a.type for a in alert_store.active_alerts()] == ["cpu_usage"]
    assert evaluator_host() == "web-1"


def test_after_the_holder_stops_the_other_collector_takes_over(clock):
    web1, web2 = collector("web-1", clock), collector("web-2", clock)
    assert web1.run_pass().evaluated
    assert not web2.run_pass().evaluated
    web1.stop()
    clock.advance(10)
    assert web2.run_pass().evaluated
    assert not web1.run_pass().evaluated  # a restarted collector waits its turn
    assert evaluator_host() == "web-2"
    assert configuration()["collector"]["evaluator_host"] == "web-2"


def test_the_log_says_which_host_evaluates(clock, caplog):
    web1, web2 = collector("web-1", clock), collector("web-2", clock)
    with caplog.at_level(logging.INFO, logger="operations.collector"):
        web1.run_pass()
        web2.run_pass()
        web2.run_pass()  # no news: nothing logged
        web1.stop()
        web2.run_pass()
    said = [r.getMessage() for r in caplog.records if "evaluate" in r.getMessage()]
    assert said == [
        "this collector (web-1) evaluates the alert rules",
        "the alert rules are evaluated by the collector of web-1",
        "this collector (web-2) evaluates the alert rules",
    ]


def test_a_holder_that_dies_lets_another_take_over_once_its_lease_expires(clock):
    web1, web2 = collector("web-1", clock), collector("web-2", clock)
    web1.run_pass()  # ... and is killed: nothing releases the lease
    operations = get_redis("operations")
    assert 0 < operations.pttl(EVALUATOR_LOCK_KEY) <= web1.lease_ms
    assert not web2.run_pass().evaluated
    expire_lease()
    clock.advance(10)
    assert web2.run_pass().evaluated
    assert not web1.run_pass().evaluated  # back from a freeze: its lease is gone


def test_a_holder_back_after_losing_its_lease_never_writes_behind_the_other(clock):
    ahead = FakeClock(clock() + 100)  # web-2's clock runs 100 s ahead of web-1's
    web1, web2 = collector("web-1", clock), collector("web-2", ahead)
    web1.run_pass()
    expire_lease()  # web-1 froze past its lease...
    web2.run_pass()  # ... web-2 took over, wrote, and stopped
    web2.stop()
    clock.advance(10)
    assert web1.run_pass().evaluated  # web-1 resumes: the lease is free again
    ts = get_redis("metrics").ts()
    assert ts.get("system_metrics:cpu_usage")[0] == int(ahead() * 1000)  # nothing behind it
    rules = metrics_store.series_info("system_metrics:cpu_usage")["rules"]
    assert len(rules) == 2  # an out-of-order sample would have deleted them (DB 4)


def test_the_holder_renews_its_lease_every_pass(clock):
    web1 = collector("web-1", clock)
    web1.run_pass()
    operations = get_redis("operations")
    operations.pexpire(EVALUATOR_LOCK_KEY, 1_000)  # nearly run out
    clock.advance(10)
    assert web1.run_pass().evaluated
    assert operations.pttl(EVALUATOR_LOCK_KEY) > 1_000  # renewed to a whole lease


def test_two_hosts_series_stay_apart(clock):
    web1, web2 = collector("web-1", clock, cpu=10.0), collector("web-2", clock, cpu=90.0)
    web1.run_pass()
    web2.run_pass()
    now_ms = int(clock() * 1000)
    ts = get_redis("metrics").ts()
    assert ts.get("host_metrics:web-1:cpu_usage") == (now_ms, 10.0)
    assert ts.get("host_metrics:web-2:cpu_usage") == (now_ms, 90.0)
    labels = metrics_store.series_info("host_metrics:web-2:memory_usage")["labels"]
    assert labels["host"] == "web-2" and labels["metric"] == "memory_usage"
    assert metrics_store.host_values(now_ms) == {
        "web-1": {"cpu_usage": 10.0, "memory_usage": 40.0},
        "web-2": {"cpu_usage": 90.0, "memory_usage": 40.0},
    }


def test_the_rules_judge_the_busiest_host_still_reporting(clock):
    web1, web2 = collector("web-1", clock, cpu=10.0), collector("web-2", clock, cpu=90.0)
    web2.run_pass()
    web2.stop()  # web-2 reports once, then stops
    clock.advance(1)
    assert web1.run_pass().values["cpu_usage"] == 90.0  # web-1 evaluates: web-2 is busiest
    clock.advance(web1.lease_ms / 1000 + 1)
    assert web1.run_pass().values["cpu_usage"] == 10.0  # web-2 fell silent a lease ago


def test_the_system_api_shows_each_hosts_series(clock):
    collector("web-1", clock, cpu=10.0).run_pass()
    collector("web-2", clock, cpu=90.0).run_pass()
    report = system_metrics("1h", now_ms=int(clock() * 1000))
    assert list(report["hosts"]) == ["web-1", "web-2"]
    assert report["hosts"]["web-2"]["cpu_usage"][-1] == 90.0
    assert report["series"]["cpu_usage"][-1] == 10.0  # web-1 evaluated before web-2 came


def test_with_several_hosts_an_alert_names_the_busiest(clock):
    web1, web2 = collector("web-1", clock, cpu=10.0), collector("web-2", clock, cpu=97.0)
    fired = []
    for _ in range(8):  # web-1 evaluates, judging web-2's CPU
        fired += web1.run_pass().transitions + web2.run_pass().transitions
        clock.advance(10)
    (alert,) = [t.alert for t in fired]
    assert alert.message.startswith("CPU usage is 97.0 % on web-2, at or above 80.0 %")
    assert evaluator_host() == "web-1"


def test_one_host_alerts_as_before(clock):
    web1 = collector("web-1", clock, cpu=97.0)
    fired = []
    for _ in range(8):
        fired += web1.run_pass().transitions
        clock.advance(10)
    (alert,) = [t.alert for t in fired]
    assert alert.message.startswith("CPU usage is 97.0 %, at or above 80.0 %")


def test_a_host_gone_before_the_range_is_not_shown(clock):
    collector("old-container", clock).run_pass()
    clock.advance(2 * 3600)  # two hours later, another host
    collector("web-1", clock).run_pass()
    report = system_metrics("1h", now_ms=int(clock() * 1000))
    assert list(report["hosts"]) == ["web-1"]


def test_one_host_keeps_todays_series(clock):
    result = Collector(clock=clock, **fixed_system(cpu=33.0)).run_pass()
    assert result.evaluated
    now_ms = int(clock() * 1000)
    assert get_redis("metrics").ts().get("system_metrics:cpu_usage") == (now_ms, 33.0)
    assert list(system_metrics("1h", now_ms=now_ms)["hosts"]) == [metrics_host()]


def test_metrics_host_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("METRICS_HOST", "web-7")
    assert metrics_host() == "web-7"


def test_metrics_host_refuses_a_name_unfit_for_labels(monkeypatch):
    monkeypatch.setenv("METRICS_HOST", "web 7,host=x")
    with pytest.raises(ImproperlyConfigured, match="METRICS_HOST"):
        metrics_host()


def test_without_metrics_host_the_machine_name_is_used(monkeypatch):
    monkeypatch.delenv("METRICS_HOST", raising=False)
    monkeypatch.setattr("socket.gethostname", lambda: "web 1.example")
    assert metrics_host() == "web-1.example"


def test_metrics_has_a_gauge_per_host(clock):
    collector("web-1", clock, cpu=10.0).run_pass()
    collector("web-2", clock, cpu=90.0).run_pass()
    text = render(clock).decode()
    assert 'movie_explorer_host_cpu_usage_percent{host="web-1"} 10.0' in text
    assert 'movie_explorer_host_cpu_usage_percent{host="web-2"} 90.0' in text
    assert 'movie_explorer_host_memory_usage_percent{host="web-2"} 40.0' in text
