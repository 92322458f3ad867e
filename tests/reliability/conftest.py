"""Fixtures shared by the reliability tests (access, security, outages)."""

import contextlib

import pytest
from django.test import override_settings

from config.embedded_redis import EmbeddedRedis, free_port
from config.redis_stores import reset_pools
from telemetry import timeseries
from tests.conftest import cache_settings, store_urls


@contextlib.contextmanager
def stores_on_own_server(workdir, maxmemory=None, cache_too=False):
    """Every store (with `cache_too`, Django's cache as well) on a Redis Stack of its own
    for the block, which may kill or fill it; insights' per-process caches forgotten
    around it. Yields the server."""
    from insights import store as insights_store

    server = EmbeddedRedis(port=free_port(), data_dir=workdir / "redis", maxmemory=maxmemory)
    server.start()
    urls = store_urls(server.port, server.password)
    moved = {"REDIS_URLS": urls, **({"CACHES": cache_settings(urls["cache"])} if cache_too else {})}
    timeseries.forget_ensured()
    insights_store.forget_salts()
    try:
        with override_settings(**moved):
            yield server
    finally:
        server.stop(save=False)
        reset_pools()
        timeseries.forget_ensured()
        insights_store.forget_salts()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="root-pass-123")


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The real hasher costs about a second per user on a busy 2-core machine; these
    tests check who gets in, not how passwords are hashed."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_samples(superuser, django_user_model):
    """An existing object of every model in the admin, by its admin URL prefix."""
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    from operations.models import AlertThreshold

    group = Group.objects.create(name="editors")
    threshold = AlertThreshold.objects.order_by("pk").first()
    assert threshold is not None  # seeded by a migration
    return {
        "auth/group/": group.pk,
        "auth/user/": superuser.pk,
        "operations/alertthreshold/": threshold.pk,
        "content_type_id": ContentType.objects.get_for_model(django_user_model).pk,
    }
