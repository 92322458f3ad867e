"""redis.conf and docker-compose.yml agree with each other and with the settings; the
production profile's scripts work with the real programs (a sentinel started by
deploy/redis/sentinel.sh from the embedded redis-server, the webs' healthcheck against a
loopback server)."""

import contextlib
import http.server
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import redis
import yaml
from django.conf import settings

from config.embedded_redis import EmbeddedRedis, ensure_libssl, free_port, server_dir
from config.settings import BASE_DIR
from tests.config.test_nginx_conf import HANG_GUARD_S, wait_listening


def redis_conf():
    values = {}
    for line in (BASE_DIR / "redis.conf").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            values.setdefault(key, []).append(value)
    return values


def test_redis_conf_caps_memory_and_evicts_only_keys_with_a_ttl():
    conf = redis_conf()
    assert conf["maxmemory"] == ["2gb"]
    assert conf["maxmemory-policy"] == ["volatile-lru"]


def test_redis_conf_saves_snapshots_and_an_aof_fsynced_every_second():
    conf = redis_conf()
    assert conf["save"] == ["900 1", "300 10", "60 10000"]
    assert conf["appendonly"] == ["yes"]
    assert conf["appendfsync"] == ["everysec"]


def test_redis_conf_listens_on_loopback():
    assert redis_conf()["bind"][0].startswith("127.0.0.1")


def test_redis_conf_holds_no_password():
    assert "requirepass" not in redis_conf()  # the password comes from the environment


def test_volatile_lru_is_explained():
    text = (BASE_DIR / "redis.conf").read_text()
    assert re.search(r"allkeys-lru would evict movie\s*#?\s*hashes", text)


def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_compose_redis_is_redis_stack_published_on_loopback_only():
    redis_service = compose()["services"]["redis"]
    assert redis_service["image"].startswith("redis/redis-stack:")
    assert "127.0.0.1:6379:6379" in redis_service["ports"]
    assert "127.0.0.1:8001:8001" in redis_service["ports"]


def test_compose_redis_runs_the_projects_conf_on_a_kept_volume():
    config = compose()
    redis_service = config["services"]["redis"]
    assert "redis_data:/data" in redis_service["volumes"]
    assert "./redis.conf:/redis-stack.conf:ro" in redis_service["volumes"]
    assert "redis_data" in config["volumes"]


def test_compose_redis_requires_the_password_from_the_environment():
    redis_service = compose()["services"]["redis"]
    assert "requirepass ${REDIS_PASSWORD" in redis_service["environment"]["REDIS_ARGS"]


