"""The JSON Schema of ``report.json`` and its validation.

:func:`validate_report` uses the ``jsonschema`` package when it is installed (a test dependency)
and otherwise a small built-in checker of the schema keywords ``report.schema.json`` uses
(type, enum, required, properties, additionalProperties, items, minItems, maxItems, minimum,
maximum, exclusiveMinimum, allOf, local ``$ref``).
"""
from __future__ import annotations

import functools
import json
import os

from ..errors import NsocError

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "report.schema.json")
SCHEMA_NAME = "nsoc-report"
SCHEMA_VERSION = 1


class ReportError(NsocError):
    """A report file is missing, unreadable, of another schema version, or does not validate."""


@functools.lru_cache(maxsize=1)
def load_schema() -> dict:
    """The report JSON Schema (dict)."""
    with open(SCHEMA_PATH) as f:
        return json.load(f)


_TYPES: dict[str, type] = {"object": dict, "array": list, "string": str, "null": type(None)}


def _is_type(value, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "boolean":
        return isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def _check(value, schema: dict, root: dict, path: str, errors: list) -> None:
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        _check(value, target, root, path, errors)
    for sub in schema.get("allOf", ()):
        _check(value, sub, root, path, errors)
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_is_type(value, t) for t in names):
            errors.append(f"{path}: expected {'/'.join(names)}, got {type(value).__name__}")
            return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append(f"{path}: {value} <= exclusive minimum {schema['exclusiveMinimum']}")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                errors.append(f"{path}: missing key '{key}'")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _check(item, props[key], root, f"{path}.{key}", errors)
            elif isinstance(extra, dict):
                _check(item, extra, root, f"{path}.{key}", errors)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], root, f"{path}[{i}]", errors)


def schema_errors(data: dict) -> list[str]:
    """Problems of ``data`` against the report schema (empty when valid); uses jsonschema when
    installed, else the built-in checker."""
    schema = load_schema()
    try:
        import jsonschema
    except ImportError:
        errors: list[str] = []
        _check(data, schema, schema, "report", errors)
        return errors
    validator = jsonschema.Draft202012Validator(schema)
    return [f"report.{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(data)]


def validate_report(data: dict) -> None:
    """Raise :class:`ReportError` naming the first problems when ``data`` breaks the schema."""
    if isinstance(data, dict) and data.get("schema") == SCHEMA_NAME \
            and data.get("schema_version") not in (None, SCHEMA_VERSION):
        raise ReportError(f"report schema version {data.get('schema_version')} is not supported "
                          f"(this nsoc reads version {SCHEMA_VERSION}); re-run the simulation")
    errors = schema_errors(data)
    if errors:
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ReportError("report does not match report.schema.json: " + "; ".join(errors[:3])
                          + more)
