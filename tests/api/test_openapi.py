"""The OpenAPI document at /api/openapi.json: served, valid, complete and truthful.

Complete: every route under /api/ in the URL resolver is in it. Truthful: who may call
each API, the defaults, and the real answers (success, bad input, Redis down) match
what it says. test_schemathesis.py fuzzes the same document against the app.
"""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

from config.openapi import openapi_document
from config.redis_stores import reset_pools
from insights.ranges import RANGES
from search.queries.text import MAX_QUERY_CHARS
from tests.reliability.test_access import all_routes

pytestmark = pytest.mark.django_db

DOCUMENT_ROUTE = "api/openapi.json"
# The JSON APIs the document must describe (issue: search, suggest, four analytics,
# five operations).
EXPECTED_PATHS = {
    "/api/search",
    "/api/search/suggest",
    *(f"/api/analytics/{name}" for name in
      ("page-views", "search-activities", "user-countries", "page-activities")),
    *(f"/api/operations/{name}" for name in
      ("system-metrics", "performance-metrics", "alerts", "redis-info", "configuration")),
}  # fmt: skip
STAFF_PREFIXES = ("/api/analytics/", "/api/operations/")
ANALYTICS_BAD = [{"range": "1y"}, {"limit": "0"}, {"limit": "101"}]
# Bad input for every API that takes parameters: each must be a documented 400.
BAD_REQUESTS = {
    "/api/search": [{"size": "7"}, {"sort": "newest"}, {"genre": "no-such-genre"},
                    {"year_min": "1800"}, {"page": "0"}, {"rating_min": "5", "rating_max": "1"}],
    "/api/search/suggest": [{"q": "x" * (MAX_QUERY_CHARS + 1)}],
    **{f"/api/analytics/{name}": ANALYTICS_BAD for name in
       ("page-views", "search-activities", "user-countries", "page-activities")},
    "/api/operations/system-metrics": [{"range": "30d"}],
    "/api/operations/performance-metrics": [{"range": "30d"}],
    "/api/operations/alerts": [{"limit": "0"}, {"limit": ""}, {"limit": "1001"}],
}  # fmt: skip


def document():
    # As a client sees it: JSON, not the Python dict (tuples become lists).
    return json.loads(json.dumps(openapi_document()))


