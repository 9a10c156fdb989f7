"""The cheap routes (validator/check/routes.py): every result they give is the detailed
route's, whatever a name's earlier messages were; their caches stay bounded; owner_of answers
as one alternation of every documented key did."""

from __future__ import annotations

import copy
import itertools
import json
import random
import re

import orjson
import pytest
from messages import CATALOGUE, CT, DETAILED, all_names, body, valid_message

from validator.check import Checker
from validator.check.routes import KEY_CACHE_LIMIT

ORIGIN = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"
OTHER_UUID = "0b0b0b0b-1111-4222-8333-444444444444"


def _same(checker, rk, raw, props=CT):
    got, _ = checker.check_parsed(rk, raw, props)
    want = DETAILED.check(rk, raw, props)
    assert got.as_dict() == want.as_dict(), (rk, raw)
    return got


def _undocumented(name, data=None):
    return body({"name": name, "origin_uuid": ORIGIN, "data": data or {"id": 1}})


def test_an_undocumented_name_gives_the_detailed_findings_under_any_key():
    checker = Checker(CATALOGUE)
    raw = _undocumented("call_log_created")
    first = _same(checker, "call_log.created", raw)
    assert [f.code for f in first.findings] == ["N300"]
    # The same name later under a documented key: N301, as the detailed route says it.
    for rk in ("ami.VarSet", "calls.call.created", f"config.users.{OTHER_UUID}.forwards.busy.updated",
               "ami.VarSet", None, "call_log.created", "x.y"):
        _same(checker, rk, raw)
    again = _same(checker, "ami.VarSet", raw)
    assert [f.code for f in again.findings] == ["N300", "N301"]
    assert "ami.VarSet" in again.findings[1].message


@pytest.mark.parametrize("variant", [
    {"origin_uuid": "nope"}, {"required_acl": 3}, {"extra": 1}, {"data": {"user_uuid": "x"}},
    {"data": [{"a": {"peer_uuid": 1}}]}, {"data": {"a\n_uuid": "x", "x_uuid\n": "y"}},
    {"data": {"uuid": None, "x_uuid": OTHER_UUID, "n": [{"y_uuid": ORIGIN}]}}, {"data": None},
])
def test_an_undocumented_event_with_more_to_say_is_checked_in_full(variant):
    checker = Checker(CATALOGUE)
    _same(checker, "call_log.created", _undocumented("call_log_created"))  # the name's plan
    msg = dict(orjson.loads(_undocumented("call_log_created")), **variant)
    for rk in ("call_log.created", "ami.VarSet"):
        _same(checker, rk, body(msg))
    msg.pop("origin_uuid")
    _same(checker, "ami.VarSet", body(msg))


@pytest.mark.parametrize("props", [None, CT, {}, {"content_type": "text/plain"},
                                   {"content_type": "application/json; charset=utf-8"},
                                   {"content_type": 7}])
def test_each_route_puts_the_content_type_first_as_the_detailed_route(props):
    checker = Checker(CATALOGUE)
    rk, ok = valid_message("call_updated")
    shaped = copy.deepcopy(ok)
    shaped["data"]["user_uuid"] = None
    shaped["required_acl"] = "events.calls.None"
    wrong_acl = dict(ok, required_acl="events.calls." + OTHER_UUID)
    broken = dict(ok, origin_uuid="nope")
    for msg in (ok, shaped, wrong_acl, broken, orjson.loads(_undocumented("call_log_created"))):
        for _ in range(2):  # the first message of a shape, then the shared findings
            _same(checker, rk, body(msg), props)


@pytest.mark.parametrize("name", all_names())
def test_wrong_keys_and_a_broken_envelope_take_cheap_routes_to_the_same_findings(name):
    checker = Checker(CATALOGUE)
    rk, msg = valid_message(name)
    variants = [
        dict(msg, required_acl="events.nobody"), dict(msg, required_acl=None),
        {k: v for k, v in msg.items() if k != "required_acl"},
        dict(msg, origin_uuid="nope"), {k: v for k, v in msg.items() if k != "origin_uuid"},
        dict(msg, origin_uuid="nope", required_acl="events.nobody"), dict(msg, extra=1),
        dict(msg, data=dict(msg["data"], undocumented_field=1)),
        dict(msg, data=dict(msg["data"], undocumented_field=1), required_acl="events.x"),
        dict(msg, data=dict(msg["data"], undocumented_field=1), origin_uuid=3),
    ]
    for variant, key in itertools.product(variants, (rk, rk + ".x", "ami.VarSet", None)):
        _same(checker, key, body(variant))


def _call_ended(order):
    rk, msg = valid_message("call_ended")
    data = dict(msg["data"], user_uuid=None, creation_time=None)
    msg["data"] = {k: data[k] for k in order + [k for k in data if k not in order]}
    msg["required_acl"] = "events.calls.None"
    return rk, body(msg)


