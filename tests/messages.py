"""Test helpers: a valid message for every documented event name, built from the catalogue.

Names with a page example use it; the others borrow the example of an entry with the same
data schema, or of their family. The page's two examples that are not JSON are repaired here.
"""

from __future__ import annotations

import copy
import json

from validator.catalogue import load_catalogue
from validator.check import Checker

CATALOGUE = load_catalogue()
CHECKER = Checker(CATALOGUE)
DETAILED = Checker(CATALOGUE, fast=False)
CT = {"content_type": "application/json"}

REPAIRED = {
    "chat_message_event": {
        "name": "chat_message_event",
        "origin_uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3",
        "data": {
            "alias": "Alice",
            "to": ["ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3", "fcb36731-c50a-453e-92c7-571297d41616"],
            "from": ["ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3", "4f2e2249-ae2b-4bc2-b5fc-ad42ee01ddaf"],
            "msg": "Hi!",
        },
    },
    "users_forwards_{forward_name}_updated": {
        "name": "users_forwards_busy_updated",
        "required_acl": "events.config.users.a1223fe6-bff8-4fb6-a982-f9157dea5094.forwards.busy.updated",
        "origin_uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3",
        "data": {"user_uuid": "a1223fe6-bff8-4fb6-a982-f9157dea5094", "enabled": True,
                 "destination": "1234"},
    },
}
# The favorites' page example shows xivo_uuid (erratum E2); the text documents xivo_id.
for _name in ("favorite_added", "favorite_deleted"):
    _msg = json.loads(CATALOGUE.event_for_name(_name).example["body"])
    _msg["data"]["xivo_id"] = _msg["data"].pop("xivo_uuid")
    REPAIRED[_name] = _msg


def _example_msg(spec):
    if spec.key in REPAIRED:
        return copy.deepcopy(REPAIRED[spec.key])
    if spec.example:
        return json.loads(spec.example["body"])
    return None


def valid_message(name: str) -> tuple[str, dict]:
    """(routing key, message) conforming to the contract for `name`."""
    compiled, values = CHECKER.resolve(name)
    spec = compiled.spec
    msg = _example_msg(spec)
    if msg is None:
        donor = next(s for s in CATALOGUE.events
                     if s.example and s.data.get("$ref") == spec.data.get("$ref"))
        msg = _example_msg(donor)
    msg["name"] = name
    if compiled.acl is None:
        msg.pop("required_acl", None)
    else:
        msg["required_acl"] = compiled.acl.fill(msg, values)
    return compiled.rk.fill(msg, values), msg


def all_names() -> list[str]:
    return CATALOGUE.all_names() + ["QueueMemberStatus"]


def body(msg) -> bytes:
    return json.dumps(msg).encode()


def check(routing_key, msg_or_body, properties=CT, checker=CHECKER):
    raw = msg_or_body if isinstance(msg_or_body, bytes) else body(msg_or_body)
    result = checker.check(routing_key, raw, properties)
    detailed = DETAILED.check(routing_key, raw, properties) if checker is CHECKER else result
    # The fast path and the detailed path must agree on every message the tests make.
    assert result.as_dict() == detailed.as_dict(), (result, detailed)
    return result


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def mixed_traffic() -> list[tuple[str, bytes]]:
    """(routing key, body) of a small mixed capture: valid, erratum-shaped, broken,
    undocumented and unparsable messages (what the merge tests split and rejoin)."""
    out = []
    for name in ("user_created", "call_created", "user_status_update", "chat_message_event"):
        rk, msg = valid_message(name)
        out.append((rk, json.dumps(msg).encode()))
        out.append((rk, json.dumps(dict(msg, origin_uuid="nope")).encode()))
        out.append((rk, json.dumps({k: v for k, v in msg.items() if k != "required_acl"}).encode()))
    out.append(("some.key", body({"name": "not_a_documented_event", "origin_uuid": "x",
                                  "data": {}})))
    out.append(("x", b"{not json"))
    return out