def operations():
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def response_validator(path, status):
    """A JSON Schema validator of one documented answer's body, $refs resolved within
    the document, formats (date-time) checked."""
    doc = document()
    schema = doc["paths"][path]["get"]["responses"][str(status)]["content"]
    schema = schema["application/json"]["schema"]
    return Draft202012Validator(
        {**schema, "components": doc["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def assert_documented(path, response):
    assert str(response.status_code) in document()["paths"][path]["get"]["responses"], (
        path,
        response.status_code,
    )
    assert response["Content-Type"] == "application/json"
    errors = [e.message for e in response_validator(path, response.status_code).iter_errors(
        response.json())]  # fmt: skip
    assert not errors, (path, response.status_code, errors[:5])


# --- the document itself -----------------------------------------------------------------


def test_the_document_is_served_to_anyone_as_json():
    response = Client().get(reverse("api-openapi"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == document()


def test_the_document_is_valid_openapi_3_1():
    assert document()["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document()).validate()  # raises with the reason


def test_every_api_route_is_documented_and_nothing_else():
    api_routes = {"/" + r for r in all_routes() if r.startswith("api/") and r != DOCUMENT_ROUTE}
    assert api_routes == set(document()["paths"])
    assert api_routes == EXPECTED_PATHS


def test_every_operation_is_a_get_with_an_id_errors_and_the_outage_answer():
    ids = []
    for path, method, operation in operations():
        assert method == "get", path
        ids.append(operation["operationId"])
        responses = operation["responses"]
        assert {"200", "503"} <= set(responses), path
        assert ("400" in responses) == bool(operation["parameters"]), path
        for status, answer in responses.items():
            schema = answer["content"]["application/json"]["schema"]
            if status != "200":
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)
    assert len(ids) == len(set(ids))


def test_the_staff_apis_are_marked_and_the_scheme_is_the_session_cookie():
    scheme = document()["components"]["securitySchemes"]["staffSession"]
    assert scheme == {**scheme, "type": "apiKey", "in": "cookie",
                      "name": settings.SESSION_COOKIE_NAME}  # fmt: skip
    for path, _, operation in operations():
        staff = path.startswith(STAFF_PREFIXES)
        assert (operation.get("security") == [{"staffSession": []}]) == staff, path
        assert ({"401", "403"} <= set(operation["responses"])) == staff, path


def test_every_answer_has_an_example_that_matches_its_schema():
    for path, _, operation in operations():
        answer = operation["responses"]["200"]["content"]["application/json"]
        assert "example" in answer, path
        errors = [e.message for e in response_validator(path, 200).iter_errors(answer["example"])]
        assert not errors, (path, errors[:5])


def test_every_operation_and_parameter_is_described():
    for path, _, operation in operations():
        assert operation["summary"] and operation["description"], path
        for parameter in operation["parameters"]:
            assert parameter["description"], (path, parameter["name"])


# --- the document against the app ---------------------------------------------------------


def test_who_may_call_each_api_is_as_documented(catalogue, staff_client, django_user_model):
    viewer = Client()
    viewer.force_login(django_user_model.objects.create_user("viewer", password="v-pass-123"))
    for path, _, operation in operations():
        anonymous = Client().get(path)
        if operation.get("security"):
            assert anonymous.status_code == 401, path
            assert_documented(path, anonymous)
            refused = viewer.get(path)
            assert refused.status_code == 403, path
            assert_documented(path, refused)
        else:
            assert anonymous.status_code == 200, path
        assert staff_client.get(path).status_code == 200, path


def test_the_documented_defaults_are_the_apis_own(catalogue, staff_client):
    for path, _, operation in operations():
        defaults = {p["name"]: p["schema"]["default"] for p in operation["parameters"]
                    if "default" in p["schema"]}  # fmt: skip
        body = staff_client.get(path).json()
        for name in ("range", "page", "size"):  # the answers that echo them
            if name in defaults:
                assert body[name] == defaults[name], (path, name)


def test_real_answers_match_the_documented_schemas(seeded_stores, staff_client):
    """With every kind of figure present (the fuzzing sees the same stores), so the item
    schemas of the lists are checked too, not only empty lists."""
    answers = {}
    for path in document()["paths"]:
        response = staff_client.get(path, {"q": "star wars"} if "search" in path else {})
        assert response.status_code == 200, path
        assert_documented(path, response)
        answers[path] = response.json()
    assert answers["/api/search"]["movies"] and answers["/api/search/suggest"]["suggestions"]
    events = answers["/api/analytics/page-activities"]["events"]
    assert any(e["search"] for e in events) and any(e["search"] is None for e in events)
    assert answers["/api/analytics/search-activities"]["zero_result_queries"]
    assert answers["/api/analytics/user-countries"]["current_month"]["countries"]
    alerts = answers["/api/operations/alerts"]
    assert {a["state"] for a in alerts["history"]} == {"active", "acknowledged", "resolved"}
    assert answers["/api/operations/configuration"]["collector"]["last_pass"]
    for range_name in RANGES:
        for path in document()["paths"]:
            if path.startswith("/api/analytics/"):
                assert_documented(path, staff_client.get(path, {"range": range_name}))


def test_bad_input_is_a_documented_400(catalogue, staff_client):
    with_parameters = {path for path, _, operation in operations() if operation["parameters"]}
    assert set(BAD_REQUESTS) == with_parameters
    for path, requests in BAD_REQUESTS.items():
        for bad in requests:
            response = staff_client.get(path, bad)
            assert response.status_code == 400, (path, bad)
            assert_documented(path, response)


def test_with_redis_down_every_api_answers_the_documented_503(staff_client, stoppable_server):
    stoppable_server.stop(save=False)
    reset_pools()
    for path in document()["paths"]:
        # a text never searched, so no cached result can answer instead
        response = staff_client.get(path, {"q": "redis is down"} if "search" in path else {})
        assert response.status_code == 503, path
        assert_documented(path, response)
