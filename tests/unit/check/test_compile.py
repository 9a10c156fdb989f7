"""compile.boolean_form: the schemas the checker only asks is_valid of (UUIDs by jsonschema-rs's
format, $refs inlined) accept exactly what the catalogue's schemas accept."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
import strategies_profile
from hypothesis import given, settings
from hypothesis import strategies as st
from messages import CHECKER, all_names, valid_message

from validator.check.compile import ENGINE_UUID_PATTERN, boolean_form

UUID = "7583d22c-6f1c-44b4-aac7-3cb345f404ae"
BY_PATTERN = jsonschema_rs.Draft202012Validator({"type": "string", "pattern": ENGINE_UUID_PATTERN})
BY_FORMAT = jsonschema_rs.Draft202012Validator({"type": "string", "format": "uuid"},
                                               validate_formats=True)
PYTHON_RE = re.compile(ENGINE_UUID_PATTERN.replace("$", r"\Z"))  # Rust's $ is the text's end


def _edits():
    # A UUID with characters replaced, inserted or removed: the strings near the boundary.
    chars = st.sampled_from("0123456789abcdefABCDEFgG-_ {}:\n\u0660\u00e9xX")
    return st.builds(
        lambda base, ops: _apply(base, ops),
        st.sampled_from([UUID, UUID.upper(), UUID.replace("-", ""), "urn:uuid:" + UUID,
                         "{" + UUID + "}"]),
        st.lists(st.tuples(st.sampled_from("rid"), st.integers(0, 45), chars), max_size=3))


def _apply(text, ops):
    for op, at, char in ops:
        at = min(at, len(text))
        if op == "r" and at < len(text):
            text = text[:at] + char + text[at + 1:]
        elif op == "i":
            text = text[:at] + char + text[at:]
        elif op == "d":
            text = text[:at] + text[at + 1:]
    return text


@settings(max_examples=strategies_profile.examples(400))
@given(st.one_of(_edits(), st.text(max_size=40)))
def test_the_uuid_format_accepts_what_the_pattern_matches(text):
    expected = PYTHON_RE.match(text) is not None
    assert BY_PATTERN.is_valid(text) is expected
    assert BY_FORMAT.is_valid(text) is expected


def test_the_boundary_cases_agree():
    near = [UUID, UUID.upper(), UUID + "\n", " " + UUID, UUID[:-1], UUID + "0",
            UUID.replace("-", ""), "urn:uuid:" + UUID, "{" + UUID + "}",
            UUID[:8] + "_" + UUID[9:], "\u0667" + UUID[1:], UUID[:-1] + "\u00e9"]
    assert [BY_FORMAT.is_valid(t) for t in near] == [BY_PATTERN.is_valid(t) for t in near]
    assert [BY_FORMAT.is_valid(t) for t in near][:2] == [True, True]
    assert not any(BY_FORMAT.is_valid(t) for t in near[2:])


def _uuid_node():
    return {"type": "string", "pattern": ENGINE_UUID_PATTERN}


def test_uuid_patterns_become_the_format_and_refs_are_inlined():
    schema = {"$defs": {"uuid": _uuid_node()},
              "properties": {"a": {"$ref": "#/$defs/uuid", "description": "who"},
                             "pattern": {"type": "string"}}}
    form, formats = boolean_form(schema, ENGINE_UUID_PATTERN)
    assert formats is True
    assert form == {"properties": {"a": {"type": "string", "format": "uuid", "description": "who"},
                                   "pattern": {"type": "string"}}}


def test_a_ref_with_other_siblings_is_not_inlined():
    # Inlining merges the siblings into the target: {"required"} here would be kept, but a
    # sibling the target also has would be lost.
    schema = {"$defs": {"t": {"type": "object", "required": ["x"]}},
              "properties": {"a": {"$ref": "#/$defs/t", "required": ["y"]}}}
    form, formats = boolean_form(schema, ENGINE_UUID_PATTERN)
    assert form == schema and formats is False
    validator = jsonschema_rs.Draft202012Validator(form)
    assert not validator.is_valid({"a": {"y": 1}}) and validator.is_valid({"a": {"x": 1, "y": 1}})


def test_a_schema_with_its_own_format_is_left_as_it_is():
    schema = {"properties": {"when": {"type": "string", "format": "date-time"},
                             "who": _uuid_node()}}
    assert boolean_form(schema, ENGINE_UUID_PATTERN) == (schema, False)


def test_values_are_not_schemas():
    schema = {"properties": {"a": {"const": {"pattern": ENGINE_UUID_PATTERN}},
                             "b": {"enum": [{"format": 1}]}, "default": _uuid_node()}}
    form, formats = boolean_form(schema, ENGINE_UUID_PATTERN)
    assert formats is True
    assert form["properties"]["a"] == schema["properties"]["a"]
    assert form["properties"]["b"] == schema["properties"]["b"]
    assert form["properties"]["default"] == {"type": "string", "format": "uuid"}


def test_another_uuid_pattern_is_kept():
    lower = ENGINE_UUID_PATTERN.replace("a-fA-F", "a-f")
    schema = {"properties": {"a": {"type": "string", "pattern": lower}}}
    assert boolean_form(schema, lower) == (schema, False)


def test_recursive_refs_stay_refs():
    node = {"anyOf": [{"type": "null"}, {"type": "array", "items": {"$ref": "#/$defs/n"}}]}
    schema = {"$defs": {"n": node}, "$ref": "#/$defs/n"}
    form, _ = boolean_form(schema, ENGINE_UUID_PATTERN)
    validator = jsonschema_rs.Draft202012Validator(form)
    assert validator.is_valid([[None], []]) and not validator.is_valid([[1]])


@pytest.mark.parametrize("name", all_names())
def test_every_events_fast_schema_answers_as_the_catalogues(name):
    # The fast validator (boolean form) and the catalogue's own schema, on a valid message
    # and on it with each UUID-named field broken.
    compiled, _ = CHECKER.resolve(name)
    if compiled.not_yet:
        pytest.skip("not in the target version")
    own = CHECKER.validator(compiled.data_schema)
    boolean = CHECKER.boolean_validator(compiled.data_schema)
    _, msg = valid_message(name)
    data = msg.get("data")
    variants = [data]
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and CHECKER.is_uuid(value):
                variants += [dict(data, **{key: value.upper()}), dict(data, **{key: value + "\n"}),
                             dict(data, **{key: value[:-1]})]
    assert [boolean.is_valid(v) for v in variants] == [own.is_valid(v) for v in variants]
    assert compiled.is_valid(msg)
