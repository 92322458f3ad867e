"""Fixtures shared by the reliability tests (access, security, outages)."""

import pytest


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
