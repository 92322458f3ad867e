"""`manage.py serve`'s gunicorn command line, which the benches and live tests run too, and
its wait: the embedded group kept running meanwhile."""

import io
import re
import subprocess

import pytest
from django.core.management.base import CommandError

from config.embedded_group import EmbeddedGroup
from config.embedded_redis import EmbeddedRedis
from config.management.commands import serve


def test_serve_options_are_the_command_line_defaults_with_the_overrides(monkeypatch):
    monkeypatch.delenv("WEB_WORKER_CLASS", raising=False)
    options = serve.serve_options(port=8123)
    assert options["port"] == 8123
    assert options["worker_class"] == serve.DEFAULT_WORKER_CLASS


def test_gunicorn_command_loads_the_projects_gunicorn_hooks():
    command = serve.gunicorn_command(serve.serve_options(worker_class="gevent"))
    assert command[command.index("--config") + 1] == "python:config.gunicorn"


def test_gunicorn_command_writes_the_access_log_where_asked():
    command = serve.gunicorn_command(serve.serve_options(), access_log="/tmp/access.log")
    assert command[command.index("--access-logfile") + 1] == "/tmp/access.log"


def test_gunicorn_command_gives_gevent_its_slots_and_connections():
    options = serve.serve_options(worker_class="gevent", threads=3, worker_connections=50)
    command = serve.gunicorn_command(options)
    assert command[command.index("--threads") + 1] == "3"
    assert command[command.index("--worker-connections") + 1] == "50"


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("PORT", "eighty", "'eighty' is not a whole number from 0 (the option or PORT)"),
        ("WEB_WORKERS", "0", "'0' is not a whole number from 1 (the option or WEB_WORKERS)"),
        ("WEB_KEEPALIVE", "5s", "'5s' is not a whole number from 0 (the option or WEB_KEEPALIVE)"),
        ("WEB_WORKER_CLASS", "sync", "'sync' is not one of gevent, gthread, asgi"),
    ],
)
def test_a_bad_setting_in_the_environment_is_refused_with_the_reason(
    monkeypatch, variable, value, reason
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(CommandError, match=re.escape(reason)):
        serve.serve_options()


def test_settings_from_the_environment_are_read_as_numbers(monkeypatch):
    monkeypatch.setenv("PORT", "8124")
    monkeypatch.setenv("WEB_THREADS", "4")
    options = serve.serve_options()
    assert (options["port"], options["threads"]) == (8124, 4)


class StillServing:
    """gunicorn as serve waits for it: running for `rounds` waits, then exited 0."""

    def __init__(self, rounds):
        self.rounds = rounds
        self.timeouts = []

    def wait(self, timeout=None):
        self.timeouts.append(timeout)
        if self.rounds:
            self.rounds -= 1
            raise subprocess.TimeoutExpired("gunicorn", timeout)
        return 0


def test_while_serving_a_stopped_process_of_the_group_is_started_again(tmp_path, monkeypatch):
    group = EmbeddedGroup(
        port=7000, data_dir=tmp_path, replicas=2, password="p", sentinel_password="s"
    )
    checks = []
    monkeypatch.setattr(
        group, "restart_stopped", lambda: checks.append(1) or ["replica started on :7001"]
    )
    out, gunicorn = io.StringIO(), StillServing(rounds=2)
    serve.Command(stdout=out).wait(gunicorn, group)
    assert gunicorn.timeouts == [serve.SUPERVISE_EVERY_S] * 3 and len(checks) == 2
    assert "Redis Stack replica started on :7001 (it had stopped)" in out.getvalue()


def test_a_single_server_is_left_to_itself_while_serving(tmp_path):
    gunicorn = StillServing(rounds=0)
    serve.Command(stdout=io.StringIO()).wait(gunicorn, EmbeddedRedis(port=7000, data_dir=tmp_path))
    assert gunicorn.timeouts == [None]  # one wait until gunicorn exits
