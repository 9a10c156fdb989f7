"""JSON's names for Python values, shared by every module that speaks of a value's type."""

from __future__ import annotations


def json_type(value, *, integer: bool = True) -> str:
    """The JSON Schema type of a decoded JSON value: "integer" for a whole number (JSON
    Schema's word), or "number" with integer=False (the plain word in a message)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if integer else "number"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
