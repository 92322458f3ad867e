"""The Sentinel settings: parsed, checked and turned into each store's group and the
cache's django-redis Sentinel client. Each case imports the settings afresh."""

import json
import os
import subprocess
import sys

import pytest

from config.settings import BASE_DIR

FIELDS = (
    "REDIS_SENTINELS", "REDIS_SENTINEL_SERVICES", "REDIS_SENTINEL_OPTIONS", "REDIS_EMBEDDED",
    "REDIS_URLS", "CACHES",
)  # fmt: skip


def settings_with(**env):
    """The Sentinel-related settings of a fresh interpreter with exactly `env` set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DEBUG"))}
    clean.update({"SECRET_KEY": "x" * 60, "REDIS_PASSWORD": "data-pw", **env})
    code = (
        "import json, config.settings as s; "
        f"print(json.dumps({{f: getattr(s, f) for f in {FIELDS!r}}}, default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=clean, capture_output=True, text=True
    )


def loaded(**env):
    done = settings_with(**env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


SENTINELS = "10.0.0.1:26379, 10.0.0.2:26379,10.0.0.3:26380"


@pytest.fixture(scope="module")
def with_sentinels():
    return loaded(REDIS_SENTINELS=SENTINELS)


def test_without_sentinels_every_store_keeps_its_url():
    settings = loaded()
    assert settings["REDIS_SENTINELS"] == []
    assert settings["REDIS_SENTINEL_SERVICES"] == {}
    assert settings["CACHES"]["default"]["LOCATION"] == settings["REDIS_URLS"]["cache"]


def test_the_sentinels_are_a_host_port_list(with_sentinels):
    assert with_sentinels["REDIS_SENTINELS"] == [
        ["10.0.0.1", 26379], ["10.0.0.2", 26379], ["10.0.0.3", 26380],
    ]  # fmt: skip


def test_every_store_is_on_the_default_group(with_sentinels):
    services = with_sentinels["REDIS_SENTINEL_SERVICES"]
    assert set(services.values()) == {"movies"}
    assert len(services) == 6


def test_sentinels_start_nothing_embedded(with_sentinels):
    assert with_sentinels["REDIS_EMBEDDED"] is False


def test_the_sentinel_password_defaults_to_the_redis_password(with_sentinels):
    assert with_sentinels["REDIS_SENTINEL_OPTIONS"]["password"] == "data-pw"


def test_the_sentinels_have_a_password_of_their_own_when_given():
    settings = loaded(REDIS_SENTINELS=SENTINELS, REDIS_SENTINEL_PASSWORD="sentinel-pw")
    assert settings["REDIS_SENTINEL_OPTIONS"]["password"] == "sentinel-pw"


def test_a_store_can_have_a_group_of_its_own():
    settings = loaded(
        REDIS_SENTINELS=SENTINELS,
        REDIS_SENTINEL_SERVICE="main",
        REDIS_METRICS_SENTINEL_SERVICE="metrics-group",
    )
    services = settings["REDIS_SENTINEL_SERVICES"]
    assert services["metrics"] == "metrics-group"
    assert services["search"] == "main"


def test_a_store_with_a_url_of_its_own_stays_on_it():
    settings = loaded(REDIS_SENTINELS=SENTINELS, REDIS_EVENTS_URL="redis://other:6379/5")
    assert "events" not in settings["REDIS_SENTINEL_SERVICES"]
    assert settings["REDIS_URLS"]["events"] == "redis://other:6379/5"


def test_the_cache_uses_django_redis_sentinel_client_on_the_primary(with_sentinels):
    cache = with_sentinels["CACHES"]["default"]
    assert cache["LOCATION"] == ["redis://:data-pw@movies/3"]  # one URL: the primary only
    assert cache["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert cache["OPTIONS"]["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert cache["OPTIONS"]["CONNECTION_POOL_CLASS"] == "config.redis_stores.SentinelBlockingPool"
    assert cache["OPTIONS"]["SENTINELS"] == with_sentinels["REDIS_SENTINELS"]


def test_a_cache_command_gives_a_silent_primary_a_second_before_its_retry(with_sentinels):
    """A frozen primary answers nothing: the cache's retry asks the sentinels again
    after 1 s instead of holding the search for the stores' 5 s."""
    options = with_sentinels["CACHES"]["default"]["OPTIONS"]
    assert options["CONNECTION_POOL_KWARGS"]["socket_timeout"] == 1
    assert options["SOCKET_TIMEOUT"] == 1
    assert loaded()["CACHES"]["default"]["OPTIONS"]["SOCKET_TIMEOUT"] == 5  # one server


def test_tls_reaches_the_sentinels_and_the_cache():
    settings = loaded(REDIS_SENTINELS=SENTINELS, REDIS_TLS="true")
    assert settings["REDIS_SENTINEL_OPTIONS"]["ssl"] is True
    assert settings["CACHES"]["default"]["LOCATION"][0].startswith("rediss://")


def test_replicas_point_the_app_at_the_embedded_sentinels():
    settings = loaded(REDIS_REPLICAS="2", REDIS_PORT="7000")
    assert settings["REDIS_SENTINELS"] == [
        ["127.0.0.1", 7003],
        ["127.0.0.1", 7004],
        ["127.0.0.1", 7005],
    ]
    assert settings["REDIS_EMBEDDED"] is True
    assert set(settings["REDIS_SENTINEL_SERVICES"].values()) == {"movies"}


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_SENTINELS": "10.0.0.1"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "10.0.0.1:0"}, "REDIS_SENTINELS"),
        (
            {"REDIS_SENTINELS": SENTINELS, "REDIS_SENTINEL_SERVICE": "Bad Name"},
            "REDIS_SENTINEL_SERVICE",
        ),
        ({"REDIS_REPLICAS": "9"}, "REDIS_REPLICAS"),
        ({"REDIS_REPLICA_READ_TIMEOUT": "0"}, "REDIS_REPLICA_READ_TIMEOUT"),
        ({"REDIS_REPLICA_READ_TIMEOUT": "soon"}, "REDIS_REPLICA_READ_TIMEOUT"),
        ({"REDIS_REPLICAS": "1", "REDIS_HOST": "10.0.0.9"}, "REDIS_REPLICAS"),
        ({"REDIS_REPLICAS": "1", "REDIS_SEARCH_SENTINEL_SERVICE": "x"}, "REDIS_SEARCH_SENTINEL"),
        (
            {
                "REDIS_SENTINELS": SENTINELS,
                "REDIS_CACHE_URL": "redis://h/3",
                "REDIS_CACHE_SENTINEL_SERVICE": "c",
            },
            "REDIS_CACHE_SENTINEL_SERVICE",
        ),
    ],
)
def test_bad_sentinel_values_stop_start_up_naming_the_variable(env, variable):
    done = settings_with(**env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and variable in done.stderr


def test_deploy_check_is_clean_with_sentinels(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DEBUG"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_production",
        SECRET_KEY="k" * 20 + "Zq8#mW2$vL5^nR9&tY4*pB7!xC3@hJ6%",
        ALLOWED_HOSTS="movies.example.org", REDIS_PASSWORD="data-pw",
        REDIS_SENTINELS=SENTINELS, STATIC_ROOT=str(tmp_path),
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
