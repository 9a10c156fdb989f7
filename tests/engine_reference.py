"""The independent reference for the checker's data findings: Python `jsonschema`, with
ECMA-262 patterns through `regress` (the JSON Schema semantics), mapped to codes from its
own error model (validator keyword, schema node, absolute path). The run-time engine
derives the same findings from jsonschema-rs errors; the tests check they agree.
"""

from __future__ import annotations

import jsonschema
import regress

from validator.findings import json_path

_REGEXES: dict[str, regress.Regex] = {}


def ecma_search(pattern: str, text: str) -> bool:
    compiled = _REGEXES.get(pattern)
    if compiled is None:
        compiled = _REGEXES[pattern] = regress.Regex(pattern)
    return compiled.find(text) is not None


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not ecma_search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


ReferenceValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})
VALUE_KEYWORDS = ("enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                  "multipleOf")


def reference_explainer(checker):
    """An `explainer` for Checker(explainer=...): data schema -> explain(data, add)."""
    catalogue = checker.catalogue
    uuid_pattern = catalogue.definitions["uuid"]["pattern"]
    uuid_fields = catalogue.meta["uuid_fields"]

    def is_uuid(value) -> bool:
        return isinstance(value, str) and ecma_search(uuid_pattern, value)

    def make(data_schema):
        validator = ReferenceValidator(data_schema)

        def explain(data, add):
            seen_required = set()  # jsonschema yields `required` once per missing property
            for error in validator.iter_errors(data):
                if error.validator == "required":
                    where = (tuple(error.absolute_path), id(error.schema))
                    if where in seen_required:
                        continue
                    seen_required.add(where)
                _explain(error, add, uuid_pattern, uuid_fields, is_uuid)
        return explain
    return make


def _explain(error, add, uuid_pattern, uuid_fields, is_uuid):
    parts = ("data",) + tuple(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        for prop in error.validator_value:
            if isinstance(error.instance, dict) and prop not in error.instance:
                add("D600", json_path(parts + (prop,)), f"{prop!r} is required")
        return
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {})
        patterns = list(error.schema.get("patternProperties", {}))
        for prop, value in error.instance.items():
            if prop in declared or any(ecma_search(p, prop) for p in patterns):
                continue
            path = json_path(parts + (prop,))
            add("D604", path, f"{prop!r} is extra", value)
            if ecma_search(uuid_fields, prop) and value is not None and not is_uuid(value):
                add("D605", path, f"{prop} is not a UUID", value)
        return
    is_uuid_schema = isinstance(error.schema, dict) and error.schema.get("pattern") == uuid_pattern
    if keyword in ("type", "pattern") and is_uuid_schema:
        code = "D605"
    elif keyword == "type":
        code = "D601"
    elif keyword == "pattern":
        code = "D603"
    elif keyword in VALUE_KEYWORDS or (keyword == "anyOf" and all(
            isinstance(b, dict) and b and set(b) <= {"enum", "const", "pattern", "description",
                                                     "x-source"}
            for b in error.validator_value)):
        code = "D602"
    else:
        code = "D609"
    add(code, json_path(parts), error.message, error.instance)
