"""The pieces of the document's paths: the query parameters, the answers of an API
(success with its example, bad input, not staff, outage) and its GET operation."""

from typing import Any

from config.openapi.examples import EXAMPLES
from config.openapi.schemas import Schema, ref

SECURITY_SCHEME = "staffSession"
STAFF_ONLY = [{SECURITY_SCHEME: []}]

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again (sent by most outage answers).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


def query(
    name: str,
    schema: Schema,
    description: str,
    empty_is_default: bool = True,
    **extra: Any,
) -> Schema:
    """An optional query parameter. Most treat an empty value as absent, as an HTML form
    sends an empty field."""
    parameter = {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
        **extra,
    }
    if empty_is_default:
        parameter["allowEmptyValue"] = True
        parameter["description"] += " An empty value is the same as none."
    return parameter


def _json(schema: Schema, description: str, example: Any = None) -> Schema:
    media_type = {"schema": schema}
    if example is not None:
        media_type["example"] = example
    return {"description": description, "content": {"application/json": media_type}}


def _error(description: str, headers: Schema | None = None) -> Schema:
    response = _json(ref("Error"), description)
    if headers:
        response["headers"] = headers
    return response


def _responses(
    schema: str, ok_description: str, bad_request: str | None, staff: bool, outage: str
) -> Schema:
    answers = {"200": _json(ref(schema), ok_description, EXAMPLES.get(schema))}
    if bad_request:
        answers["400"] = _error(bad_request)
    if staff:
        answers["401"] = _error("Not logged in: this API needs a staff session.")
        answers["403"] = _error("Logged in, but not as staff.")
    answers["503"] = _error(outage, RETRY_AFTER)
    return answers


def api_get(
    operation_id: str,
    tag: str,
    summary: str,
    description: str,
    parameters: list[Schema],
    *,
    schema: str,
    ok_description: str,
    bad_request: str | None,
    staff: bool,
    outage: str,
) -> Schema:
    """The path item of a JSON API read by GET. It answers 200 with the component
    `schema` (and its example from `examples`), 400 with `bad_request` when that is
    given, 401/403 when it is `staff` only (which then needs the staff session), and
    503 with `outage`."""
    operation = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": description,
        "parameters": parameters,
        "responses": _responses(schema, ok_description, bad_request, staff, outage),
    }
    if staff:
        operation["security"] = STAFF_ONLY
    return {"get": operation}
