"""Staff-only stays staff-only: every URL pattern, enumerated from the URL resolver.

Every route under /insights/, /api/analytics/, /operations/, /api/operations/ and
/admin/ is requested as an anonymous user, a logged-in non-staff user and staff. A new
view under those prefixes fails `test_every_staff_route_has_a_sample` until it is added
to SAMPLES below (and so checked); a new route anywhere else fails
`test_every_other_route_is_known_to_be_public` until it is listed as public on purpose.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

STAFF_PREFIXES = ("insights/", "api/analytics/", "operations/", "api/operations/")
ADMIN_PREFIX = "admin/"
# Routes meant for everyone (or with their own access rule, like /metrics).
PUBLIC_ROUTES = {
    "",
    "movies/<int:movie_id>/",
    "api/search",
    "api/search/suggest",
    "api/openapi.json",
    "health/redis",
    "accounts/login/",
    "accounts/logout/",
    "metrics",
    "favicon.ico",
}

ALERT = "0123456789abcdef"  # a well-formed alert id; no such alert is active
# route -> (method, concrete path, what staff gets). Staff's answer is the view working:
# 200, or the redirect of a successful POST.
SAMPLES = {
    "insights/": ("get", "/insights/", 200),
    "insights/export/<slug:table>.csv": ("get", "/insights/export/pages.csv", 200),
    "api/analytics/page-views": ("get", "/api/analytics/page-views", 200),
    "api/analytics/search-activities": ("get", "/api/analytics/search-activities", 200),
    "api/analytics/user-countries": ("get", "/api/analytics/user-countries", 200),
    "api/analytics/page-activities": ("get", "/api/analytics/page-activities", 200),
    "operations/": ("get", "/operations/", 200),
    "operations/alerts/<str:alert_id>/acknowledge": (
        "post",
        f"/operations/alerts/{ALERT}/acknowledge",
        302,
    ),
    "api/operations/system-metrics": ("get", "/api/operations/system-metrics", 200),
    "api/operations/performance-metrics": ("get", "/api/operations/performance-metrics", 200),
    "api/operations/alerts": ("get", "/api/operations/alerts", 200),
    "api/operations/redis-info": ("get", "/api/operations/redis-info", 200),
    "api/operations/configuration": ("get", "/api/operations/configuration", 200),
}


def all_routes(patterns=None, prefix=""):
    """Every URL pattern of the project as its full route string."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern)


ROUTES = list(all_routes())
STAFF_ROUTES = [r for r in ROUTES if r.startswith(STAFF_PREFIXES)]
ADMIN_ROUTES = [r for r in ROUTES if r.startswith(ADMIN_PREFIX)]


def test_the_walk_finds_the_dashboards_their_apis_and_the_admin():
    assert len(STAFF_ROUTES) >= 13
    assert len(ADMIN_ROUTES) >= 25  # index, login, auth and operations model pages, ...


def test_every_staff_route_has_a_sample():
    missing = sorted(set(STAFF_ROUTES) - set(SAMPLES))
    assert not missing, f"new staff route(s) {missing}: add them to SAMPLES"
    assert sorted(SAMPLES) == sorted(STAFF_ROUTES)


def test_every_other_route_is_known_to_be_public():
    others = {r for r in ROUTES if not r.startswith((*STAFF_PREFIXES, ADMIN_PREFIX))}
    assert others == PUBLIC_ROUTES, "a route outside the staff prefixes: decide who may see it"


def is_api(path):
    return path.startswith("/api/")


def request(client, route):
    method, path, _ = SAMPLES[route]
    return path, getattr(client, method)(path)


# One test per kind of user walks every route (a test's set-up costs more than the
# requests): the assertion message names the route that failed.
@pytest.mark.django_db
def test_anonymous_is_sent_to_login_or_gets_401_json(client):
    for route in STAFF_ROUTES:
        path, response = request(client, route)
        if is_api(path):
            assert response.status_code == 401, route
            assert response.json() == {"error": "authentication required"}, route
        else:
            assert response.status_code == 302, route
            assert response["Location"].startswith("/accounts/login/?next="), route


@pytest.mark.django_db
def test_non_staff_gets_403(user_client):
    for route in STAFF_ROUTES:
        path, response = request(user_client, route)
        assert response.status_code == 403, route
        if is_api(path):
            assert response.json() == {"error": "staff only"}, route
        else:
            assert "for staff only" in response.content.decode(), route


@pytest.mark.django_db
def test_staff_gets_the_view(staff_client):
    for route in STAFF_ROUTES:
        _, response = request(staff_client, route)
        assert response.status_code == SAMPLES[route][2], route
        if response.status_code == 302:  # the acknowledge form returns to the dashboard
            assert response["Location"] == "/operations/", route


