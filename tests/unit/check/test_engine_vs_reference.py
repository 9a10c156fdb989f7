"""The run-time engine (jsonschema-rs errors, explain.py) against the independent reference
(Python jsonschema with ECMA-262 patterns, reference.py): the same verdicts, names, codes,
paths, severities and errata on generated, erratum-shaped, mutated and fuzzed messages."""

from __future__ import annotations

import copy
import json

import pytest
import strategies_profile
from hypothesis import given, settings
from hypothesis import strategies as st
from engine_reference import reference_explainer

from validator.generate import strategies as S
from validator.catalogue import load_catalogue
from validator.check import Checker

CAT = load_catalogue()
FIRST = CAT.version_range[0]
CHECKERS = {v: (Checker(CAT, v), Checker(CAT, v, fast=False)) for v in (CAT.contract_version, FIRST)}
REFERENCES = {}
for _v in CHECKERS:
    _ref = Checker(CAT, _v, fast=False)
    REFERENCES[_v] = Checker(CAT, _v, fast=False, explainer=reference_explainer(_ref))


def _field_names(node, out):
    if isinstance(node, dict):
        out.update(node.get("properties", {}))
        for value in node.values():
            _field_names(value, out)
    elif isinstance(node, list):
        for value in node:
            _field_names(value, out)
    return out


# Keys the catalogue documents, plus UUID-named ones: fuzzed objects hit real fields.
KEYS = sorted(_field_names(CAT.raw, set())) + ["uuid", "x_uuid", "a\n_uuid", "x_uuid\n"]
SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=12) | st.sampled_from(["ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3",
                                                     "Rsrvd", "Unknown (12)", "1455123422.8"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5), max_leaves=12)


def key(result):
    return (result.verdict, result.name, sorted(
        (f.code, f.path, f.severity, f.erratum) for f in result.findings))


def agree(routing_key, body, properties, version=None):
    version = version or CAT.contract_version
    fast, detailed = CHECKERS[version]
    one = fast.check(routing_key, body, properties)
    two = detailed.check(routing_key, body, properties)
    ref = REFERENCES[version].check(routing_key, body, properties)
    assert one.as_dict() == two.as_dict()
    assert key(one) == key(ref), (routing_key, body, one, ref)
    return one


@settings(max_examples=strategies_profile.examples(60))
@given(S.examples(CAT))
def test_generated_messages(example):
    agree(example.routing_key, example.body, example.properties)


@settings(max_examples=strategies_profile.examples(60))
@given(S.erratum_examples(CAT))
def test_erratum_shaped_messages(example):
    result = agree(example.routing_key, example.body, example.properties)
    assert any(f.erratum for f in result.findings)


@settings(max_examples=strategies_profile.examples(80))
@given(S.mutants(CAT))
def test_mutated_messages(mutant):
    ex = mutant.example
    agree(ex.routing_key, ex.body, ex.properties)


@settings(max_examples=strategies_profile.examples(40))
@given(S.mutants(CAT, wazo_version=FIRST))
def test_mutated_messages_at_the_first_version(mutant):
    ex = mutant.example
    agree(ex.routing_key, ex.body, ex.properties, FIRST)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=strategies_profile.examples(150))
@given(S.examples(CAT), st.data())
def test_fuzzed_data_values(example, data):
    """Any JSON value anywhere in a documented event's data."""
    msg = copy.deepcopy(example.msg)
    path = data.draw(st.sampled_from(list(_paths(msg["data"]))))
    value = data.draw(JSON)
    if path:
        node = msg["data"]
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    else:
        msg["data"] = value
    agree(example.routing_key, json.dumps(msg).encode(), example.properties)


@settings(max_examples=strategies_profile.examples(60))
@given(S.examples(CAT), st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), JSON,
                                        max_size=4))
def test_fuzzed_extra_fields(example, extra):
    msg = copy.deepcopy(example.msg)
    if isinstance(msg["data"], dict):
        msg["data"].update(extra)
    agree(example.routing_key, json.dumps(msg).encode(), example.properties)


@settings(max_examples=strategies_profile.examples(60))
@given(JSON, st.sampled_from(CAT.all_names() + ["switchboard_queued", "QueueMemberStatus"]),
       st.one_of(st.none(), st.text(max_size=20)))
def test_fuzzed_whole_messages(value, name, routing_key):
    if isinstance(value, dict) and value:
        value.setdefault("name", name)
    agree(routing_key, json.dumps(value).encode(), {"content_type": "application/json"})


HOSTILE_KEYS = ["", "0", "01", "+1", "a/b", "~0", "~1", "x_uuid\n", "a\n_uuid"]


@pytest.mark.parametrize("key_", HOSTILE_KEYS)
@pytest.mark.parametrize("value", [None, 0, "x", {"": None}, {"0": 1, "01": None}])
def test_keys_that_jsonschema_rs_paths_lose(key_, value):
    """jsonschema-rs's instance_path drops empty keys and turns "01" into 1: paths must
    still be exact (explain.plain_path falls back to the evaluation's JSON pointers)."""
    from messages import valid_message
    rk, msg = valid_message("call_created")
    msg["data"]["talking_to"] = {key_: value, "ch": {key_: value}}
    msg["data"][key_] = value
    agree(rk, json.dumps(msg).encode(), {"content_type": "application/json"})
