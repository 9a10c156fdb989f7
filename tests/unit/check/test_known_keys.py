"""What the cheap routes skip (validator/check/routes.py, detailed.py): a routing key or an
ACL equal to the one a name decides has no finding, so a plan that knows it skips their
checks, with a broken envelope too; the content type equal to the catalogue's
skips its normalising. Each skip gives the detailed route's findings."""

from __future__ import annotations

import strategies_profile
from hypothesis import given, settings
from hypothesis import strategies as st
from messages import CATALOGUE, CT, DETAILED, all_names, body, valid_message

from validator.catalogue import REQUIRED_ENVELOPE_KEYS
from validator.check import Checker
from validator.check.detailed import (
    Findings,
    acl_findings,
    content_type_findings,
    routing_key_findings,
)
from validator.check.template import MISSING

CHECKER = Checker(CATALOGUE)
DECIDED = [name for name in all_names()
           if CHECKER.resolve(name)[0].expected_keys(CHECKER.resolve(name)[1]) is not None]


def _codes(check, *args) -> list:
    found = Findings()
    check(*args, found.add)
    return [f.code for f in found.out]


def test_the_keys_a_name_decides_have_no_finding():
    assert DECIDED  # most names decide their key and ACL
    for name in DECIDED:
        compiled, values = CHECKER.resolve(name)
        expected_rk, expected_acl = compiled.expected_keys(values)
        _, msg = valid_message(name)
        assert not _codes(routing_key_findings, compiled, values, msg, expected_rk,
                          CHECKER.owner_of)
        acl = expected_acl if type(expected_acl) is str else MISSING
        assert not _codes(acl_findings, compiled, values, msg, acl)


_RK = st.sampled_from(["right", "word", "other", "none"])
_ACL = st.one_of(st.sampled_from(["right", "absent", None, 3, "events.nobody"]), st.text(max_size=8))
_DATA = st.sampled_from(["valid", "extra", "wrong", "gone"])


def _variant(name, rk_kind, acl_kind, data_kind, dropped=None):
    rk, msg = valid_message(name)
    compiled, values = CHECKER.resolve(name)
    expected_rk, expected_acl = compiled.expected_keys(values)
    key = {"right": expected_rk, "word": expected_rk + ".x", "other": "ami.VarSet",
           "none": None}[rk_kind]
    msg.pop("required_acl", None)
    if acl_kind == "right":
        if type(expected_acl) is str:
            msg["required_acl"] = expected_acl
    elif acl_kind != "absent":
        msg["required_acl"] = acl_kind
    data = msg["data"]
    if type(data) is dict:
        if data_kind == "extra":
            msg["data"] = dict(data, undocumented_field=1)
        elif data_kind == "wrong" and data:
            msg["data"] = dict(data, **{next(iter(data)): {"not": "this"}})
        elif data_kind == "gone" and data:
            msg["data"] = {k: v for i, (k, v) in enumerate(data.items()) if i}
    msg.pop(dropped, None)  # a broken envelope too
    return key, msg


@settings(max_examples=strategies_profile.examples(150))
@given(st.sampled_from(DECIDED), _RK, _ACL, _DATA, st.booleans(),
       st.sampled_from([None, *REQUIRED_ENVELOPE_KEYS]))
def test_a_plan_that_knows_a_key_or_an_acl_right_gives_the_detailed_findings(
        name, rk_kind, acl_kind, data_kind, twice, dropped):
    key, msg = _variant(name, rk_kind, acl_kind, data_kind, dropped)
    raw = body(msg)
    for _ in range(1 + twice):  # a name's first message, then its plan's
        got, _ = CHECKER.check_parsed(key, raw, CT)
        assert got.as_dict() == DETAILED.check(key, raw, CT).as_dict(), (key, raw)


def _normalising(properties, expected, add):
    # content_type_findings as it was, every content type normalised
    ct = properties.get("content_type")
    if ct is None:
        add("B105", "properties.content_type", "the message has no content type")
    elif not isinstance(ct, str) or ct.split(";")[0].strip().lower() != expected:
        add("B104", "properties.content_type", f"content type {ct!r} is not {expected}")


@settings(max_examples=strategies_profile.examples(100))
@given(st.one_of(st.none(), st.integers(), st.sampled_from([
    "application/json", "Application/JSON", " application/json", "application/json; x=1",
    "application/json;", "text/plain"]), st.text(max_size=20)),
    st.sampled_from(["application/json", "Application/JSON", "application/json; x=1"]))
def test_the_content_type_shortcut_finds_what_normalising_finds(ct, expected):
    props = {"content_type": ct}
    assert _codes(content_type_findings, props, expected) == _codes(_normalising, props,
                                                                    expected)
