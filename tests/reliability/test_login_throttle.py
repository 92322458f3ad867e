"""Password guessing is throttled: failed logins are counted per username and per client
address (django-axes on the cache store), the try after the limit is refused even with
the right password, the lockout says when to retry and ends by itself, and nobody else
is affected. A cache outage answers 503, never a lockout or a traceback."""

import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import cache_settings, store_urls

pytestmark = pytest.mark.django_db

PASSWORD = "staff-pass-123"  # the staff_user fixture's
ATTACKER = "203.0.113.66"
SOMEONE_ELSE = "198.51.100.7"


def login(client, username, password, path="/accounts/login/", address=ATTACKER, **extra):
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def guess_until_locked(client, username="staff", path="/accounts/login/", address=ATTACKER):
    """LOGIN_FAILURE_LIMIT wrong passwords: all but the last get the form back."""
    limit = django_settings.LOGIN_FAILURE_LIMIT
    for attempt in range(1, limit + 1):
        response = login(client, username, f"guess-{attempt}", path, address)
        expected = 429 if attempt == limit else 200
        assert response.status_code == expected, (attempt, response.status_code)
    return response


def logged_in(client):
    return "_auth_user_id" in client.session


def test_the_try_after_the_limit_is_refused_even_with_the_right_password(client, staff_user):
    assert django_settings.LOGIN_FAILURE_LIMIT == 5
    guess_until_locked(client)
    refused = login(client, "staff", PASSWORD)
    body = refused.content.decode()
    assert refused.status_code == 429
    assert "Too many failed logins; try again in 15 minutes." in body
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert "Movie Library Explorer" in body and 'href="/accounts/login/"' in body  # site base
    assert not logged_in(client)
    assert client.get("/operations/").status_code == 302  # still anonymous


def test_the_admin_login_is_throttled_too(client, staff_user):
    guess_until_locked(client, path="/admin/login/")
    refused = login(client, "staff", PASSWORD, path="/admin/login/")
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.content.decode()
    assert not logged_in(client)
    assert client.get("/admin/").status_code == 302


def test_another_user_from_another_address_is_not_affected(client, staff_user, django_user_model):
    django_user_model.objects.create_user("other", password="other-pass-123", is_staff=True)
    guess_until_locked(client)
    elsewhere = Client()
    done = login(elsewhere, "other", "other-pass-123", address=SOMEONE_ELSE)
    assert done.status_code == 302 and logged_in(elsewhere)
    # Each counter locks on its own: the guessed account from anywhere, and any account
    # from the guessing address.
    assert login(Client(), "staff", PASSWORD, address=SOMEONE_ELSE).status_code == 429
    assert login(Client(), "other", "other-pass-123", address=ATTACKER).status_code == 429


def test_a_username_spelling_an_address_does_not_lock_that_address(client, staff_user):
    """axes names a counter by the bare username or address: without a prefix, guessing
    as "198.51.100.7" locked everyone at that address out."""
    guess_until_locked(client, username=SOMEONE_ELSE)
    elsewhere = Client()
    done = login(elsewhere, "staff", PASSWORD, address=SOMEONE_ELSE)
    assert done.status_code == 302 and logged_in(elsewhere)


def test_the_lockout_ends_by_itself_and_tries_during_it_do_not_extend_it(
    client, staff_user, settings
):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    guess_until_locked(client)
    assert login(client, "staff", PASSWORD).status_code == 429
    deadline = time.monotonic() + 30  # a hang guard: the counters expire after 1 s
    while True:
        time.sleep(0.3)
        response = login(client, "staff", PASSWORD)  # tries meanwhile must not extend it
        if response.status_code != 429 or time.monotonic() > deadline:
            break
    assert response.status_code == 302 and logged_in(client)


def test_scripts_get_the_lockout_as_json(client, staff_user):
    guess_until_locked(client)
    refused = login(client, "staff", PASSWORD, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "Too many failed logins; try again in 15 minutes."
    assert body["retry_after"] == int(refused["Retry-After"])
    accepts_json = login(client, "staff", PASSWORD, HTTP_ACCEPT="application/json")
    assert accepts_json.status_code == 429 and "error" in accepts_json.json()


def test_the_retry_time_counts_down(client, staff_user):
    from axes.helpers import get_cache, get_client_cache_keys

    guess_until_locked(client)
    cache = get_cache()
    for key in get_client_cache_keys(login_request(), {"username": "staff"}):
        cache.expire(key, 90)  # as if the lockout began 13.5 minutes ago
    refused = login(client, "staff", PASSWORD)
    assert 0 < int(refused["Retry-After"]) <= 90
    assert "try again in 2 minutes" in refused.content.decode()


def login_request():
    from django.test import RequestFactory

    return RequestFactory().post("/accounts/login/", REMOTE_ADDR=ATTACKER)


@pytest.fixture
def cache_on_stoppable_server(second_server, settings):
    """Django's cache, sessions and the login counters on a server the test may stop."""
    from axes.handlers.proxy import AxesProxyHandler

    urls = store_urls(second_server.port, second_server.password)
    settings.CACHES = cache_settings(urls["cache"])
    AxesProxyHandler.get_implementation(force=True)  # it keeps the cache it was built with
    yield second_server
    AxesProxyHandler.implementation = None  # rebuilt on the suite's cache when next used


def test_a_cache_outage_answers_503_never_a_lockout_or_a_traceback(
    client, staff_user, cache_on_stoppable_server
):
    cache_on_stoppable_server.stop(save=False)
    assert client.get("/accounts/login/", REMOTE_ADDR=ATTACKER).status_code == 200
    for password in (PASSWORD, "wrong"):  # the same answer: no way to test passwords
        for path in ("/accounts/login/", "/admin/login/"):
            response = login(client, "staff", password, path=path)
            assert response.status_code == 503, (path, password)
            assert "right back" in response.content.decode()
    cache_on_stoppable_server.start()
    assert login(client, "staff", PASSWORD).status_code == 302  # nothing was counted
