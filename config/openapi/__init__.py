"""The OpenAPI 3.1 document of the JSON APIs, served at `GET /api/openapi.json`.

Built from the code's own constants (sort orders, page sizes, ranges, limits, rule
names, stores), so the document changes with the code it describes. `schemas` and
`paths` hold the shared pieces; `search`, `insights` and `operations` each app's paths
and the schemas of their answers; `examples` an example answer per schema. tests/api
checks that it names every route under /api/, that it is valid OpenAPI 3.1, and fuzzes
the live app against it with schemathesis.
"""

from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from config.openapi.insights import analytics_components, analytics_paths
from config.openapi.operations import operations_components, operations_paths
from config.openapi.paths import SECURITY_SCHEME
from config.openapi.schemas import ERROR
from config.openapi.search import search_components, search_paths


@cache
def openapi_document() -> dict[str, Any]:
    """The whole document, built once per process."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Movie Library Explorer API",
            "version": "1.0.0",
            "description": "Movie search (public), web analytics and operations (staff "
            'only). Every API answers JSON, errors included: `{"error": "<reason>"}`. '
            "A bad parameter is a 400, a staff API without a staff session a 401 (not logged "
            "in) or 403 (not staff), and Redis being down a 503. Outside this document: "
            "`GET /health/redis` (200 or 503, every store's status) and `GET /metrics` "
            "(Prometheus text; loopback, a bearer token or a staff session).",
        },
        "tags": [
            {"name": "search", "description": "Public: the movie search and autocomplete."},
            {"name": "analytics", "description": "Staff only: web analytics."},
            {"name": "operations", "description": "Staff only: metrics, alerts, Redis."},
        ],
        "paths": {**search_paths(), **analytics_paths(), **operations_paths()},
        "components": {
            "schemas": {
                "Error": ERROR,
                **search_components(),
                **analytics_components(),
                **operations_components(),
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": settings.SESSION_COOKIE_NAME,
                    "description": "The session cookie of a staff user, set by logging in "
                    "at /accounts/login/. Without it the staff APIs answer 401, with a "
                    "non-staff user's session 403.",
                }
            },
        },
    }


@require_GET
def openapi_view(request: HttpRequest) -> JsonResponse:
    """Public: the document is no secret, and it says which APIs need a staff session."""
    return JsonResponse(openapi_document())
