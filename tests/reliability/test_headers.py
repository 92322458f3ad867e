"""Security headers on every response: every URL of the project (from the resolver), as
anonymous and as a superuser, plus error pages (404, 403, CSRF failure, Redis outage)."""

import pytest

from config.middleware import CONTENT_SECURITY_POLICY
from tests.reliability.test_access import ROUTES
from tests.reliability.test_csrf import concrete_path
from tests.search.conftest import bundled, catalogue  # noqa: F401 - the indexed catalogue

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def assert_secure_headers(response, where):
    for header, value in EXPECTED.items():
        assert response.headers.get(header) == value, f"{where}: {header}"
    csp = response.headers.get("Content-Security-Policy", "")
    assert csp == CONTENT_SECURITY_POLICY, where
    permissions = response.headers.get("Permissions-Policy", "")
    assert "camera=()" in permissions and "geolocation=()" in permissions, where


def test_the_policy_is_strict():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    for directive in ("script-src", "style-src", "default-src", "connect-src", "img-src"):
        assert directives[directive] == "'self'", directive
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("who", ["anonymous", "superuser"])
def test_every_url_answers_with_the_headers(client, superuser, admin_samples, bundled, who):  # noqa: F811
    if who == "superuser":
        client.force_login(superuser)
    paths = {concrete_path(route, admin_samples) for route in ROUTES}
    paths.discard("/movies/1/")
    paths |= {f"/movies/{bundled[0]['id']}/", "/?q=star+wars", "/no-such-page/"}
    statuses = set()
    for path in sorted(paths):
        response = client.get(path)
        statuses.add(response.status_code)
        assert_secure_headers(response, path)
    assert len(paths) >= 45
    assert {200, 302, 404} <= statuses  # pages, redirects and errors alike


@pytest.mark.django_db
def test_the_forbidden_page_has_them(user_client):
    assert_secure_headers(user_client.get("/operations/"), "403")


@pytest.mark.django_db
def test_the_csrf_failure_page_has_them():
    from django.test import Client

    refused = Client(enforce_csrf_checks=True).post("/accounts/login/")
    assert refused.status_code == 403
    assert_secure_headers(refused, "CSRF failure")


def down(*args, **kwargs):
    """Stands in for a Redis call during an outage (the live outage test stops a real
    server)."""
    import redis

    raise redis.ConnectionError("Connection refused")


def test_the_outage_page_has_them(client, monkeypatch):
    """The 503 page of RedisOutageMiddleware."""
    from search import views

    monkeypatch.setattr(views, "movie_detail", down)
    page = client.get("/movies/1/")
    assert page.status_code == 503 and "right back" in page.content.decode()
    assert_secure_headers(page, "503 page")


def test_the_outage_json_has_them(client, monkeypatch):
    from config import health

    monkeypatch.setattr(health, "get_redis", down)
    report = client.get("/health/redis")
    assert report.status_code == 503
    assert_secure_headers(report, "503 health")
