"""Schemathesis fuzzes every operation of /api/openapi.json against the live app.

The WSGI application runs in-process on the session's real Redis Stack, with the
bundled catalogue, real analytics and metrics, and alerts in every state. The staff
APIs get a staff session cookie through the document's own security scheme, and
`ignored_auth` checks that they refuse requests without it (or with a bad one).

Every case must pass: no 5xx, only documented status codes, content types and headers,
every body as documented, every input the document forbids answered with a 4xx, and
every input it allows accepted (a search may still refuse one for what the catalogue
holds, with a reason checked here). The run is deterministic (derandomized, no example
database), and prints how many cases each operation got.
"""

import re
from collections import Counter, defaultdict
from functools import cache

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.openapi import openapi_document
from search.params import FACET_LABELS, RANGE_FIELDS

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 100  # fuzzed cases per operation, beside the coverage phase's own cases
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    ignored_auth,
]


SEARCH = f"GET {reverse('api-search')}"
# What a search may refuse although each parameter is as documented: what the catalogue
# holds (an unknown genre, a page past the last one) or what no per-parameter schema says
# (a reversed range, a page beyond the browsable results).
SEARCH_REFUSALS = re.compile(
    rf"^(unknown ({'|'.join(FACET_LABELS)}) |({'|'.join(RANGE_FIELDS)}) range is reversed "
    r"|page [0-9]+ is past the last page|only the first [0-9,]+ results can be browsed)"
)
# There, and only there, input the document allows may be a 400 (its reason is checked
# in the test).
CONFIG = schemathesis.Config.from_dict(
    {
        "operations": [
            {
                "include-path": reverse("api-search"),
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400"]}},
            }
        ]
    }
)


@cache
def _django_app():
    return WSGIHandler()


def wsgi_app(environ, start_response):
    """Django's WSGI application, built at the first request: by then the session's
    fixtures point the settings at the test Redis (building it at import would read the
    settings before that, e.g. start the background writers of request figures)."""
    return _django_app()(environ, start_response)


# Loaded from the function that /api/openapi.json serves (test_openapi.py checks they
# are the same): schemathesis's fixture-based loader does not run under pytest 9.2, and
# fetching the document at import would send a request before the test settings apply.
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)
schema.app = wsgi_app  # what from_wsgi() sets: every call goes to the app in-process
STAFF_PATHS = sorted(
    path
    for path, item in openapi_document()["paths"].items()
    if any(operation.get("security") for operation in item.values())
)
STAFF_COOKIE = {}  # the session cookie of this run's staff user (`staff_cookie` fixture)
# Schemathesis builds its coverage cases at collection, before the staff user and its
# session exist: those carry this, and the test swaps in the real cookie.
PENDING = "pending-staff-session"


@schema.auth(refresh_interval=None).apply_to(path=STAFF_PATHS)
class StaffSession:
    """The staff APIs' cookie, applied through schemathesis's auth, so it knows the
    credentials: it leaves them out where a case tests a missing cookie, and
    `ignored_auth` repeats requests without them or with a bad one."""

    def get(self, case, context):
        return STAFF_COOKIE.get("value", PENDING)

    def set(self, case, data, context):
        case.cookies = {**(case.cookies or {}), django_settings.SESSION_COOKIE_NAME: data}


@pytest.fixture
def staff_cookie(staff_session):
    STAFF_COOKIE["value"] = staff_session
    yield
    STAFF_COOKIE.clear()


@pytest.fixture
def fuzz_log():
    """Status codes seen per operation; afterwards every operation must have answered
    200 at least once (so the staff session worked and the run reached the views)."""
    seen = defaultdict(Counter)
    yield seen
    summary = {label: dict(sorted(codes.items())) for label, codes in sorted(seen.items())}
    print("\nschemathesis cases per operation:", summary)
    print("total cases:", sum(sum(codes.values()) for codes in seen.values()))
    never_ok = [label for label, codes in seen.items() if not codes[200]]
    assert not never_ok, f"never answered 200: {never_ok}"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_api_keeps_its_contract(case, seeded_stores, staff_cookie, fuzz_log):
    cookie = django_settings.SESSION_COOKIE_NAME
    if case.cookies and case.cookies.get(cookie) == PENDING:
        case.cookies[cookie] = STAFF_COOKIE["value"]
    response = case.call_and_validate(checks=CHECKS)
    fuzz_log[case.operation.label][response.status_code] += 1
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if case.operation.label == SEARCH and response.status_code == 400 and positive:
        assert SEARCH_REFUSALS.match(response.json()["error"]), response.json()
