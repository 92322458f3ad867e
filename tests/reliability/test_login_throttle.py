"""Password guessing is throttled: failed logins are counted per username and per client
address (django-axes on the cache store), the try after the limit is refused even with
the right password, the lockout says when to retry and ends by itself, and nobody else
is affected. A cache outage answers 503, never a lockout or a traceback."""

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
    assert refused.status_code == 429
    assert not logged_in(client)
    assert client.get("/operations/").status_code == 302  # still anonymous


def test_the_refusal_says_when_to_try_again(client, staff_user):
    guess_until_locked(client)
    refused = login(client, "staff", PASSWORD)
    assert "Too many failed logins; try again in 15 minutes." in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 15 * 60


def test_the_refusal_is_a_page_of_the_site(client, staff_user):
    guess_until_locked(client)
    body = login(client, "staff", PASSWORD).content.decode()
    assert "Movie Library Explorer" in body and 'href="/accounts/login/"' in body  # site base


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


def test_the_guessed_account_is_locked_from_anywhere(client, staff_user):
    guess_until_locked(client)
    assert login(Client(), "staff", PASSWORD, address=SOMEONE_ELSE).status_code == 429


def test_the_guessing_address_is_locked_for_any_account(client, staff_user, django_user_model):
    django_user_model.objects.create_user("other", password="other-pass-123", is_staff=True)
    guess_until_locked(client)
    assert login(Client(), "other", "other-pass-123", address=ATTACKER).status_code == 429


def test_a_username_spelling_an_address_does_not_lock_that_address(client, staff_user):
    """axes names a counter by the bare username or address: without a prefix, guessing
    as "198.51.100.7" locked everyone at that address out."""
    guess_until_locked(client, username=SOMEONE_ELSE)
    elsewhere = Client()
    done = login(elsewhere, "staff", PASSWORD, address=SOMEONE_ELSE)
    assert done.status_code == 302 and logged_in(elsewhere)


def counter_keys():
    """The cache keys of the attacker's counters for `staff` (username and address)."""
    from axes.helpers import get_client_cache_keys

    return get_client_cache_keys(login_request(), {"username": "staff"})


def test_the_counters_expire_after_the_lockout_time(client, staff_user):
    from axes.helpers import get_cache

    guess_until_locked(client)
    for key in counter_keys():
        assert 0 < get_cache().ttl(key) <= 15 * 60, key


def test_tries_during_the_lockout_do_not_extend_it(client, staff_user):
    from axes.helpers import get_cache

    cache = get_cache()
    guess_until_locked(client)
    for key in counter_keys():
        cache.expire(key, 90)  # as if the lockout began 13.5 minutes ago
    assert login(client, "staff", PASSWORD).status_code == 429
    assert login(client, "staff", "another-guess").status_code == 429
    for key in counter_keys():
        assert 0 < cache.ttl(key) <= 90, key


def test_the_lockout_ends_by_itself_when_its_counters_expire(client, staff_user):
    from axes.helpers import get_cache

    guess_until_locked(client)
    assert login(client, "staff", PASSWORD).status_code == 429
    for key in counter_keys():
        get_cache().expire(key, 0)  # what Redis does once their TTL runs out
    response = login(client, "staff", PASSWORD)
    assert response.status_code == 302 and logged_in(client)


def test_scripts_get_the_lockout_as_json(client, staff_user):
    guess_until_locked(client)
    refused = login(client, "staff", PASSWORD, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "Too many failed logins; try again in 15 minutes."
    assert body["retry_after"] == int(refused["Retry-After"])


def test_a_client_accepting_json_gets_the_lockout_as_json(client, staff_user):
    guess_until_locked(client)
    accepts_json = login(client, "staff", PASSWORD, HTTP_ACCEPT="application/json")
    assert accepts_json.status_code == 429 and "error" in accepts_json.json()


def test_the_retry_time_counts_down(client, staff_user):
    from axes.helpers import get_cache

    guess_until_locked(client)
    cache = get_cache()
    for key in counter_keys():
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


def test_logins_tried_during_a_cache_outage_are_not_counted(
    client, staff_user, cache_on_stoppable_server
):
    cache_on_stoppable_server.stop(save=False)
    for attempt in range(django_settings.LOGIN_FAILURE_LIMIT):
        assert login(client, "staff", f"guess-{attempt}").status_code == 503
    cache_on_stoppable_server.start()
    assert login(client, "staff", PASSWORD).status_code == 302  # nothing was counted