def test_compose_web_waits_for_a_healthy_redis():
    config = compose()
    assert "healthcheck" in config["services"]["redis"]
    assert config["services"]["web"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_web_uses_the_compose_redis_not_an_embedded_one():
    web = compose()["services"]["web"]
    assert web["environment"]["REDIS_PORT"] == str(settings.REDIS_STORE_DBS and 6379)
    assert web["environment"]["REDIS_EMBEDDED"] == "false"


def test_compose_web_runs_serve_with_gthread_and_no_separate_collector():
    config = compose()
    # serve prepares what make run prepares (indexes, catalogue, admin) and runs the
    # collector beside gunicorn; behind nginx, which buffers, gthread is safe.
    command = config["services"]["web"]["command"]
    assert "manage.py serve --host 0.0.0.0 --port 8000 --worker-class gthread" in command
    assert "collector" not in config["services"]


def test_env_example_names_only_real_settings():
    names = re.findall(r"^#?\s*([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M)
    settings_text = (BASE_DIR / "config" / "settings.py").read_text()
    for name in names:
        assert f'"{name}"' in settings_text or name.endswith("_URL"), name


# The production profile: a primary, two replicas, three sentinels, two webs, one nginx.
NODES = ("redis-primary", "redis-replica-1", "redis-replica-2")
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
WEBS = ("web-1", "web-2")
SENTINEL_SCRIPT = BASE_DIR / "deploy" / "redis" / "sentinel.sh"
WEB_HEALTHCHECK = BASE_DIR / "deploy" / "web" / "healthcheck.py"


def production():
    return {
        name: service
        for name, service in compose()["services"].items()
        if "production" in service.get("profiles", [])
    }


def test_compose_default_services_are_the_single_server_deployment():
    services = compose()["services"]
    default = {name for name, service in services.items() if "profiles" not in service}
    assert default == {"redis", "web", "nginx"}  # what `docker compose up` starts
    for name in default:
        assert set(services[name].get("depends_on", {})) <= default, name


def test_compose_production_profile_is_the_replicated_deployment():
    assert set(production()) == {*NODES, *SENTINELS, *WEBS, "nginx-production"}


def test_compose_production_nodes_run_redis_stack_with_the_projects_conf_on_own_volumes():
    config = compose()
    services = production()
    volumes = []
    for name in NODES:
        node = services[name]
        assert node["image"] == config["services"]["redis"]["image"]
        assert "./redis.conf:/redis-stack.conf:ro" in node["volumes"]
        volumes += [v.split(":")[0] for v in node["volumes"] if v.endswith(":/data")]
    assert len(set(volumes)) == len(NODES)
    assert set(volumes) <= set(config["volumes"])


def test_compose_production_has_one_primary_and_two_replicas_of_it():
    services = production()
    args = {name: services[name]["environment"]["REDIS_ARGS"] for name in NODES}
    assert "--replicaof" not in args["redis-primary"]
    for name in NODES[1:]:
        assert args[name].endswith("--replicaof redis-primary 6379"), name


def test_compose_production_nodes_refuse_writes_without_a_replica():
    # Every node, since a failover makes a replica the primary.
    for name in NODES:
        args = production()[name]["environment"]["REDIS_ARGS"]
        assert "--min-replicas-to-write 1 --min-replicas-max-lag 10" in args, name


def test_compose_production_nodes_announce_their_service_name():
    # Sentinel hands the nodes' addresses to the app: names outlive a container's IP.
    for name in NODES:
        assert f"--replica-announce-ip {name}" in production()[name]["environment"]["REDIS_ARGS"]


def test_compose_production_redis_and_sentinels_take_their_passwords_from_the_environment():
    services = production()
    for name in NODES:
        args = services[name]["environment"]["REDIS_ARGS"]
        assert "--requirepass ${REDIS_PASSWORD" in args and "--masterauth ${REDIS_PASSWORD" in args
        assert services[name]["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD}"
    for name in SENTINELS:
        environment = services[name]["environment"]
        assert environment["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
        assert environment["REDIS_SENTINEL_PASSWORD"] == "${REDIS_SENTINEL_PASSWORD:-}"


def test_no_password_is_written_in_compose_or_the_sentinel_script():
    for path in (BASE_DIR / "docker-compose.yml", SENTINEL_SCRIPT):
        text = path.read_text()
        options = r"(?:--requirepass|--masterauth|^requirepass|auth-pass \S+|sentinel-pass| -a)"
        values = re.findall(options + r" (\S+)", text, re.MULTILINE)
        assert len(values) >= 3, path
        for value in values:
            assert value.lstrip('\\"').startswith("$"), f"{path.name}: {value}"


def test_compose_production_sentinels_watch_the_group_from_the_primary_first():
    services = production()
    for name in SENTINELS:
        sentinel = services[name]
        assert sentinel["image"] == compose()["services"]["redis"]["image"]
        assert "./deploy/redis/sentinel.sh:/usr/local/bin/start-sentinel:ro" in sentinel["volumes"]
        assert sentinel["command"] == ["sh", "/usr/local/bin/start-sentinel"]
        environment = sentinel["environment"]
        assert environment["SENTINEL_NODES"].split() == [f"{node}:6379" for node in NODES]
        assert environment["SENTINEL_ANNOUNCE"] == name


def test_compose_production_webs_reach_redis_through_the_three_sentinels():
    services = production()
    sentinels = ",".join(f"{name}:26379" for name in SENTINELS)
    for name in WEBS:
        environment = services[name]["environment"]
        assert environment["REDIS_SENTINELS"] == sentinels
        assert environment["REDIS_EMBEDDED"] == "false"
        assert environment["REDIS_REPLICAS"] == "0"  # not the embedded layout
        assert "REDIS_HOST" not in environment
        assert (
            environment["REDIS_SENTINEL_SERVICE"]
            == services["sentinel-1"]["environment"]["REDIS_SENTINEL_SERVICE"]
        )


def test_compose_production_webs_are_distinct_metrics_hosts():
    hosts = [production()[name]["environment"]["METRICS_HOST"] for name in WEBS]
    assert len(set(hosts)) == len(WEBS)


def test_compose_production_webs_run_the_default_webs_command_behind_the_proxy():
    config = compose()
    for name in WEBS:
        web = production()[name]
        for key in ("image", "command", "volumes", "env_file"):
            assert web[key] == config["services"]["web"][key], (name, key)
        assert web["environment"]["METRICS_ALLOW_LOOPBACK"] == "false"
        assert web["environment"]["INSIGHTS_CLIENT_IP_HEADER"] == "X-Forwarded-For"


def test_compose_production_starts_in_order_one_web_at_a_time():
    services = production()

    def waits_for_healthy(name):
        depends = services[name]["depends_on"]
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name
        return set(depends)

    assert all(waits_for_healthy(name) == set(NODES) for name in SENTINELS)
    assert waits_for_healthy("web-1") == set(SENTINELS)
    assert waits_for_healthy("web-2") == {"web-1"}  # serve's start-up never runs twice at once
    assert waits_for_healthy("nginx-production") == set(WEBS)
    assert all("healthcheck" in services[name] for name in (*NODES, *SENTINELS, *WEBS))


def test_compose_production_webs_check_their_health_with_the_projects_script():
    for name in WEBS:
        web = production()[name]
        program, script = web["healthcheck"]["test"][1:]
        assert program == "python" and ".:/app" in web["volumes"]
        assert BASE_DIR / script.removeprefix("/app/") == WEB_HEALTHCHECK


def test_compose_production_publishes_only_the_proxy_and_only_on_loopback():
    published = {name: s["ports"] for name, s in production().items() if "ports" in s}
    assert list(published) == ["nginx-production"]
    assert all(port.startswith("127.0.0.1:") for port in published["nginx-production"])
    # No host port twice: with any profile, compose also starts the default services.
    ports = [port for s in compose()["services"].values() for port in s.get("ports", [])]
    assert len({port.split(":")[1] for port in ports}) == len(ports)


def test_compose_redis_healthcheck_has_the_password_it_sends():
    # The check's redis-cli reads the password from the container's environment.
    for name in ("redis", *NODES):
        service = compose()["services"][name]
        assert "$$REDIS_PASSWORD" in str(service["healthcheck"]["test"]), name
        assert service["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD}", name


# deploy/redis/sentinel.sh with the embedded redis-server and redis-cli, on loopback.
DATA_PASSWORD = "deploy-data-password"


@pytest.fixture
def primary_and_replica(tmp_path):
    """A data node and its replica, both requiring DATA_PASSWORD: (primary, replica)."""
    nodes = [
        EmbeddedRedis(port=free_port(), data_dir=tmp_path / name, password=DATA_PASSWORD)
        for name in ("primary", "replica")
    ]
    try:
        for node in nodes:
            node.start()
        replica = nodes[1].client()
        replica.config_set("masterauth", DATA_PASSWORD)
        replica.replicaof("127.0.0.1", nodes[0].port)
        yield nodes
    finally:
        for node in reversed(nodes):  # the replica first: the primary would wait for it
            node.stop(save=False)


def sentinel_environment(tmp_path, port, nodes, **extra):
    lib_dir = ensure_libssl()
    return {
        "PATH": f"{server_dir() / 'bin'}:{os.environ['PATH']}",
        **({"LD_LIBRARY_PATH": str(lib_dir)} if lib_dir else {}),
        "REDIS_PASSWORD": DATA_PASSWORD,
        "REDIS_SENTINEL_SERVICE": "movies-deploy",
        "SENTINEL_NODES": " ".join(f"127.0.0.1:{node}" for node in nodes),
        "SENTINEL_PORT": str(port),
        "SENTINEL_BIND": "127.0.0.1",
        "SENTINEL_ANNOUNCE": "127.0.0.1",
        "SENTINEL_CONF": str(tmp_path / f"sentinel-{port}" / "sentinel.conf"),
        **extra,
    }


@contextlib.contextmanager
def running_sentinel(environment):
    """The script's sentinel, once it answers; a client authenticated with its password."""
    port = int(environment["SENTINEL_PORT"])
    process = subprocess.Popen(
        ["sh", str(SENTINEL_SCRIPT)],
        env=environment,
        stdout=subprocess.DEVNULL,  # its log; a refused configuration goes to stderr
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(process, port, "the sentinel")
        yield redis.Redis(
            host="127.0.0.1",
            port=port,
            password=environment.get("REDIS_SENTINEL_PASSWORD") or DATA_PASSWORD,
            socket_timeout=5,
            decode_responses=True,
        )
    finally:
        process.terminate()
        process.wait(timeout=HANG_GUARD_S)


def test_the_sentinel_script_starts_a_sentinel_watching_the_primary_with_quorum_2(
    tmp_path, primary_and_replica
):
    primary, _replica = primary_and_replica
    environment = sentinel_environment(tmp_path, free_port(), [primary.port])
    with running_sentinel(environment) as sentinel:
        state = sentinel.sentinel_master("movies-deploy")
    assert (state["ip"], state["port"]) == ("127.0.0.1", primary.port)
    assert state["quorum"] == 2
    assert state["down-after-milliseconds"] == 1000


def test_the_sentinel_script_watches_the_node_that_answers_as_primary(
    tmp_path, primary_and_replica
):
    # After a failover the first node listed is a replica: a sentinel started afresh
    # must watch the primary, not it.
    primary, replica = primary_and_replica
    environment = sentinel_environment(tmp_path, free_port(), [replica.port, primary.port])
    with running_sentinel(environment) as sentinel:
        address = sentinel.sentinel_get_master_addr_by_name("movies-deploy")
    assert address == ("127.0.0.1", primary.port)


def test_the_sentinel_script_watches_the_first_node_when_none_answers(tmp_path):
    absent = free_port()
    environment = sentinel_environment(tmp_path, free_port(), [absent, free_port()])
    with running_sentinel(environment) as sentinel:
        address = sentinel.sentinel_get_master_addr_by_name("movies-deploy")
    assert address == ("127.0.0.1", absent)


def test_the_sentinel_requires_its_own_password_even_with_quotes_and_backslashes(tmp_path):
    password = 'se"nti\\nel pass'
    port = free_port()
    environment = sentinel_environment(
        tmp_path, port, [free_port()], REDIS_SENTINEL_PASSWORD=password
    )
    with running_sentinel(environment) as sentinel:
        assert sentinel.ping()  # with exactly that password
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, socket_timeout=5, retry=None).ping()
    conf = tmp_path / f"sentinel-{port}" / "sentinel.conf"
    assert oct(conf.stat().st_mode & 0o777) == "0o600"  # it holds the passwords


def test_the_sentinel_script_refuses_a_password_with_a_line_break(tmp_path):
    environment = sentinel_environment(
        tmp_path, free_port(), [free_port()], REDIS_PASSWORD="one\nsentinel monitor x"
    )
    done = subprocess.run(
        ["sh", str(SENTINEL_SCRIPT)], env=environment, capture_output=True, text=True,
        timeout=HANG_GUARD_S,
    )  # fmt: skip
    assert done.returncode != 0
    assert "line break" in done.stderr


def test_the_sentinels_healthcheck_passes_once_a_majority_of_sentinels_know_each_other(
    tmp_path, primary_and_replica
):
    primary, _replica = primary_and_replica
    ports = [free_port() for _ in SENTINELS]
    check = " ".join(production()["sentinel-1"]["healthcheck"]["test"][1:])
    check = check.replace("$$", "$")  # as compose hands it to the container
    with contextlib.ExitStack() as stack:
        environments = [sentinel_environment(tmp_path, p, [primary.port]) for p in ports]
        for environment in environments[:1]:
            stack.enter_context(running_sentinel(environment))

        def passes():
            command = check.replace("-p 26379", f"-p {ports[0]}")
            done = subprocess.run(["sh", "-c", command], env=environments[0], timeout=HANG_GUARD_S)
            return done.returncode == 0

        assert not passes()  # alone, it could not authorise a failover
        for environment in environments[1:]:
            stack.enter_context(running_sentinel(environment))
        deadline = time.monotonic() + HANG_GUARD_S
        while not passes():  # the sentinels find each other within seconds
            assert time.monotonic() < deadline, "the sentinels never reached a quorum"
            time.sleep(0.2)


# deploy/web/healthcheck.py against a loopback server answering `status`.
class Health(http.server.BaseHTTPRequestHandler):
    status = 200
    seen = []

    def do_GET(self):
        self.seen.append((self.path, self.headers["Host"], self.headers["X-Forwarded-Proto"]))
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def health_server():
    Health.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def run_web_healthcheck(port, allowed_hosts="movies.example.com,localhost"):
    environment = {**os.environ, "ALLOWED_HOSTS": allowed_hosts}
    return subprocess.run(
        [sys.executable, str(WEB_HEALTHCHECK), str(port)], env=environment, timeout=HANG_GUARD_S
    ).returncode


def test_the_web_healthcheck_passes_on_200_from_health_redis(health_server, monkeypatch):
    monkeypatch.setattr(Health, "status", 200)
    assert run_web_healthcheck(health_server.server_port) == 0
    # An allowed host, and https, so that neither ALLOWED_HOSTS nor HTTPS=true refuses it.
    assert Health.seen == [("/health/redis", "movies.example.com", "https")]


def test_the_web_healthcheck_fails_on_503(health_server, monkeypatch):
    monkeypatch.setattr(Health, "status", 503)
    assert run_web_healthcheck(health_server.server_port) == 1


def test_the_web_healthcheck_fails_when_nothing_listens():
    assert run_web_healthcheck(free_port()) == 1


@pytest.mark.parametrize(
    "allowed, host",
    [(".example.com,localhost", "example.com"), ("*", "localhost"), ("", "localhost")],
)
def test_the_web_healthcheck_names_a_host_django_allows(health_server, allowed, host):
    run_web_healthcheck(health_server.server_port, allowed_hosts=allowed)
    assert Health.seen[0][1] == host
