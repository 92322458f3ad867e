"""The embedded launcher: start, status, stop, data kept, port taken, bad libraries."""

import socket
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from config import embedded_redis
from config.embedded_redis import EmbeddedRedis, EmbeddedRedisError, free_port


def test_status_follows_start_and_stop(server):
    assert server.status() == "stopped"
    assert server.start() == "started"
    assert server.status() == "running"
    assert server.stop() == "stopped"
    assert server.status() == "stopped"


def test_starting_a_running_server_leaves_it_running(server):
    server.start()
    assert server.start() == "already running"
    assert server.status() == "running"


def test_the_server_loads_the_stack_modules(server):
    server.start()
    assert {"search", "timeseries", "ReJSON", "bf"} <= set(server.modules())


def test_the_server_runs_the_projects_redis_conf_on_loopback(server):
    server.start()
    client = server.client()
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}
    assert client.config_get("bind")["bind"] == "127.0.0.1"


def test_data_survives_a_stop_and_start(server):
    server.start()
    server.client().set("kept", "yes")
    server.stop()
    server.start()
    assert server.client().get("kept") == "yes"


def test_runtime_conf_with_the_password_is_readable_by_its_owner_only(tmp_path):
    instance = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "r", password="pw-123")
    try:
        instance.start()
        assert oct(instance.runtime_conf.stat().st_mode)[-3:] == "600"
    finally:
        instance.stop(save=False)


def test_a_given_password_is_required_and_used_by_its_client(tmp_path):
    instance = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "r", password="pw-123")
    try:
        instance.start()
        assert instance.client().ping()
        with pytest.raises(redis.AuthenticationError):
            instance.client(authenticated=False).ping()
    finally:
        instance.stop(save=False)


def occupied(port):
    """A listening socket of this process on `port`: another program, to the launcher."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", port))
    busy.listen()
    return busy


def test_a_port_taken_by_another_program_is_reported_foreign(server):
    with occupied(server.port):
        assert server.status() == "foreign"


def test_starting_on_a_port_taken_by_another_program_names_the_port(server):
    expected = f"port {server.port} is already in use"
    with occupied(server.port), pytest.raises(EmbeddedRedisError, match=expected):
        server.start()


def test_a_redis_that_cannot_start_reports_its_log(server, monkeypatch):
    monkeypatch.setattr(embedded_redis, "SEARCH_MODULE_ARGS", ("NOT_AN_OPTION", "1"))
    with pytest.raises(EmbeddedRedisError) as failure:
        server.start(timeout=10)
    assert "NOT_AN_OPTION" in str(failure.value) or "module" in str(failure.value).lower()


def test_after_ensure_libssl_the_server_misses_no_library():
    binary = embedded_redis.server_dir() / "bin" / "redis-server"
    lib_dir = embedded_redis.ensure_libssl()
    assert embedded_redis.missing_libraries(binary, lib_dir) == []


def test_libssl_is_provided_for_redis_only():
    """The system's own library folders are not touched: the fix lives under var/."""
    lib_dir = embedded_redis.ensure_libssl()
    if lib_dir is not None:
        assert lib_dir == embedded_redis.LIBSSL_DIR
        assert (lib_dir / "libssl.so.1.1").is_file()
        assert not any(Path(d, "libssl.so.1.1").exists() for d in ("/usr/lib", "/lib"))


def test_apt_mirrors_are_read_from_deb822_sources(tmp_path, monkeypatch):
    sources = tmp_path / "debian.sources"
    sources.write_text(
        "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.test/debian-security\nSuites: bookworm-security\n"
    )
    monkeypatch.setattr(embedded_redis.glob, "glob", lambda pattern: [str(sources)]
                        if pattern.endswith(".sources") else [])  # fmt: skip
    monkeypatch.setattr(embedded_redis.os.path, "exists", lambda path: False)
    assert embedded_redis.apt_mirrors() == (
        "http://mirror.test/debian",
        "http://mirror.test/debian-security",
    )


def test_command_refuses_to_start_when_settings_point_elsewhere(settings):
    settings.REDIS_EMBEDDED = False
    with pytest.raises(CommandError, match="external Redis"):
        call_command("redis_stack", "start")


def test_command_status_reports_the_session_server(capsys):
    call_command("redis_stack", "status")
    assert "running" in capsys.readouterr().out
