"""CSRF on every POST: without the token every URL of the project refuses a POST (403);
with it, each form that posts works. Clients here enforce the checks, as browsers do."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.reliability.test_access import ROUTES, SAMPLES, admin_path

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PUBLIC_PATHS = {
    "": "/",
    "movies/<int:movie_id>/": "/movies/1/",
    "api/search": "/api/search",
    "api/search/suggest": "/api/search/suggest",
    "health/redis": "/health/redis",
    "accounts/login/": "/accounts/login/",
    "accounts/logout/": "/accounts/logout/",
    "metrics": "/metrics",
    "favicon.ico": "/favicon.ico",
}


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def token_from(response):
    found = TOKEN.search(response.content.decode())
    assert found, "the page has no CSRF token"
    return found.group(1)


def concrete_path(route, admin_samples):
    if route in SAMPLES:
        return SAMPLES[route][1]
    if route in PUBLIC_PATHS:
        return PUBLIC_PATHS[route]
    return admin_path(route, admin_samples)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_every_url_refuses_a_post_without_a_token(csrf_client, superuser, admin_samples, who):
    if who == "staff":
        csrf_client.force_login(superuser)
    for route in ROUTES:
        path = concrete_path(route, admin_samples)
        response = csrf_client.post(path, {"anything": "1"})
        assert response.status_code == 403, path
        assert "This form has expired" in response.content.decode(), path
    assert len(ROUTES) >= 45


@pytest.mark.django_db
def test_login_needs_the_token(csrf_client, staff_user):
    token = token_from(csrf_client.get("/accounts/login/"))
    login = {"username": "staff", "password": "staff-pass-123"}
    assert csrf_client.post("/accounts/login/", login).status_code == 403
    done = csrf_client.post("/accounts/login/", {**login, "csrfmiddlewaretoken": token})
    assert done.status_code == 302


@pytest.mark.django_db
def test_logout_needs_the_token(csrf_client, staff_user):
    token = token_from(csrf_client.get("/accounts/login/"))
    login = {"username": "staff", "password": "staff-pass-123", "csrfmiddlewaretoken": token}
    csrf_client.post("/accounts/login/", login)
    page = csrf_client.get("/operations/")
    assert page.status_code == 200
    token = token_from(page)  # login rotates the token
    assert csrf_client.post("/accounts/logout/").status_code == 403
    assert csrf_client.get("/operations/").status_code == 200  # still logged in
    assert csrf_client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert csrf_client.get("/operations/").status_code == 302  # logged out: to the login


def fire_cpu_alert():
    """A real alert, fired by the evaluator after CPU stays high for the hold time."""
    from operations import alert_store
    from operations.alerts import Evaluator

    now = [1_800_000_000.0]
    evaluator = Evaluator(clock=lambda: now[0])
    for _ in range(8):
        evaluator.evaluate({"cpu_usage": 99.0})
        now[0] += 10
    return alert_store.active_alerts()[0].id


@pytest.mark.django_db
def test_acknowledging_an_alert_needs_the_token(csrf_client, staff_user):
    from operations import alert_store

    alert_id = fire_cpu_alert()
    path = f"/operations/alerts/{alert_id}/acknowledge"
    csrf_client.force_login(staff_user)
    page = csrf_client.get("/operations/")
    assert path in page.content.decode()
    assert csrf_client.post(path).status_code == 403
    assert not alert_store.get_active_alert(alert_id).acknowledged_by
    done = csrf_client.post(path, {"csrfmiddlewaretoken": token_from(page)})
    assert done.status_code == 302
    assert alert_store.get_active_alert(alert_id).acknowledged_by == "staff"


ADMIN_LOGIN = {"username": "root", "password": "root-pass-123", "next": "/admin/"}


@pytest.fixture
def admin_token(csrf_client, superuser):
    """`csrf_client` logged into the admin through its form; the token of its pages."""
    form = csrf_client.get("/admin/login/")
    done = csrf_client.post(
        "/admin/login/", {**ADMIN_LOGIN, "csrfmiddlewaretoken": token_from(form)}
    )
    assert done.status_code == 302 and done["Location"] == "/admin/"
    return token_from(csrf_client.get("/admin/auth/user/add/"))


@pytest.mark.django_db
def test_the_admin_login_needs_the_token(csrf_client, superuser):
    form = csrf_client.get("/admin/login/")
    assert csrf_client.post("/admin/login/", ADMIN_LOGIN).status_code == 403
    done = csrf_client.post(
        "/admin/login/", {**ADMIN_LOGIN, "csrfmiddlewaretoken": token_from(form)}
    )
    assert done.status_code == 302 and done["Location"] == "/admin/"


@pytest.mark.django_db
def test_an_admin_change_form_needs_the_token(csrf_client, admin_token):
    from operations.models import AlertThreshold

    rule = AlertThreshold.objects.get(rule="cpu_usage")
    change = f"/admin/operations/alertthreshold/{rule.pk}/change/"
    values = {
        "threshold": "70",
        "duration_seconds": str(rule.duration_seconds),
        "hysteresis": str(rule.hysteresis),
        "severity": rule.severity,
        "enabled": "on",
    }
    token = token_from(csrf_client.get(change))
    assert csrf_client.post(change, values).status_code == 403
    rule.refresh_from_db()
    assert rule.threshold != 70
    saved = csrf_client.post(change, {**values, "csrfmiddlewaretoken": token})
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert rule.threshold == 70


@pytest.mark.django_db
def test_an_admin_add_form_needs_the_token(csrf_client, admin_token):
    add_user = {"username": "newbie", "password1": "a-Long-pass-4821",
                "password2": "a-Long-pass-4821", "usable_password": "true"}  # fmt: skip
    assert csrf_client.post("/admin/auth/user/add/", add_user).status_code == 403
    added = csrf_client.post(
        "/admin/auth/user/add/", {**add_user, "csrfmiddlewaretoken": admin_token}
    )
    assert added.status_code == 302


@pytest.mark.django_db
def test_the_admin_logout_needs_the_token(csrf_client, admin_token):
    assert csrf_client.post("/admin/logout/").status_code == 403
    out = csrf_client.post("/admin/logout/", {"csrfmiddlewaretoken": admin_token})
    assert out.status_code == 302  # to LOGOUT_REDIRECT_URL
    assert csrf_client.get("/admin/").status_code == 302  # logged out: to the admin login


def template_files():
    dirs = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    dirs += [settings.BASE_DIR / app / "templates" for app in ("search", "insights", "operations")]
    return [path for d in dirs for path in d.rglob("*.html")]


def test_every_post_form_in_the_templates_carries_the_token():
    forms = 0
    for path in template_files():
        text = path.read_text()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.DOTALL | re.I):
            if re.search(r'method="post"', form, flags=re.I):
                forms += 1
                assert "{% csrf_token %}" in form, f"{path}: a POST form without the token"
    assert forms >= 3  # log in, log out, acknowledge