@pytest.mark.django_db
def test_the_login_page_has_a_protected_form_that_keeps_next(client):
    page = client.get("/accounts/login/?next=/operations/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in body and 'name="password"' in body
    assert 'value="/operations/"' in body


@pytest.mark.django_db
def test_a_wrong_password_shows_the_form_again_saying_so(client, staff_user):
    wrong = client.post("/accounts/login/", {"username": "staff", "password": "nope"})
    assert wrong.status_code == 200 and "didn't match" in wrong.content.decode()


@pytest.mark.django_db
def test_login_page_logs_staff_in_and_back_to_the_dashboard(client, staff_user):
    done = client.post(
        "/accounts/login/",
        {"username": "staff", "password": "staff-pass-123", "next": "/operations/"},
    )
    assert done.status_code == 302 and done["Location"] == "/operations/"
    assert client.get("/operations/").status_code == 200


@pytest.mark.django_db
def test_login_never_redirects_off_site(client, staff_user):
    done = client.post(
        "/accounts/login/",
        {"username": "staff", "password": "staff-pass-123", "next": "https://evil.example/"},
    )
    assert done.status_code == 302 and done["Location"] == "/"


# --- the admin --------------------------------------------------------------------------


def admin_path(route, samples):
    """A concrete URL for one admin route."""
    if route.startswith("admin/^(?P<app_label>"):
        return "/admin/operations/"
    if route == "admin/(?P<url>.*)$":
        return "/admin/no-such-page/"
    if route.startswith("admin/r/"):
        return f"/admin/r/{samples['content_type_id']}/{samples['auth/user/']}/"
    model = next((m for m in samples if route.startswith("admin/" + m)), None)

    def value(match):
        return str(samples[model])

    path = "/" + re.sub(r"<(?:\w+:)?(?:object_id|id)>", value, route)
    assert "<" not in path, f"no sample for {route}"
    return path


# What a superuser gets where it is not 200, and why.
ADMIN_NOT_200 = {
    "admin/login/": 302,  # already logged in: on to the index
    "admin/logout/": 405,  # POST only
    "admin/autocomplete/": 403,  # no model offers autocompletion
    "admin/operations/alertthreshold/add/": 403,  # the five rules exist: nothing to add
    "admin/operations/alertthreshold/<path:object_id>/delete/": 403,  # never deleted
    "admin/(?P<url>.*)$": 404,
}
# Never admin content: anyone gets these (the login form; Django's view-on-site
# shortcut, 404 here because no model has a public page).
ADMIN_OPEN = {"admin/login/", "admin/logout/", "admin/r/<path:content_type_id>/<path:object_id>/"}


def log_in_as(who, client, django_user_model):
    if who == "non-staff":
        client.force_login(django_user_model.objects.create_user("viewer", password="v-123456"))


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_only_staff_get_into_the_admin(client, django_user_model, admin_samples, who):
    log_in_as(who, client, django_user_model)
    checked = 0
    for route in ADMIN_ROUTES:
        if route in ADMIN_OPEN:
            continue
        path = admin_path(route, admin_samples)
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/?next="), path
        checked += 1
    assert checked == len(ADMIN_ROUTES) - len(ADMIN_OPEN)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_the_admin_redirect_shows_its_login_form_not_the_admin(client, django_user_model, who):
    log_in_as(who, client, django_user_model)
    login = client.get("/admin/", follow=True)
    body = login.content.decode()
    assert login.status_code == 200 and 'id="login-form"' in body
    assert "Alert thresholds" not in body
    if who == "non-staff":
        assert "not authorized to access this page" in body


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "non-staff"])
def test_the_admin_logout_is_never_a_page(client, django_user_model, who):
    log_in_as(who, client, django_user_model)
    assert client.get("/admin/logout/").status_code in (302, 405)


@pytest.mark.django_db
def test_a_superuser_gets_every_admin_page(superuser_client, admin_samples):
    for route in ADMIN_ROUTES:
        if route == "admin/r/<path:content_type_id>/<path:object_id>/":
            continue  # the view-on-site shortcut: no model here has a public page
        path = admin_path(route, admin_samples)
        response = superuser_client.get(path)
        expected = ADMIN_NOT_200.get(route, 200)
        if route.endswith("<path:object_id>/"):  # the old-style object URL
            assert response.status_code == 302 and response["Location"].endswith("/change/")
            continue
        assert response.status_code == expected, path


@pytest.mark.django_db
def test_plain_staff_see_the_admin_index_but_no_model_without_permission(staff_client):
    assert staff_client.get("/admin/").status_code == 200
    assert staff_client.get("/admin/auth/user/").status_code == 403
