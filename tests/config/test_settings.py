"""Settings parsing: each bad value stops start-up naming the variable."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from config.settings import BASE_DIR


def load_settings(**env):
    """Import config.settings in a fresh interpreter with exactly this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DEBUG"))}
    # An exported empty REDIS_PASSWORD wins over the one the setup writes into .env.
    clean.update({"SECRET_KEY": "x" * 60, "REDIS_PASSWORD": "", **env})
    code = (
        "import json, config.settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'urls': s.REDIS_URLS, 'embedded': s.REDIS_EMBEDDED, "
        "'hosts': s.ALLOWED_HOSTS, 'index': s.REDISEARCH_INDEX_NAME, 'db': str(s.DATABASES), "
        "'cache': s.CACHES['default']['LOCATION']}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def loaded(**env):
    import json

    done = load_settings(**env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def defaults():
    """The settings with no variable of the project set."""
    return loaded()


def test_defaults_give_six_stores_on_one_server(defaults):
    assert defaults["urls"] == {
        "search": "redis://127.0.0.1:6379/0",
        "analytics": "redis://127.0.0.1:6379/1",
        "operations": "redis://127.0.0.1:6379/2",
        "cache": "redis://127.0.0.1:6379/3",
        "metrics": "redis://127.0.0.1:6379/4",
        "events": "redis://127.0.0.1:6379/5",
    }


def test_debug_is_off_by_default(defaults):
    assert defaults["debug"] is False


def test_the_embedded_redis_runs_by_default(defaults):
    assert defaults["embedded"] is True


def test_the_default_index_name(defaults):
    assert defaults["index"] == "movies_index"


def test_the_default_database_is_sqlite(defaults):
    assert "sqlite3" in defaults["db"]


def test_password_host_port_and_tls_build_the_urls():
    values = loaded(REDIS_HOST="redis.internal", REDIS_PORT="6380", REDIS_PASSWORD="p@ss:w/rd",
                    REDIS_TLS="true")  # fmt: skip
    assert values["urls"]["analytics"] == "rediss://:p%40ss%3Aw%2Frd@redis.internal:6380/1"


def test_an_external_server_starts_nothing_embedded():
    assert loaded(REDIS_HOST="redis.internal")["embedded"] is False
    assert loaded(REDIS_HOST="redis.internal", REDIS_TLS="true")["embedded"] is False


def test_the_password_reaches_every_store_and_the_cache():
    values = loaded(REDIS_PASSWORD="s3cret")
    assert set(values["urls"]) == set(settings.REDIS_STORE_DBS)
    for store, url in values["urls"].items():
        assert url.startswith("redis://:s3cret@127.0.0.1:6379/"), store
    assert values["cache"] == values["urls"]["cache"]  # Django's cache and sessions too


def test_a_store_can_move_to_its_own_server():
    values = loaded(REDIS_METRICS_URL="redis://metrics-host:6379/0")
    assert values["urls"]["metrics"] == "redis://metrics-host:6379/0"
    assert values["urls"]["search"] == "redis://127.0.0.1:6379/0"


def test_a_store_url_of_its_own_starts_nothing_embedded():
    assert loaded(REDIS_METRICS_URL="redis://metrics-host:6379/0")["embedded"] is False


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_PORT": "not-a-port"}, "REDIS_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"REDIS_DB": "3"}, "REDIS_DB"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"REDIS_CACHE_URL": "http://example.invalid/"}, "REDIS_CACHE_URL"),
        ({"REDISEARCH_INDEX_NAME": "bad name;"}, "REDISEARCH_INDEX_NAME"),
        ({"DATABASE_URL": "nonsense://"}, "DATABASE_URL"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT"),
        ({"LOGIN_FAILURE_LIMIT": "five"}, "LOGIN_FAILURE_LIMIT"),
        ({"LOGIN_LOCKOUT_MINUTES": "0"}, "LOGIN_LOCKOUT_MINUTES"),
        ({"LOGIN_LOCKOUT_MINUTES": "2000"}, "LOGIN_LOCKOUT_MINUTES"),
    ],
)
def test_bad_values_stop_start_up_naming_the_variable(env, variable):
    done = load_settings(**env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert variable in done.stderr.strip().splitlines()[-1]


def test_secret_key_optional_only_with_debug():
    assert loaded(SECRET_KEY="", DEBUG="true")["debug"] is True


def test_deploy_check_is_clean_under_production_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_production",
        SECRET_KEY="k" * 20 + "Zq8#mW2$vL5^nR9&tY4*pB7!xC3@hJ6%",
        ALLOWED_HOSTS="movies.example.org",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_sessions_live_in_the_cache():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cache"


def test_the_cache_lives_on_the_cache_store():
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URLS["cache"]


@pytest.mark.django_db
def test_models_and_migrations_agree():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits 1 on a gap
