"""redis.conf and docker-compose.yml agree with the plan and with the settings."""

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


def test_redis_conf_has_the_plans_values():
    conf = redis_conf()
    assert conf["maxmemory"] == ["2gb"]
    assert conf["maxmemory-policy"] == ["volatile-lru"]
    assert conf["save"] == ["900 1", "300 10", "60 10000"]
    assert conf["appendonly"] == ["yes"]
    assert conf["appendfsync"] == ["everysec"]
    assert conf["bind"][0].startswith("127.0.0.1")
    assert "requirepass" not in conf  # the password comes from the environment


def test_volatile_lru_is_explained():
    text = (BASE_DIR / "redis.conf").read_text()
    assert re.search(r"allkeys-lru would evict movie\s*#?\s*hashes", text)


def test_compose_matches_conf_and_settings():
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    redis_service = compose["services"]["redis"]
    assert redis_service["image"].startswith("redis/redis-stack:")
    assert "127.0.0.1:6379:6379" in redis_service["ports"]
    assert "127.0.0.1:8001:8001" in redis_service["ports"]
    assert "redis_data:/data" in redis_service["volumes"]
    assert "./redis.conf:/redis-stack.conf:ro" in redis_service["volumes"]
    assert "requirepass ${REDIS_PASSWORD" in redis_service["environment"]["REDIS_ARGS"]
    assert "healthcheck" in redis_service
    web = compose["services"]["web"]
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert web["environment"]["REDIS_PORT"] == str(settings.REDIS_STORE_DBS and 6379)
    assert web["environment"]["REDIS_EMBEDDED"] == "false"
    # serve prepares what make run prepares (indexes, catalogue, admin) and runs the
    # collector beside gunicorn; behind nginx, which buffers, gthread is safe.
    assert "manage.py serve --host 0.0.0.0 --port 8000 --worker-class gthread" in web["command"]
    assert "collector" not in compose["services"]
    assert "redis_data" in compose["volumes"]


def test_env_example_names_only_real_settings():
    names = re.findall(r"^#?\s*([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M)
    settings_text = (BASE_DIR / "config" / "settings.py").read_text()
    for name in names:
        assert f'"{name}"' in settings_text or name.endswith("_URL"), name
