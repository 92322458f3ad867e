"""The JSON Schema pieces every part of the OpenAPI document is built from: the plain
types, references, nullable values, closed objects and lists, and the error answer."""

from typing import Any

Schema = dict[str, Any]

INTEGER = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
NUMBER = {"type": "number"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
DATE_TIME = {"type": "string", "format": "date-time"}


def ref(name: str) -> Schema:
    """A reference to the component schema `name`."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """The schema, or null (OpenAPI 3.1 is JSON Schema 2020-12: a list of types)."""
    return {**schema, "type": [schema["type"], "null"]}


def closed_object(properties: Schema, description: str | None = None) -> Schema:
    """A closed object: every property is always present, and no other is."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def array(items: Schema, description: str | None = None) -> Schema:
    """A list of `items`."""
    schema = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


# What every API answers on an error: `{"error": "<reason>"}`.
ERROR = closed_object({"error": {"type": "string", "minLength": 1}})
