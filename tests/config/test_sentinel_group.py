"""The embedded replicated layout and the connection factory on it, with real processes:
a primary, one replica and three sentinels on free loopback ports, started once for the
module. The failover tests kill the primary and the last one stops the group, so they
come last, in this order."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from config import redis_stores
from config.embedded_group import EmbeddedGroup, EmbeddedSentinel, free_port_run, process_state
from config.embedded_redis import EmbeddedRedisError
from config.middleware import is_redis_outage
from config.redis_stores import STORES, get_pool, get_read_redis, get_redis
from config.settings import BASE_DIR
from tests.conftest import poll, sentinel_settings

DATA_PASSWORD = "group-data-password"
SENTINEL_PASSWORD = "group-sentinel-password"
SERVICE = "movies-test"
PROCESSES = 5  # the primary, one replica, three sentinels


def make_group(data_dir, port=None):
    return EmbeddedGroup(
        port=port or free_port_run(PROCESSES),
        data_dir=data_dir,
        replicas=1,
        password=DATA_PASSWORD,
        sentinel_password=SENTINEL_PASSWORD,
        service=SERVICE,
        maxmemory="512mb",
    )


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    instance = make_group(tmp_path_factory.mktemp("group"))
    instance.start()
    yield instance
    instance.stop(save=False)
    redis_stores.reset_pools()


@pytest.fixture
def on_group(group, settings):
    """Every store on the group through its sentinels, as REDIS_REPLICAS=1 sets them."""
    for name, value in sentinel_settings(group).items():
        setattr(settings, name, value)
    settings.REDIS_REPLICAS = 1
    settings.REDIS_PORT = group.port
    settings.REDIS_EMBEDDED_DIR = group.data_dir
    settings.REDIS_SENTINEL_PASSWORD = SENTINEL_PASSWORD
    settings.REDIS_SENTINEL_SERVICE = SERVICE
    return group


def role_of(client):
    return client.execute_command("ROLE")[0]


def test_status_lists_the_primary_the_replica_and_three_sentinels(on_group, capsys):
    call_command("redis_stack", "status", "--json")
    listed = json.loads(capsys.readouterr().out)
    ports = on_group.node_ports()
    assert [(p["role"], p["port"]) for p in listed] == [
        ("primary", ports[0]),
        ("replica", ports[1]),
        *[("sentinel", port) for _host, port in on_group.sentinel_addresses()],
    ]
    assert all(isinstance(p["pid"], int) and p["pid"] > 0 for p in listed)


def test_every_process_refuses_a_client_without_its_password(group):
    for state in group.status():
        anonymous = redis.Redis(port=state.port, socket_connect_timeout=1, retry=None)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()


def test_each_process_has_a_folder_and_config_of_its_own_readable_by_us_only(group):
    processes = [*group.nodes(), *group.sentinels()]
    folders = {process.data_dir for process in processes}
    assert len(folders) == PROCESSES
    assert processes[0].data_dir == group.data_dir  # the single server's folder stays
    for process in processes:
        assert process.runtime_conf.is_file()
        assert stat.S_IMODE(process.data_dir.stat().st_mode) == 0o700


def test_the_sentinels_watch_the_group_with_a_quorum_of_two(group):
    sentinel = group.sentinels()[0].client()
    state = sentinel.sentinel_master(SERVICE)
    assert (state["port"], state["quorum"]) == (group.port, 2)
    assert state["down-after-milliseconds"] == 1000


def test_with_one_replica_a_primary_never_refuses_writes_for_want_of_it(group):
    """A failover leaves the promoted replica alone: min-replicas-to-write would stop
    every write until the old primary is back (two replicas or more set it)."""
    for node in group.nodes():
        assert node.client().config_get("min-replicas-to-write") == {"min-replicas-to-write": "0"}


def test_starting_a_running_group_leaves_it_running(group):
    assert all(" already running " in line for line in group.start())


def test_a_port_of_the_layout_taken_by_another_program_is_named(tmp_path):
    first = free_port_run(PROCESSES)
    taken = first + 3  # the second sentinel's
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", taken))
        blocker.listen()
        with pytest.raises(Exception, match=f"port {taken} is already in use"):
            make_group(tmp_path / "g", port=first).start()
    assert make_group(tmp_path / "g", port=first).status() == []  # nothing started


def test_stopped_the_primary_is_the_one_of_the_sentinels_newest_configuration(tmp_path):
    """What the sentinels rewrote after their last failover, whichever sentinel lags."""
    stopped = make_group(tmp_path / "g", port=free_port_run(PROCESSES))
    saved = [(0, stopped.port), (2, stopped.port + 1), (1, stopped.port)]
    for sentinel, (epoch, port) in zip(stopped.sentinels(), saved, strict=True):
        sentinel.data_dir.mkdir(parents=True)
        sentinel.runtime_conf.write_text(
            f"sentinel monitor {SERVICE} 127.0.0.1 {port} 2\n"
            f"sentinel config-epoch {SERVICE} {epoch}\n"
        )
    assert stopped.current_primary() == stopped.port + 1


def test_a_start_that_fails_midway_stops_what_it_started(tmp_path, monkeypatch):
    def refuse(self, timeout=30.0):
        raise EmbeddedRedisError("this sentinel cannot start")

    monkeypatch.setattr(EmbeddedSentinel, "start", refuse)
    half = make_group(tmp_path / "g", port=free_port_run(PROCESSES))
    with pytest.raises(EmbeddedRedisError, match="cannot start"):
        half.start()
    assert half.status() == []


def test_writes_go_to_the_primary_and_reads_to_the_replica(on_group):
    writer, reader = get_redis("analytics"), get_read_redis("analytics")
    assert role_of(writer) == "master"
    assert role_of(reader) == "slave"
    writer.set("replicated", "yes")
    writer.wait(1, 1000)
    assert reader.get("replicated") == "yes"


def test_searching_reads_the_replica_and_a_new_generation_waits_for_it(on_group):
    from search import store

    assert role_of(store.read_client()) == "slave" and role_of(store.client()) == "master"
    waits = store.client().info("commandstats").get("cmdstat_wait", {}).get("calls", 0)
    before = store.generation()
    assert store.bump_generation() == before + 1
    assert store.client().info("commandstats")["cmdstat_wait"]["calls"] == waits + 1


def test_the_cache_generation_is_read_on_the_replica(on_group):
    """Where searches read: a search never waits on the primary, which may be frozen."""
    from search import store

    def gets():
        return store.read_client().info("commandstats").get("cmdstat_get", {}).get("calls", 0)

    before = gets()
    store.generation()
    assert gets() == before + 1


@pytest.fixture
def stopped_replica(on_group, monkeypatch):
    """The replica frozen (SIGSTOP), so that no write is confirmed, for a short wait."""
    monkeypatch.setattr(redis_stores, "CONFIRM_TIMEOUT_MS", 100)
    replica = on_group.nodes()[1]
    os.kill(replica.pid(), signal.SIGSTOP)
    yield replica
    os.kill(replica.pid(), signal.SIGCONT)


def test_a_confirmed_write_is_on_the_replica(on_group):
    get_redis("operations").set("must-not-be-lost", "kept")
    assert redis_stores.confirm_replicated("operations")
    assert get_read_redis("operations").get("must-not-be-lost") == "kept"


def test_a_write_the_replica_has_not_applied_is_not_confirmed(stopped_replica):
    get_redis("operations").set("must-not-be-lost", "again")
    assert not redis_stores.confirm_replicated("operations")


def test_a_primary_left_without_replicas_confirms_no_write(on_group):
    """As an old primary cut off by a failover is: its writes would be dropped."""
    replica = on_group.nodes()[1]
    replica.kill()
    try:
        primary = get_redis("operations")
        poll(lambda: primary.info("replication")["connected_slaves"] == 0, 30, "no replica")
        primary.set("must-not-be-lost", "alone")
        assert not redis_stores.confirm_replicated("operations")
    finally:
        on_group.start()  # the replica back, in sync


def test_a_replica_that_died_is_started_again_in_sync(group):
    replica = group.nodes()[1]
    replica.kill()
    assert replica.pid() is None
    restarted = group.restart_stopped()
    assert restarted == [f"replica started on 127.0.0.1:{replica.port}"]
    assert role_of(replica.client()) == "slave"
    assert group.restart_stopped() == []  # nothing else had stopped


def test_an_import_batch_is_confirmed_or_reported(on_group, request):
    from search import importer, keys, records

    def batch(movie_id):
        writer = importer.MovieWriter()
        writer.add(records.validate({"id": movie_id, "title": "Confirmed Copy", "year": 2001}))
        writer.flush()
        return writer

    assert batch(91).unconfirmed == []
    assert get_read_redis("search").hget(keys.movie_key(91), "title") == "Confirmed Copy"
    request.getfixturevalue("stopped_replica")
    assert batch(92).unconfirmed == [92]  # written twice, then reported


def test_each_store_keeps_its_db_on_the_group(on_group):
    for db, store in enumerate(STORES):
        assert get_redis(store).connection_pool.connection_kwargs["db"] == db
        assert get_read_redis(store).connection_pool.connection_kwargs["db"] == db


def test_the_group_pools_wait_for_a_free_connection_as_the_plain_ones(on_group):
    pool = get_redis("events").connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool)
    assert (pool.max_connections, pool.timeout) == (20, 5)


def test_a_replica_that_answers_nothing_is_given_up_before_a_primary_is(on_group):
    """A frozen replica costs a read 2 s, then the next replica answers (within the
    retry window); writes keep the stores' 5 s."""
    read = get_read_redis("search").connection_pool.connection_kwargs["socket_timeout"]
    write = get_redis("search").connection_pool.connection_kwargs["socket_timeout"]
    assert (read, write) == (2.0, 5)


