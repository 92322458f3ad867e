"""collect_metrics, its place in `manage.py serve`, and the compose service."""

import signal
import sys

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from config.redis_stores import get_redis
from config.settings import BASE_DIR


@pytest.mark.django_db
def test_collect_metrics_once_writes_every_system_series(capsys):
    call_command("collect_metrics", "--once")
    metrics = get_redis("metrics")
    for name in ("cpu_usage", "memory_usage", "redis_memory"):
        assert metrics.ts().get(f"system_metrics:{name}") is not None
    # The thresholds were published from the database to the copy the evaluator reads.
    assert get_redis("operations").hget("operations:configuration", "cpu_threshold") == "80"


@pytest.mark.django_db
def test_collect_metrics_refuses_a_bad_interval():
    with pytest.raises(CommandError, match="positive"):
        call_command("collect_metrics", "--once", "--interval", "-1")


def test_serve_starts_the_collector_beside_gunicorn(monkeypatch):
    from config.management.commands import serve

    started = []

    class FakePopen:
        def __init__(self, command, cwd=None):
            started.append((command, cwd))
            self.signals = []

        def poll(self):
            return None

        def send_signal(self, sig):
            self.signals.append(sig)

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(serve.subprocess, "Popen", FakePopen)
    command = serve.Command()
    children = command.start_background_processes()
    assert started == [([sys.executable, "manage.py", "collect_metrics"], BASE_DIR)]
    command.stop_children(children)  # what Ctrl-C runs
    assert children[0].signals == [signal.SIGTERM]


def test_compose_runs_the_collector_against_the_compose_redis():
    """Under compose the web service runs `manage.py serve`, which starts the collector
    beside gunicorn (the test above); no second collector service runs."""
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    assert "collector" not in compose["services"]
    web = compose["services"]["web"]
    assert "manage.py serve" in web["command"]
    assert web["environment"]["REDIS_HOST"] == "redis"
    assert web["environment"]["REDIS_EMBEDDED"] == "false"
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert web["restart"] == "unless-stopped"
