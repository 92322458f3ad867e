"""redis.conf and docker-compose.yml agree with each other and with the settings."""

import re

import yaml
from django.conf import settings

from config.settings import BASE_DIR


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


def test_compose_redis_healthcheck_has_the_password_it_sends():
    # The check's redis-cli reads the password from the container's environment.
    service = compose()["services"]["redis"]
    assert "$$REDIS_PASSWORD" in str(service["healthcheck"]["test"])
    assert service["environment"]["REDIS_PASSWORD"] == "${REDIS_PASSWORD}"
