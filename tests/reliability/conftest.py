"""Fixtures shared by the reliability tests (access, security, outages)."""

import pytest


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="root-pass-123")


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client
