"""Value sets as the producers send them (issue 17), and UUID-named fields as the
catalogue's meta `uuid_fields` names them, inside documented and undocumented events."""

from __future__ import annotations

import copy
import json

import pytest
from messages import CATALOGUE, body, check, codes, valid_message

from validator.check import Checker

CT = {"content_type": "application/json"}


@pytest.mark.parametrize("status", ["Rsrvd", "Rsrved", "Mute", "Unknown (12)", "Unknown (0)",
                                    "Unknown", "Down", "Dialing Offhook", "Pre-ring"])
def test_call_states_asterisk_sends_or_the_docs_name(status):
    for name in ("call_created", "call_updated", "call_ended"):
        rk, msg = valid_message(name)
        msg["data"]["status"] = status
        assert check(rk, msg).verdict == "ok", (name, status)


@pytest.mark.parametrize("status", ["Ringin", "Unknown ()", "Unknown (x)", "Unknown (12)\n",
                                    "unknown (1)", "", "Mute "])
def test_what_is_no_call_state_is_refused_as_a_value(status):
    rk, msg = valid_message("call_updated")
    msg["data"]["status"] = status
    result = check(rk, msg)
    assert codes(result) == ["D602"]
    assert result.findings[0].path == "$.data.status"
    assert "null" not in result.findings[0].message and "None" not in result.findings[0].message


def test_a_non_string_state_is_a_type_error():
    rk, msg = valid_message("call_updated")
    msg["data"]["status"] = 3
    assert codes(check(rk, msg)) == ["D601"]


UNDOCUMENTED = {"name": "switchboard_queued_call_answered",
                "origin_uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3",
                "data": {"switchboard_uuid": "my-switchboard-uuid",
                         "call": {"user_uuid": None, "peer_uuid": 3,
                                  "uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"},
                         "calls": [{"x_uuid": "no"}], "uuidx": "free", "name_uuid\\n": "x"}}


def test_uuid_named_fields_of_an_undocumented_event_are_checked_as_warnings():
    result = check("switchboards.x.calls.answered", UNDOCUMENTED)
    assert result.verdict == "warn"
    found = [(f.code, f.path, f.severity) for f in result.findings]
    assert found == [("N300", "$.name", "warning"),
                     ("D605", "$.data.switchboard_uuid", "warning"),
                     ("D605", "$.data.call.peer_uuid", "warning"),
                     ("D605", "$.data.calls[0].x_uuid", "warning")]
    assert '"my-switchboard-uuid"' in result.findings[1].message


def test_undocumented_event_with_uuids_is_only_n300():
    msg = copy.deepcopy(UNDOCUMENTED)
    msg["data"] = {"switchboard_uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3", "n": [1, {"a": 2}]}
    assert codes(check("x", msg)) == ["N300"]


def test_an_undocumented_uuid_field_of_a_documented_event_is_an_error():
    rk, msg = valid_message("user_created")
    msg["data"]["tenant_uuid"] = "nope"
    result = check(rk, msg)
    assert [(f.code, f.severity) for f in result.findings] == [("D604", "info"), ("D605", "error")]


def test_which_fields_carry_a_uuid_is_catalogue_data():
    catalogue = copy.copy(CATALOGUE)
    catalogue.meta = dict(CATALOGUE.meta, uuid_fields="^switchboard_")
    checker = Checker(catalogue)
    msg = copy.deepcopy(UNDOCUMENTED)
    result = checker.check("x", body(msg), CT)
    assert [f.path for f in result.findings if f.code == "D605"] == ["$.data.switchboard_uuid"]
    rk, documented = valid_message("user_created")
    documented["data"]["tenant_uuid"] = "nope"
    documented["data"]["switchboard_id"] = "nope"
    result = checker.check(rk, json.dumps(documented).encode(), CT)
    assert [f.path for f in result.findings if f.code == "D605"] == ["$.data.switchboard_id"]
