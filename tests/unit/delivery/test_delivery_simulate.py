"""Who receives each message under the default user policy and an admin, who the page says
should, and the consequence in words."""

from __future__ import annotations

import copy
import json

import pytest

from validator.catalogue import load_catalogue
try:  # the checker module became the validator.check package on main
    from validator.check import Checker
except ImportError:
    from validator.checker import Checker
from validator.codes import ERROR
from validator.delivery.codes import DELIVERY_CODES
from validator.delivery.simulate import (
    ADMINS, ALL_USERS, EVERYONE, NOBODY, USER, Simulator)
from validator.findings import OK, verdict_of
from validator.pages import page_examples

CATALOGUE = load_catalogue()
CHECKER = Checker(CATALOGUE)
SIM = Simulator(CHECKER)
CT = {"content_type": "application/json"}
ORIGIN = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"
Y = "2e752722-0864-4665-887d-a78a024cf7c7"   # the user the message concerns
X = "8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2"   # another user


def simulate(routing_key, msg):
    body = json.dumps(msg).encode()
    return SIM.simulate(body, CHECKER.check(routing_key, body, CT))


def call(name="call_created", user=Y, **acl):
    msg = {"name": name, "origin_uuid": ORIGIN, "data": {
        "call_id": "1455123422.8", "user_uuid": user, "status": "Up", "talking_to": {},
        "bridges": [], "creation_time": "2016-02-10T11:57:02.592-0500",
        "caller_id_name": "Alice", "caller_id_number": "1000"}}
    msg.update(acl)
    return "calls.call.created", msg


def hold(user=Y, **acl):
    msg = {"name": "call_held", "origin_uuid": ORIGIN,
           "data": {"call_id": "1455123422.8", "user_uuid": user}}
    msg.update(acl)
    return "calls.hold.created", msg


def chat(to=Y, **acl):
    msg = {"name": "chat_message_event", "origin_uuid": ORIGIN, "data": {
        "alias": "Alice", "to": [ORIGIN, to], "from": [ORIGIN, X], "msg": "hi"}}
    msg.update(acl)
    return f"chat.message.{ORIGIN}.{to}", msg


# The page's own examples (two are not JSON): actual and expected audience kinds.
PAGE = {
    "{ami_event}": (NOBODY, NOBODY),
    "call_form_result": (NOBODY, NOBODY),
    "agent_status_update": (ALL_USERS, ALL_USERS),
    "call_created": (USER, USER),
    "call_held": (NOBODY, NOBODY),
    "call_resumed": (NOBODY, NOBODY),
    "chat_message_event": (NOBODY, None),
    "endpoint_status_update": (ALL_USERS, ALL_USERS),
    "favorite_added": (NOBODY, USER),
    "favorite_deleted": (NOBODY, USER),
    "plugin_install_progress": (NOBODY, ADMINS),
    "plugin_uninstall_progress": (NOBODY, ADMINS),
    "user_created": (NOBODY, NOBODY),
    "user_deleted": (NOBODY, NOBODY),
    "user_edited": (NOBODY, NOBODY),
    "user_status_update": (ALL_USERS, ALL_USERS),
    "users_forwards_{forward_name}_updated": (NOBODY, None),
    "users_services_{service_name}_updated": (USER, USER),
    "service_registered_event": (NOBODY, NOBODY),
    "service_deregistered_event": (NOBODY, NOBODY),
    "user_voicemail_message_created": (USER, USER),
}


def test_default_policy_on_the_pages_examples():
    seen = {}
    for example in page_examples(CATALOGUE, CHECKER):
        d = SIM.simulate(example["body"], CHECKER.check(example["routing_key"], example["body"], CT))
        seen[example["event"]] = (d.actual.kind, d.expected.kind if d.expected else None)
        if d.actual.kind == USER:
            assert d.actual.user == d.concerned  # each reaches the user it is about
        if example["event"] in ("favorite_added", "plugin_install_progress"):
            assert d.consequence.code == "W800"
            assert d.words.startswith("never delivered to any websocket client (required_acl "
                                      "absent); the page sends it to ")
    assert seen == PAGE


def test_conforming_call_event_reaches_its_user_only():
    d = simulate(*call(required_acl=f"events.calls.{Y}"))
    assert (d.actual.kind, d.actual.user, d.concerned) == (USER, Y, Y)
    assert d.consequence is None and not d.lost
    assert d.words == f"delivered to user {Y}, whom it concerns, and to admins"


def test_wrong_user_in_the_acl():
    d = simulate(*call(required_acl=f"events.calls.{X}"))
    assert d.consequence.code == "W801"
    assert d.words == f"delivered to user {X} instead of {Y}"
    assert d.lost
    assert d.as_dict() == {"actual": "other_user", "expected": "concerned_user", "concerns": Y,
                           "lost": True, "code": "W801", "words": d.words}


def test_absent_acl_reaches_nobody():
    d = simulate(*call())
    assert d.consequence.code == "W800"
    assert d.words == ("never delivered to any websocket client (required_acl absent); the "
                       f"page sends it to the user {Y}")
    assert d.lost


def test_null_acl_reaches_every_client():
    d = simulate(*call(required_acl=None))
    assert d.actual.kind == EVERYONE
    assert d.consequence.code == "W802"
    assert d.words == ("delivered to every client (null ACL) although the page restricts it "
                       f"to the user {Y}")
    assert not d.lost


