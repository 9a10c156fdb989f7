"""What a capture's inferred contract says: templates, types, presence, value sets, maps."""

from __future__ import annotations

import json

import pytest

from validator.catalogue import load_catalogue
from validator.contract import ContractError
from validator.contract.from_catalogue import contract_from_catalogue
from validator.contract.infer import infer_contract
from validator.contract.model import templates_compatible

U1, U2 = "8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2", "a1223fe6-bff8-4fb6-a982-f9157dea5094"
W = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"


def _capture(tmp_path, records) -> str:
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _msg(name, data, rk, acl=None):
    payload = {"name": name, "origin_uuid": W, "data": data}
    if acl is not None:
        payload["required_acl"] = acl
    return {"routing_key": rk, "payload": payload}


def test_words_carried_by_the_data_become_placeholders(tmp_path):
    records = [_msg("ev", {"user": u, "state": s, "n": 3}, f"a.{u}.b.{s}.{w}", f"x.{u}")
               for u, s, w in ((U1, "on", "p"), (U2, "off", "q"), (U1, "on", "r"))]
    event = infer_contract(_capture(tmp_path, records)).events["ev"]
    assert event.routing_keys == ("a.{user}.b.{state}.{*}",)
    assert event.acls == ("x.{user}",)
    assert event.messages == 3


def test_a_constant_word_equal_to_a_value_is_a_placeholder_and_tuples_index(tmp_path):
    # One user only: the word never varies, yet it is the data's, as the page documents.
    records = [_msg("chat", {"to": [W, U1], "from": [W, U2]}, f"chat.{W}.{U1}")] * 2
    event = infer_contract(_capture(tmp_path, records)).events["chat"]
    assert event.routing_keys == ("chat.{from.0|to.0}.{to.1}",)
    assert templates_compatible(event.routing_keys[0], "chat.{to.0}.{to.1}")
    assert not templates_compatible(event.routing_keys[0], "chat.{to.1}.{to.1}")
    assert event.acls == (None,)


def test_a_few_faulty_messages_do_not_make_the_contract(tmp_path):
    records = [_msg("ev", {"user": u, "n": 1}, f"a.{u}", f"x.{u}") for u in (U1, U2) * 20]
    records[0]["routing_key"] = "a.b.c"                   # another shape, once in 40
    records[1]["payload"]["required_acl"] = f"x.{U1}"   # another user's ACL, once
    records[2]["payload"]["data"]["n"] = "1"             # another type, once
    del records[3]["payload"]["data"]["user"]            # a required field missing, once
    event = infer_contract(_capture(tmp_path, records)).events["ev"]
    assert event.routing_keys == ("a.{user}",) and event.acls == ("x.{user}",)
    assert event.fields["data.n"].types == ("integer",)
    assert event.fields["data.user"].required and event.fields["data.user"].presence < 1


def test_types_presence_and_small_value_sets(tmp_path):
    records = [_msg("ev", {"s": ["a", "b", "c"][i % 3], "v": i, "o": None if i % 2 else "x",
                           **({"opt": True} if i < 3 else {})}, "k") for i in range(12)]
    fields = infer_contract(_capture(tmp_path, records)).events["ev"].fields
    assert fields["data.s"].enum == ("a", "b", "c") and fields["data.s"].required
    assert fields["data.v"].enum is None  # 12 values in 12 messages: not a set
    assert fields["data.o"].types == ("null", "string")
    assert fields["data.opt"].required is False and fields["data.opt"].presence == 0.25


def test_maps_are_one_opaque_field(tmp_path):
    records = [_msg("ev", {"talking_to": {f"{i}.{j}": U1 for j in range(2)},
                           "vars": {f"k{i}x{j}": "v" for j in range(3)}}, "k") for i in range(8)]
    fields = infer_contract(_capture(tmp_path, records)).events["ev"].fields
    assert sorted(fields) == ["data", "data.talking_to", "data.vars", "origin_uuid"]
    assert fields["data.talking_to"].opaque and fields["data.vars"].opaque


def test_open_family_names_fold_into_the_catalogue_family(tmp_path):
    catalogue = contract_from_catalogue(load_catalogue())
    families = [e for e in catalogue.events.values() if e.name_pattern]
    records = [_msg(n, {"Queue": "q"}, f"ami.{n}") for n in ("Newstate", "VarSet") * 10]
    records.append(_msg("VarSet", {"Queue": "q"}, "ami.Other"))  # one stray routing key
    records.append(_msg("call_held", {"call_id": "1.2"}, "calls.hold.created"))
    folded = infer_contract(_capture(tmp_path, records), families, set(catalogue.events))
    family = families[0]
    assert sorted(folded.events) == sorted(["call_held", family.name])
    assert folded.events[family.name].routing_keys == family.routing_keys
    assert folded.events[family.name].messages == 21
    assert list(folded.events[family.name].fields) == ["data", "origin_uuid"]
    assert folded.events[family.name].fields["data"].opaque


def test_lines_that_carry_no_event_are_skipped_and_counted(tmp_path):
    path = _capture(tmp_path, [_msg("ev", {}, "k"), {"routing_key": "k", "body": "{"},
                               {"routing_key": "k", "payload": {"data": {}}}])
    contract = infer_contract(path)
    assert contract.messages == 1 and contract.skipped == 2


def test_an_empty_capture_is_an_error(tmp_path):
    with pytest.raises(ContractError, match="no event could be read"):
        infer_contract(_capture(tmp_path, []))