def test_without_sentinels_the_read_client_is_the_primarys(redis_settings):
    assert get_read_redis("search") is get_redis("search")


def test_a_primary_refusing_writes_for_want_of_replicas_is_an_outage(on_group, monkeypatch):
    """NOREPLICAS is a reconnect to the primary the sentinels name; while it lasts
    beyond the window, the caller gets a connection error, answered as an outage."""
    monkeypatch.setattr(redis_stores, "FAILOVER_WINDOW_S", 0.3)
    redis_stores.reset_pools()
    primary = on_group.nodes()[0].client()
    primary.config_set("min-replicas-to-write", 2)
    try:
        with pytest.raises(redis.ConnectionError) as failure:
            get_redis("operations").set("refused", "1")
        assert is_redis_outage(failure.value)
        assert "NOREPLICAS" in str(failure.value)
    finally:
        primary.config_set("min-replicas-to-write", 0)
        redis_stores.reset_pools()


def test_noreplicas_from_a_primary_on_a_plain_url_is_an_outage_too():
    assert is_redis_outage(redis.ResponseError("NOREPLICAS Not enough good replicas to write."))


def test_the_cache_and_sessions_go_through_the_sentinels(group, tmp_path):
    """A process whose settings name the sentinels (as REDIS_REPLICAS=1 would) uses
    django-redis' Sentinel client: a value set is read back, from the group's primary."""
    code = (
        "import django; django.setup(); from django.core.cache import cache; "
        "cache.set('through-sentinel', 'yes', 60); client = cache.client.get_client(); "
        "print(cache.get('through-sentinel'), type(cache.client).__name__, "
        "client.connection_pool.service_name, client.execute_command('ROLE')[0].decode())"
    )
    sentinels = ",".join(f"{host}:{port}" for host, port in group.sentinel_addresses())
    env = {
        "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 60, "REDIS_PASSWORD": DATA_PASSWORD,
        "REDIS_SENTINELS": sentinels, "REDIS_SENTINEL_SERVICE": SERVICE,
        "REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD, "STATIC_ROOT": str(tmp_path),
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["yes", "SentinelClient", SERVICE, "master"]


def test_serve_leaves_a_group_it_did_not_start_running(on_group, capsys):
    from config.management.commands.serve import Command

    assert Command().start_redis() is None  # so serve will not stop it either
    assert capsys.readouterr().out.count(" already running ") == PROCESSES
    assert len(on_group.status()) == PROCESSES


def test_changed_sentinel_settings_rebuild_the_pools(on_group, settings):
    before = get_redis("metrics")
    settings.REDIS_SENTINEL_SERVICES = {**settings.REDIS_SENTINEL_SERVICES, "metrics": "other"}
    assert get_redis("metrics") is not before
    assert get_redis("metrics").connection_pool.service_name == "other"


# --- Failover: these kill the primary, so they run last --------------------------------


def test_after_the_primary_is_killed_writes_resume_on_the_promoted_replica(on_group):
    """The write goes out on a connection made before the kill: its retry must ask the
    sentinels for the new primary rather than dial the dead one again."""
    old_primary, replica = on_group.nodes()
    writer = redis.Redis(connection_pool=get_pool("analytics"), single_connection_client=True)
    writer.set("before-failover", "kept")
    writer.wait(1, 1000)
    reader = get_read_redis("analytics")
    old_primary.kill()
    assert reader.get("before-failover") == "kept"  # reads go on with no primary
    writer.set("after-failover", "acknowledged")  # retried over the failover
    promoted = replica.client(db=1)
    assert role_of(promoted) == "master"
    assert promoted.get("after-failover") == "acknowledged"
    assert reader.get("after-failover") == "acknowledged"
    assert process_state(replica).role == "primary"


def test_after_a_failover_start_brings_the_old_primary_back_as_a_replica(on_group):
    old_primary, replica = on_group.nodes()  # in port order: the old primary first
    assert on_group.current_primary() == replica.port
    on_group.start()
    restarted = process_state(old_primary)
    assert restarted is not None and restarted.role == "replica"
    assert old_primary.client(db=1).get("after-failover") == "acknowledged"


def test_a_command_refuses_an_unknown_action():
    with pytest.raises(CommandError):
        call_command("redis_stack", "restart")


@pytest.fixture
def replicas_unset(on_group, settings):
    """The group's settings but REDIS_REPLICAS and REDIS_PORT, as a shell without them."""
    settings.REDIS_REPLICAS = 0
    settings.REDIS_PORT = 6379
    return on_group


def test_status_without_redis_replicas_lists_the_group_still_running(replicas_unset, capsys):
    call_command("redis_stack", "status", "--json")
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == PROCESSES
    assert {p["port"] for p in listed} == {s.port for s in replicas_unset.status()}


def test_stop_without_redis_replicas_stops_every_process_of_the_group(replicas_unset, capsys):
    call_command("redis_stack", "stop")
    assert replicas_unset.status() == []
    out = capsys.readouterr().out
    assert "REDIS_REPLICAS is unset" in out
    assert out.count(": stopped") == PROCESSES
