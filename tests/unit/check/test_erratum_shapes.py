"""Erratum shapes (validator/check/shapes.py): a message of a shape gets the findings known
from the first message of that shape. They must be exactly what the detailed route finds,
for every message, whatever its other values."""

from __future__ import annotations

import json

import orjson
import pytest

from messages import CATALOGUE, CT, DETAILED, valid_message
from validator.bench import generate
from validator.check import MISSING, Checker


def _as_dicts(result):
    return result.name, result.verdict, [f.as_dict() for f in result.findings]


@pytest.mark.parametrize("seed", [0, 1])
def test_shaped_results_are_the_detailed_results(seed):
    checker = Checker(CATALOGUE)
    capture = generate(checker, 3000, "17.08", seed)
    shared = 0
    seen = {}
    for (rk, body, props), shape in zip(capture.items, capture.mutations):
        got = checker.check(rk, body, props)
        assert _as_dicts(got) == _as_dicts(DETAILED.check(rk, body, props)), body
        if got.findings:
            shared += seen.get(id(got.findings), 0)
            seen.setdefault(id(got.findings), 1)
    assert shared  # findings known from an earlier message of the shape were used


def _user_less_call(call_id: str, status: str) -> bytes:
    rk, msg = valid_message("call_updated")
    msg["data"].update(user_uuid=None, call_id=call_id, status=status)
    msg["required_acl"] = "events.calls.None"
    return rk, json.dumps(msg).encode()


def test_a_shape_shares_findings_only_where_they_cannot_differ():
    checker = Checker(CATALOGUE)
    first = checker.check(*_user_less_call("1.1", "Up"), CT)
    second = checker.check(*_user_less_call("2.2", "Down"), CT)
    assert first.findings and second.findings is first.findings  # one shape, one answer
    # The same deviation beside another fault is no longer the shape: found afresh.
    rk, body = _user_less_call("3.3", "Ringin")
    third = checker.check(rk, body, CT)
    assert third.findings is not first.findings
    assert _as_dicts(third) == _as_dicts(DETAILED.check(rk, body, CT))
    assert "D602" in [f.code for f in third.findings]


def test_a_deviation_whose_words_quote_its_value_is_no_shape():
    # A string source_entry_id (erratum E2) is quoted in its finding: each message its own.
    checker = Checker(CATALOGUE)
    words = []
    for entry in ("abc", "xyz"):
        rk, msg = valid_message("favorite_added")
        msg["data"]["source_entry_id"] = entry
        body = json.dumps(msg).encode()
        result = checker.check(rk, body, CT)
        assert _as_dicts(result) == _as_dicts(DETAILED.check(rk, body, CT))
        words.append(" ".join(f.message for f in result.findings))
    assert '"abc"' in words[0] and '"xyz"' in words[1]


@pytest.mark.parametrize("mix", ["17.08", "failing"])
def test_check_and_check_parsed_agree(mix):
    # The run loop calls check_parsed (it hands the decoded body on), the API check: the
    # same steps written twice, held equal here.
    a, b = Checker(CATALOGUE), Checker(CATALOGUE)
    for rk, body, props in generate(a, 1500, mix, seed=7).items:
        result, msg = b.check_parsed(rk, body, props)
        assert _as_dicts(a.check(rk, body, props)) == _as_dicts(result)
        if msg is not MISSING:
            assert msg == orjson.loads(body)
