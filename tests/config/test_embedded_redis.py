"""The embedded launcher: start, status, stop, data kept, port taken, bad libraries."""

import socket
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from config import embedded_redis
from config.embedded_redis import EmbeddedRedis, EmbeddedRedisError, free_port


def test_start_status_stop_and_data_survives(server):
    assert server.status() == "stopped"
    assert server.start() == "started"
    assert server.status() == "running"
    assert {"search", "timeseries", "ReJSON", "bf"} <= set(server.modules())
    assert server.start() == "already running"
    client = server.client()
    client.set("kept", "yes")
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    assert server.stop() == "stopped"
    assert server.status() == "stopped"
    server.start()
    assert server.client().get("kept") == "yes"


def test_runtime_conf_with_password_is_private(tmp_path):
    instance = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "r", password="pw-123")
    try:
        instance.start()
        assert oct(instance.runtime_conf.stat().st_mode)[-3:] == "600"
        assert instance.client().ping()
        with pytest.raises(redis.AuthenticationError):
            instance.client(authenticated=False).ping()
    finally:
        instance.stop(save=False)


def test_port_taken_by_another_program_is_named(server):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", server.port))
        busy.listen()
        assert server.status() == "foreign"
        with pytest.raises(EmbeddedRedisError, match=f"port {server.port} is already in use"):
            server.start()


def test_a_redis_that_cannot_start_reports_its_log(server, monkeypatch):
    monkeypatch.setattr(embedded_redis, "SEARCH_MODULE_ARGS", ("NOT_AN_OPTION", "1"))
    with pytest.raises(EmbeddedRedisError) as failure:
        server.start(timeout=10)
    assert "NOT_AN_OPTION" in str(failure.value) or "module" in str(failure.value).lower()


def test_libssl_is_provided_for_redis_only():
    """After ensure_libssl nothing the server links is missing, and the system's own
    library folders were not touched (the fix lives under var/)."""
    binary = embedded_redis.server_dir() / "bin" / "redis-server"
    lib_dir = embedded_redis.ensure_libssl()
    assert embedded_redis._missing_libraries(binary, lib_dir) == []
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
    assert embedded_redis._apt_mirrors() == (
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