def test_acl_of_another_type_is_dropped():
    d = simulate(*call(required_acl=42))
    assert d.consequence.code == "W803"
    assert d.words.startswith("never delivered to any websocket client (websocketd drops it: "
                              "required_acl is a number, not a string or null)")


def test_acl_no_token_holds():
    d = simulate(*call(required_acl=f"calls.{Y}"))
    assert (d.actual.kind, d.consequence.code) == (NOBODY, "W804")
    assert d.words == (f"delivered to no websocket client (no user's or admin's ACL matches "
                       f"'calls.{Y}'); the page sends it to the user {Y}")


def test_acl_only_admins_hold():
    d = simulate(*call(required_acl="events.calls.None"))
    assert (d.actual.kind, d.consequence.code) == (ADMINS, "W804")
    assert d.words.startswith("delivered to admins only")


def test_acl_wider_than_documented():
    d = simulate(*call(required_acl="events.statuses.users"))
    assert (d.actual.kind, d.consequence.code) == (ALL_USERS, "W805")
    assert d.words == f"delivered to every user and to admins although the page restricts it to the user {Y}"


def test_erratum_5_a_call_with_no_user_goes_to_admins_as_the_code_does():
    _, msg = call(user=None, required_acl="events.calls.None")
    d = simulate("calls.call.created", msg)
    assert (d.actual.kind, d.expected.kind, d.concerned) == (ADMINS, ADMINS, None)
    assert d.consequence is None


def test_erratum_3_hold_event_with_its_users_acl():
    d = simulate(*hold(required_acl=f"events.calls.{Y}"))
    assert (d.actual.kind, d.actual.user) == (USER, Y)
    assert d.consequence.code == "W806" and d.consequence.erratum == "E3"
    assert d.words == (f"known deviation E3: delivered to user {Y}, whom it concerns, and to "
                       "admins although the page documents no required_acl (by the page no "
                       "websocket client receives it)")


def test_erratum_3_hold_event_of_no_user_goes_to_every_client():
    d = simulate(*hold(user=None, required_acl=None))
    assert d.actual.kind == EVERYONE
    assert d.consequence.code == "W802" and d.consequence.erratum == "E3"
    assert d.words == ("known deviation E3: delivered to every client (null ACL) although the "
                       "page documents no required_acl (by the page no websocket client "
                       "receives it)")


def test_erratum_4_chat_reaches_its_recipient():
    d = simulate(*chat(required_acl=f"events.chat.message.{ORIGIN}.{Y}"))
    assert (d.actual.kind, d.actual.user, d.concerned) == (USER, Y, Y)
    assert d.consequence.code == "W806" and d.consequence.erratum == "E4"
    assert d.words.startswith(f"known deviation E4: delivered to user {Y}, whom it concerns")


def test_chat_to_the_wrong_user_is_no_erratum():
    d = simulate(*chat(required_acl=f"events.chat.message.{ORIGIN}.{X}"))
    assert d.consequence.code == "W806" and d.consequence.erratum is None
    assert d.words.startswith(f"delivered to user {X} instead of {Y} although the page")


def test_chat_without_acl_is_as_conforming_as_the_page_and_reaches_nobody():
    routing_key, msg = chat()
    body = json.dumps(msg).encode()
    result = CHECKER.check(routing_key, body, CT)
    d = SIM.simulate(body, result)
    assert result.verdict == OK
    assert d.consequence is None and not d.lost
    assert d.words == "never delivered to any websocket client (required_acl absent)"


def test_consequences_are_info_and_never_change_a_verdict():
    assert all(code.startswith("W8") for code, _, _ in DELIVERY_CODES)
    for msg in (call(required_acl=f"events.calls.{X}"), hold(required_acl=f"events.calls.{Y}"),
                call(), call(required_acl=None)):
        body = json.dumps(msg[1]).encode()
        result = CHECKER.check(msg[0], body, CT)
        finding = SIM.simulate(body, result).consequence.finding()
        assert finding.severity == "info" and finding.code in {c for c, _, _ in DELIVERY_CODES}
        assert verdict_of(list(result.findings) + [finding]) == result.verdict
        assert verdict_of([finding]) == OK and finding.severity != ERROR


def test_undocumented_event_has_no_expected_audience():
    d = SIM.simulate(json.dumps({"name": "foo_bar", "required_acl": "events.statuses.x",
                                 "origin_uuid": ORIGIN, "data": {}}).encode())
    assert not d.documented and d.expected is None and d.consequence is None
    assert d.actual.kind == ALL_USERS


def test_a_missing_bound_field_leaves_the_expectation_unknown():
    _, msg = call(required_acl=f"events.calls.{Y}")
    del msg["data"]["user_uuid"]
    d = simulate("calls.call.created", msg)
    assert d.expected is None and d.consequence is None


@pytest.mark.parametrize("name", ["users_forwards_busy_updated", "users_services_dnd_updated"])
def test_family_members_concern_their_user(name):
    word = name.split("_")[2]
    kind = name.split("_")[1]
    msg = {"name": name, "origin_uuid": ORIGIN,
           "required_acl": f"events.config.users.{X}.{kind}.{word}.updated",
           "data": {"user_uuid": Y, "enabled": True}}
    d = simulate(f"config.users.{Y}.{kind}.{word}.updated", copy.deepcopy(msg))
    assert d.concerned == Y and d.consequence.code == "W801"
