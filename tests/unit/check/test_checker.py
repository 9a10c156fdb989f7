"""The checker against the 17.08 contract: examples, one break of each kind per event,
errata, versions and hostile bodies. Every check also asserts that the fast and the
detailed paths agree (see messages.check)."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from messages import CATALOGUE, CHECKER, all_names, body, check, codes, valid_message

from validator.check import Checker
from validator.pages import page_examples

OTHER_UUID = "0b0b0b0b-1111-4222-8333-444444444444"


# -- the page's own examples -------------------------------------------------------------
@pytest.mark.parametrize("example", page_examples(CATALOGUE), ids=lambda e: e["event"])
def test_page_example_verdicts(example):
    result = check(example["routing_key"], example["body"])
    expect = example["expect"]
    assert result.verdict == expect["verdict"], result.findings
    errors = sorted({f.code for f in result.findings if f.severity == "error"})
    assert errors == sorted(expect["codes"])


def test_the_documented_exceptions_are_exactly_four_kinds():
    failing = {e["event"] for e in page_examples(CATALOGUE) if e["expect"]["verdict"] != "ok"}
    assert failing == {"chat_message_event", "users_forwards_{forward_name}_updated",
                       "favorite_added", "favorite_deleted", "plugin_install_progress",
                       "plugin_uninstall_progress"}


# -- every documented name: a conforming message, then one break of each kind -------------
NAMES = all_names()


@pytest.mark.parametrize("name", NAMES)
def test_conforming_message_is_ok(name):
    rk, msg = valid_message(name)
    result = check(rk, msg)
    assert result.verdict == "ok", result.findings
    assert result.name == name


@pytest.mark.parametrize("name", NAMES)
def test_routing_key_word_changed(name):
    rk, msg = valid_message(name)
    words = rk.split(".")
    words[-1] = words[-1] + "x"
    result = check(".".join(words), msg)
    assert result.verdict == "fail"
    assert set(codes(result)) & {"R400", "R401"}


@pytest.mark.parametrize("name", [n for n in NAMES if "{user_uuid}" in (
    CHECKER.resolve(n)[0].rk.text)])
def test_routing_key_of_another_user(name):
    rk, msg = valid_message(name)
    user = CHECKER.resolve(name)[0].rk.fill(msg, CHECKER.resolve(name)[1])
    assert user == rk
    uuid_in_key = next(w for w in rk.split(".") if len(w) == 36)
    result = check(rk.replace(uuid_in_key, OTHER_UUID), msg)
    assert codes(result) == ["R401"]


@pytest.mark.parametrize("name", [n for n in NAMES if CHECKER.resolve(n)[0].acl is not None
                                  and CHECKER.resolve(n)[0].acl.names])
def test_acl_of_another_user(name):
    rk, msg = valid_message(name)
    acl = msg["required_acl"]
    other = next((w for w in acl.split(".") if len(w) == 36), None)
    msg["required_acl"] = acl.replace(other, OTHER_UUID) if other else acl + ".other"
    result = check(rk, msg)
    assert codes(result) == ["A502"]


@pytest.mark.parametrize("name", [n for n in NAMES if CHECKER.resolve(n)[0].acl is not None])
def test_acl_missing_and_null(name):
    rk, msg = valid_message(name)
    del msg["required_acl"]
    assert codes(check(rk, msg)) == ["A500"]
    msg["required_acl"] = None
    assert codes(check(rk, msg)) == ["A501"]


@pytest.mark.parametrize("name", [n for n in NAMES if CHECKER.resolve(n)[0].acl is None
                                  and n != "QueueMemberStatus"])
def test_acl_where_none_is_documented(name):
    rk, msg = valid_message(name)
    msg["required_acl"] = "events.something"
    result = check(rk, msg)
    assert "A503" in codes(result)
    assert result.verdict == "fail"


def _required(name) -> list[str]:
    compiled = CHECKER.resolve(name)[0]
    schema = compiled.data_schema
    while "$ref" in schema and "required" not in schema:
        schema = schema["$defs"][schema["$ref"].split("/")[-1]]
    return schema.get("required", [])


@pytest.mark.parametrize("name", [n for n in NAMES if _required(n)])
def test_missing_required_field(name):
    rk, msg = valid_message(name)
    covered = {c.cover.path for c in CHECKER.errata.by_key.get((name, "D600"), ())}
    field = next(f for f in _required(name) if f"$.data.{f}" not in covered)
    del msg["data"][field]
    result = check(rk, msg)
    assert f"$.data.{field}" in {f.path for f in result.findings if f.code == "D600"}
    assert result.verdict == "fail"


@pytest.mark.parametrize("name", [n for n in NAMES if _required(n)])
def test_wrong_type(name):
    rk, msg = valid_message(name)
    field = _required(name)[0]
    msg["data"][field] = [] if not isinstance(msg["data"][field], list) else {}
    result = check(rk, msg)
    wrong = [f for f in result.findings if f.path == f"$.data.{field}"]
    assert wrong and wrong[0].code in ("D601", "D605")
    assert result.verdict == "fail"


@pytest.mark.parametrize("name", NAMES)
def test_wrong_name(name):
    rk, msg = valid_message(name)
    msg["name"] = name.lower() + "_renamed"
    result = check(rk, msg)
    assert result.verdict == "fail"
    assert codes(result)[:2] == ["N300", "N301"]


@pytest.mark.parametrize("name", NAMES)
def test_bad_origin_uuid(name):
    rk, msg = valid_message(name)
    msg["origin_uuid"] = "not-a-uuid"
    result = check(rk, msg)
    assert codes(result) == ["D605"]
    assert result.findings[0].path == "$.origin_uuid"


@pytest.mark.parametrize("name", [n for n in NAMES if "user_uuid" in (
    valid_message(n)[1].get("data") or {})])
def test_bad_user_uuid(name):
    rk, msg = valid_message(name)
    msg["data"]["user_uuid"] = "8e58d2a7-cfed-4c2e-ac72"
    result = check(rk, msg)
    assert "D605" in codes(result)
    assert result.verdict == "fail"


def test_undocumented_name_is_a_warning():
    msg = {"name": "user_line_associated", "origin_uuid": str(uuid.uuid4()), "data": {"a": 1}}
    result = check("config.users.lines.associated", msg)
    assert codes(result) == ["N300"]
    assert result.verdict == "warn"


def test_extra_fields_are_info():
    rk, msg = valid_message("user_created")
    msg["data"]["subscription_type"] = 0
    msg["data"]["tenant_uuid"] = str(uuid.uuid4())
    msg["extra"] = 1
    result = check(rk, msg)
    assert result.verdict == "ok"
    assert sorted(codes(result)) == ["D604", "D604", "E202"]
    msg["data"]["tenant_uuid"] = "nope"
    assert "D605" in codes(check(rk, msg))


def test_content_type():
    rk, msg = valid_message("user_created")
    assert codes(check(rk, msg, {"content_type": "text/plain"})) == ["B104"]
    assert codes(check(rk, msg, {"content_type": "application/json; charset=utf-8"})) == []
    assert codes(check(rk, msg, {})) == ["B105"]
    assert codes(check(rk, msg, None)) == []


def test_unknown_routing_key_is_not_checked():
    _, msg = valid_message("call_created")
    assert check(None, msg).verdict == "ok"


def test_data_of_wrong_json_type_and_envelope_keys():
    rk, msg = valid_message("agent_status_update")
    msg["data"] = None
    assert codes(check(rk, msg)) == ["D601"]
    del msg["data"]
    assert codes(check(rk, msg)) == ["E200"]
    rk, msg = valid_message("agent_status_update")
    msg["name"] = ["agent_status_update"]
    assert "E201" in codes(check(rk, msg))
    rk, msg = valid_message("agent_status_update")
    msg["required_acl"] = 5
    assert codes(check(rk, msg)) == ["E201"]


def test_value_sets():
    rk, msg = valid_message("agent_status_update")
    msg["data"]["status"] = "away"
    assert codes(check(rk, msg)) == ["D602"]
    rk, msg = valid_message("call_created")
    msg["data"]["creation_time"] = "2016-02-10T11:57:02.592-05:00"
    assert codes(check(rk, msg)) == ["D603"]
    msg["data"]["creation_time"] = "2016-02-10T11:57:02.592-0500\n"
    assert codes(check(rk, msg)) == ["D603"]


def test_uuid_with_trailing_newline_is_not_a_uuid():
    rk, msg = valid_message("user_created")
    msg["data"]["uuid"] += "\n"
    assert codes(check(rk, msg)) == ["D605"]


def test_chat_routing_key_binds_the_recipient():
    rk, msg = valid_message("chat_message_event")
    assert rk == "chat.message.ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3.fcb36731-c50a-453e-92c7-571297d41616"
    sender = msg["data"]["from"][1]
    result = check(rk.replace(msg["data"]["to"][1], sender), msg)
    assert codes(result) == ["R401"]
    msg["data"]["to"] = msg["data"]["to"][:1]
    assert "D609" in codes(check(rk, msg))


def test_routing_key_of_another_event():
    _rk, msg = valid_message("call_created")
    result = check("calls.call.updated", msg)
    assert codes(result) == ["R400"]
    assert "call_updated" in result.findings[0].message


# -- errata: each is a known deviation, a warning carrying its id -------------------------
def _erratum_cases():
    cases = []
    for name in ("agent_status_update", "endpoint_status_update", "user_status_update"):
        rk, msg = valid_message(name)
        del msg["data"]["xivo_id"]
        cases.append(("E1", name, rk, msg))
    rk, msg = valid_message("favorite_added")
    msg["required_acl"] = f"events.directory.{msg['data']['user_uuid']}.favorite.created"
    msg["data"]["source_entry_id"] = "42"
    cases.append(("E2", "favorite_added", rk, msg))
    rk, msg = valid_message("favorite_deleted")
    msg["data"]["xivo_uuid"] = None
    cases.append(("E2", "favorite_deleted", rk, msg))
    for name in ("call_held", "call_resumed"):
        rk, msg = valid_message(name)
        user = str(uuid.uuid4())
        msg["data"]["user_uuid"] = user
        msg["required_acl"] = f"events.calls.{user}"
        cases.append(("E3", name, rk, copy.deepcopy(msg)))
        msg["data"]["user_uuid"] = None
        msg["required_acl"] = None
        cases.append(("E3", name + " (no user)", rk, msg))
    rk, msg = valid_message("chat_message_event")
    msg["required_acl"] = "events." + rk
    cases.append(("E4", "chat_message_event", rk, msg))
    for name in ("call_created", "call_updated", "call_ended"):
        rk, msg = valid_message(name)
        msg["data"]["user_uuid"] = None
        msg["required_acl"] = "events.calls.None"
        if name == "call_ended":
            msg["data"]["creation_time"] = None
        cases.append(("E5", name, rk, msg))
    for name in ("plugin_install_progress", "plugin_uninstall_progress"):
        rk, msg = valid_message(name)
        msg["data"]["status"] = "error"
        msg["data"]["errors"] = {"error_id": "packaging_error", "message": "failed",
                                 "resource": "plugins", "details": {}}
        rk, _ = rk.rsplit(".", 1)[0] + ".error", None
        msg["required_acl"] = msg["required_acl"].rsplit(".", 1)[0] + ".error"
        cases.append(("E6", name, rk, msg))
    for name in ("users_forwards_busy_updated", "users_forwards_noanswer_updated",
                 "users_forwards_unconditional_updated"):
        rk, msg = valid_message(name)
        msg["data"]["destination"] = None
        cases.append(("E7", name, rk, msg))
    return cases


@pytest.mark.parametrize("erratum,label,rk,msg", _erratum_cases(),
                         ids=[f"{c[0]}-{c[1]}" for c in _erratum_cases()])
def test_erratum_is_a_known_deviation(erratum, label, rk, msg):
    result = check(rk, msg)
    assert result.verdict == "warn", result.findings
    assert result.findings
    assert {f.erratum for f in result.findings} == {erratum}
    assert all(f.severity == "warning" for f in result.findings)


def test_every_erratum_has_a_case():
    assert {c[0] for c in _erratum_cases()} == {e.id for e in CATALOGUE.errata}


def test_erratum_conditions_are_not_blanket_passes():
    # E5's null user_uuid is accepted only with its literal ACL, E5's null creation_time
    # only on call_ended, E3's ACL only when it names the data's user.
    rk, msg = valid_message("call_created")
    msg["data"]["user_uuid"] = None
    msg["required_acl"] = None
    assert check(rk, msg).verdict == "fail"
    rk, msg = valid_message("call_updated")
    msg["data"]["creation_time"] = None
    assert codes(check(rk, msg)) == ["D601"]
    rk, msg = valid_message("call_held")
    msg["data"]["user_uuid"] = str(uuid.uuid4())
    msg["required_acl"] = f"events.calls.{OTHER_UUID}"
    assert check(rk, msg).verdict == "fail"
    rk, msg = valid_message("favorite_added")
    msg["data"]["source_entry_id"] = [42]
    assert check(rk, msg).verdict == "fail"


# -- target versions ------------------------------------------------------------------------
def test_event_not_yet_introduced():
    rk, msg = valid_message("call_held")
    result = check(rk, msg, checker=Checker(CATALOGUE, "16.07"))
    assert codes(result) == ["V700"]
    assert check(rk, msg, checker=Checker(CATALOGUE, "16.08")).verdict == "ok"
    rk, msg = valid_message("plugin_install_progress")
    assert codes(check(rk, msg, checker=Checker(CATALOGUE, "17.07"))) == ["V700"]


def test_user_status_update_id_before_16_08_uuid_after():
    rk, msg = valid_message("user_status_update")
    old = copy.deepcopy(msg)
    del old["data"]["user_uuid"]
    old["data"]["user_id"] = 12
    v1607, v1608 = Checker(CATALOGUE, "16.07"), Checker(CATALOGUE, "16.08")
    assert check(rk, old, checker=v1607).verdict == "ok"
    assert codes(check(rk, old, checker=v1608)) == ["D600", "D604"]
    assert "D600" in codes(check(rk, msg, checker=v1607))
    assert check(rk, msg, checker=v1608).verdict == "ok"


@pytest.mark.parametrize("bad", ["17.8", "abc", "", "99.01", "14.12"])
def test_bad_target_version(bad):
    from validator.check import VersionError
    with pytest.raises(VersionError):
        Checker(CATALOGUE, bad)


# -- hostile bodies: findings, never exceptions ---------------------------------------------
HOSTILE = {
    "not utf-8": (b'{"name": "\xff\xfe"}', "B100"),
    "latin-1": ('{"name": "café"}'.encode("latin-1"), "B100"),
    "not json": (b"hello", "B101"),
    "empty": (b"", "B101"),
    "truncated": (b'{"name": "user_created", "origin_uuid": "ca7f', "B101"),
    "nan": (b'{"name": NaN}', "B101"),
    "bom": (b'\xef\xbb\xbf{"name": "x"}', "B101"),
    "array": (b"[1, 2, 3]", "B102"),
    "string": (b'"user_created"', "B102"),
    "null": (b"null", "B102"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "B103"),
    "deep object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "B103"),
    "nul bytes": (b'{"name": "\x00"}', "B101"),
}


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_body_gives_a_finding(label):
    raw, code = HOSTILE[label]
    result = check("config.user.created", raw)
    assert codes(result) == [code]
    assert result.verdict == "fail"


def test_ten_megabyte_body():
    rk, msg = valid_message("chat_message_event")
    msg["data"]["msg"] = "x" * 10_000_000
    assert check(rk, msg).verdict == "ok"
    msg["data"]["alias"] = 7
    assert codes(check(rk, msg)) == ["D601"]
    garbage = b"{" + b"x" * 10_000_000
    assert codes(check(rk, garbage)) == ["B101"]


def test_integers_wider_than_64_bits_are_numbers_not_crashes():
    rk, msg = valid_message("user_created")
    raw = body(msg).replace(b'"id": 42', b'"id": 123456789012345678901234567890')
    assert check(rk, raw).verdict == "ok"
    raw = body(msg).replace(b'"id": 42', b'"id": 1.5')
    assert codes(check(rk, raw)) == ["D601"]


def test_hostile_names_and_keys():
    for name in ("", "x" * 100_000, "ami.", "Call_Created", "call_created\n"):
        msg = {"name": name, "origin_uuid": str(uuid.uuid4()), "data": {}}
        result = check("calls.call.created", msg)
        assert result.verdict == "fail"
    msg = {"name": "user_created", "origin_uuid": str(uuid.uuid4()),
           "data": {"id": 1, "uuid": str(uuid.uuid4()), "we.ird'key": {"\ud800": 1}}}
    raw = json.dumps(msg, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert codes(check("config.user.created", raw)) == ["B100"]
    # Escaped, a lone surrogate is JSON's grammar but not Unicode: orjson refuses it.
    assert codes(check("config.user.created", json.dumps(msg).encode())) == ["B101"]


def test_name_cache_is_bounded():
    checker = Checker(CATALOGUE)
    for i in range(12_000):
        checker.check(None, body({"name": f"n{i}", "origin_uuid": str(uuid.UUID(int=i)),
                                  "data": None}))
    assert len(checker._resolved) <= 10_000


def test_a_key_outside_a_family_value_set_belongs_to_no_event():
    user = str(uuid.uuid4())
    msg = {"name": "users_forwards_all_updated", "origin_uuid": str(uuid.uuid4()),
           "data": {"user_uuid": user}}
    assert codes(check(f"config.users.{user}.forwards.all.updated", msg)) == ["N300"]
    assert codes(check(f"config.users.{user}.forwards.busy.updated", msg)) == ["N300", "N301"]