def test_a_shape_of_two_wrong_fields_keeps_the_findings_of_each_order():
    checker = Checker(CATALOGUE)
    seen = {}
    for order in (["user_uuid", "creation_time"], ["creation_time", "user_uuid"]) * 2:
        rk, raw = _call_ended(order)
        result = _same(checker, rk, raw)
        assert [f.erratum for f in result.findings] == ["E5", "E5"]
        seen.setdefault(tuple(order), []).append(result.findings)
    (a1, a2), (b1, b2) = seen.values()
    assert a2 is a1 and b2 is b1  # known from the first message of each order
    assert [f.path for f in a1] == [f.path for f in reversed(b1)]


def test_caches_stay_bounded_under_random_names_and_keys():
    checker = Checker(CATALOGUE)
    rng = random.Random(5)
    for i in range(KEY_CACHE_LIMIT + 1500):
        name = f"n{i}_{rng.getrandbits(32)}"
        word = rng.choice(["ami", "config", "calls", "x"])
        raw = _undocumented(name if i % 2 else "call_log_created")
        checker.check(f"{word}.{rng.getrandbits(40)}", raw, CT)
        checker.check("ami." + ("VarSet" if i % 3 else f"Z{i}"), raw, CT)
    assert len(checker._plans) <= 10_000 and len(checker._resolved) <= 10_000
    assert len(checker.owner_of._cache) <= KEY_CACHE_LIMIT
    assert len(checker._undocumented_keyed) <= KEY_CACHE_LIMIT
    long_key = "ami." + "A" * 10_000
    assert checker.owner_of(long_key) is not None and long_key not in checker.owner_of._cache
    # Past the bounds every answer is still the detailed route's.
    for rk in ("ami.VarSet", "call_log.created", long_key):
        _same(checker, rk, _undocumented("call_log_created"))
        _same(checker, rk, _undocumented("n_never_seen"))


def _keys():
    """Every documented key rendered from a valid message, and near misses of each."""
    for name in all_names():
        rk, _ = valid_message(name)
        yield from (rk, rk + ".x", "x" + rk, rk.rsplit(".", 1)[0], rk.replace(".", "", 1),
                    rk.upper(), rk.split(".", 1)[0], rk.split(".", 1)[0] + ".")
    yield from ("", ".", "..", "ami", "ami.", "ami.a", "ami.A.B", f"chat.message.{ORIGIN}",
                f"config.users.{ORIGIN}.forwards.all.updated")


def test_owner_of_is_the_first_documented_key_that_matches():
    checker = Checker(CATALOGUE)
    owners = []
    for spec in CATALOGUE.events:
        if spec.is_open_family:
            compiled = checker.resolve(next(n for n in all_names()
                                            if checker.resolve(n)[0].spec is spec))[0]
            owners.append((compiled.rk_regex, spec.key))
            continue
        for name, _ in spec.concrete_names():
            compiled = checker.resolve(name)[0]
            owners.append((re.compile(compiled.rk.regex({}, literal_names=True)), name))
    for key in _keys():
        want = next((label for regex, label in owners if regex.fullmatch(key)), None)
        assert checker.owner_of(key) == want, key
        assert checker.owner_of(key) == want, key  # cached


def test_the_undocumented_schema_is_the_envelope_and_uuid_walk():
    """undocumented_is_valid(msg) is True exactly when the detailed route finds nothing
    beyond N300 and N301."""
    rng = random.Random(3)
    keys = ["uuid", "x_uuid", "a\n_uuid", "x_uuid\n", "_uuid", "uuidx", "", "0", "id"]
    values = [None, ORIGIN, ORIGIN.upper(), ORIGIN + "\n", "nope", 1, [], {}, True]

    def node(depth):
        if depth > 2 or rng.random() < 0.3:
            return rng.choice(values)
        if rng.random() < 0.5:
            return [node(depth + 1) for _ in range(rng.randrange(3))]
        return {rng.choice(keys): node(depth + 1) for _ in range(rng.randrange(4))}
    checker = Checker(CATALOGUE)
    for _ in range(400):
        msg = {"name": "call_log_created", "origin_uuid": ORIGIN, "data": node(0)}
        if rng.random() < 0.2:
            msg[rng.choice(["origin_uuid", "required_acl", "extra"])] = rng.choice(values)
        raw = json.dumps(msg).encode()
        result = _same(checker, "call_log.created", raw)
        assert checker.undocumented_is_valid(msg) == (
            [f.code for f in result.findings] == ["N300"])


def test_a_conforming_message_of_a_name_decided_key_shares_its_result():
    rk, msg = valid_message("user_created")
    checker = Checker(CATALOGUE)
    first, second = (checker.check(rk, body(msg), CT) for _ in range(2))
    assert first is second and not first.findings and first.routing_key == rk
    unkeyed = checker.check(None, body(msg), CT)
    assert unkeyed.routing_key is None and unkeyed.verdict == "ok"


def test_the_keys_a_name_decides_are_the_templates_fill():
    # expected_keys renders a key and ACL from the name alone: they are what the templates
    # fill from any conforming message of that name.
    checker = Checker(CATALOGUE)
    for name in all_names():
        compiled, values = checker.resolve(name)
        expected = compiled.expected_keys(values)
        if expected is None:
            continue
        rk, msg = valid_message(name)
        assert expected[0] == rk
        if compiled.acl is not None:
            assert expected[1] == compiled.acl.fill(msg, values)
