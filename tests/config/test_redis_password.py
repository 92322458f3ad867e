"""A password on every embedded Redis: required, given to every client, and applied to a
server or data left by an older, password-less run."""

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from config.embedded_redis import EmbeddedRedis, EmbeddedRedisError, free_port

# Redis's refusal: NOAUTH to a RESP2 command, "HELLO must be called with the client already
# authenticated" to redis-py's RESP3 handshake.
NOT_AUTHENTICATED = "NOAUTH|already authenticated"


def test_a_server_given_no_password_gets_a_random_one(tmp_path):
    first = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "a")
    second = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "b")
    assert first.password
    assert first.password != second.password


def test_the_launcher_refuses_clients_without_the_password(server):
    server.start()
    with pytest.raises(redis.AuthenticationError, match=NOT_AUTHENTICATED):
        server.client(authenticated=False).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=server.port, password="wrong", socket_connect_timeout=1).ping()
    assert server.client().ping() is True


def test_an_empty_password_is_refused_before_starting(tmp_path):
    instance = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "open", password="")
    with pytest.raises(EmbeddedRedisError, match="REDIS_PASSWORD is empty"):
        instance.start()
    assert instance.status() == "stopped"


def test_the_command_refuses_to_start_without_redis_password(settings, tmp_path):
    settings.REDIS_EMBEDDED = True
    settings.REDIS_PASSWORD = ""
    settings.REDIS_PORT = free_port()
    settings.REDIS_EMBEDDED_DIR = tmp_path / "open"
    with pytest.raises(CommandError, match="REDIS_PASSWORD"):
        call_command("redis_stack", "start")


def test_a_password_with_quotes_cannot_add_directives(tmp_path):
    instance = EmbeddedRedis(
        port=free_port(), data_dir=tmp_path / "r", password='a"b\\c\nmaxmemory 1mb'
    )
    try:
        instance.start()
        assert instance.client().ping() is True
        assert instance.client().config_get("maxmemory")["maxmemory"] != str(2**20)
    finally:
        instance.stop(save=False)


@pytest.fixture
def relocked(server):
    """A server an older version started without a password (still running, its pid file
    in our data directory), started again by the launcher with a password."""
    server.start()
    server.client().set("movie:1", "kept")
    server.client().config_set("requirepass", "")  # as the older version ran it
    assert server.client(authenticated=False).ping() is True
    newer = EmbeddedRedis(port=server.port, data_dir=server.data_dir, password="from-dot-env")
    outcome = newer.start()
    server.password = newer.password  # for the fixture's stop
    return newer, outcome


def test_a_running_password_less_server_gets_the_password(relocked):
    newer, outcome = relocked
    assert outcome == "already running, and now requires the password"
    with pytest.raises(redis.AuthenticationError, match=NOT_AUTHENTICATED):
        newer.client(authenticated=False).ping()


def test_a_relocked_server_keeps_its_data(relocked):
    newer, _ = relocked
    assert newer.client().get("movie:1") == "kept"


def test_a_relocked_server_starts_with_the_password_next_time(relocked):
    newer, _ = relocked
    assert 'requirepass "from-dot-env"' in newer.runtime_conf.read_text()


def test_data_from_a_password_less_run_starts_with_the_password(server):
    server.start()
    server.client().config_set("requirepass", "")
    server.client(authenticated=False).set("movie:7", "from the older run")
    assert server.stop() == "stopped"
    server.password = "the-new-password"
    assert server.start() == "started"
    assert server.client().get("movie:7") == "from the older run"
    with pytest.raises(redis.AuthenticationError, match=NOT_AUTHENTICATED):
        server.client(authenticated=False).ping()


def test_starting_with_another_password_names_the_mismatch(server):
    server.start()
    other = EmbeddedRedis(port=server.port, data_dir=server.data_dir, password="changed")
    with pytest.raises(EmbeddedRedisError, match="started with another one"):
        other.start(timeout=5)


def test_a_server_with_another_password_still_stops_and_saves(server):
    server.start()
    server.client().set("movie:3", "saved")
    other = EmbeddedRedis(port=server.port, data_dir=server.data_dir, password="changed")
    assert other.stop() == "stopped"  # SIGTERM, which saves: not a SIGKILL after 30 s
    assert server.start() == "started"
    assert server.client().get("movie:3") == "saved"
