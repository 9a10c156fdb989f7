"""The ACL matcher and dispatch rule against xivo-websocketd 17.08's own test cases and the
facts of bus-17.08-facts.md ("How required_acl is used")."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import strategies_profile  # noqa: E402,F401  (the deterministic hypothesis profile)

from validator.delivery.matcher import (  # noqa: E402
    ABSENT, DROPPED, NULL, STRING, Token, acl_matches, dispatch_of, personalize)

AUTH = "123"

# (token ACLs, required ACL, matches): websocketd 17.08's test_acl.py cases, auth id "123".
WEBSOCKETD_CASES = [
    (["foo.bar.#"], "foo.bar", False),
    (["foo.bar.#"], "foo.bar.toto", True),
    (["foo.bar.#"], "foo.bar.toto.tata", True),
    (["foo.bar.#"], "other.bar.toto", False),
    (["foo.bar.toto"], "foo.bar.toto", True),
    (["foo.bar.toto"], "foo.bar.toto.tata", False),
    (["foo.bar.toto"], "other.bar.toto", False),
    (["foo.*.*"], "foo.bar.toto", True),
    (["foo.*.*"], "foo.bar.toto.tata", False),
    (["foo.*.*"], "other.bar.toto", False),
    (["foo", "foo.bar.toto", "other.#"], "foo", True),
    (["foo", "foo.bar.toto", "other.#"], "foo.bar", False),
    (["foo", "foo.bar.toto", "other.#"], "foo.bar.toto", True),
    (["foo", "foo.bar.toto", "other.#"], "foo.bar.toto.tata", False),
    (["foo", "foo.bar.toto", "other.#"], "other.bar.toto", True),
    (["foo.bar.#.titi"], "foo.bar", False),
    (["foo.bar.#.titi"], "foo.bar.toto", False),
    (["foo.bar.#.titi"], "foo.bar.toto.tata", False),
    (["foo.bar.#.titi"], "foo.bar.toto.tata.titi", True),
    (["foo.#.me"], "foo.bar", False),
    (["foo.#.me"], "foo.bar.123", True),
    (["foo.#.me"], "foo.bar.toto.123", True),
    (["foo.#.me"], "foo.bar.toto.123.titi", False),
    (["foo.#.me.bar"], "foo.bar.me.bar", False),
    (["foo.#.me.bar"], "foo.bar.123", False),
    (["foo.#.me.bar"], "foo.bar.123.bar", True),
    (["foo.#.me.bar"], "foo.bar.toto.123.bar", True),
]

# The facts' rules and their corners.
FACT_CASES = [
    # `*` is one dot-free word, possibly empty
    (["foo.*.bar"], "foo..bar", True),
    (["foo.*.bar"], "foo.x.y.bar", False),
    (["foo.*"], "foo.", True),
    (["foo.*"], "foo", False),
    # `#` is anything, dots included, possibly empty; the dot before it is literal
    (["foo.#"], "foo.", True),
    (["foo.#"], "foo", False),
    (["#"], "", True),
    (["#"], "anything.at.all", True),
    # whole string, literal dots
    (["foo.bar"], "foo.bar.", False),
    (["foo.bar"], "xfoo.bar", False),
    (["foo.bar"], "fooXbar", False),
    # trailing `.me` vs inner `.me.`: only a trailing one when there is one
    (["events.me.foo.me"], "events.me.foo.123", True),
    (["events.me.foo.me"], "events.123.foo.123", False),
    (["events.me.me.x"], "events.123.me.x", True),
    (["events.me.x.me.y"], "events.123.x.123.y", True),
    # a leading `me.`, a bare `me` or `.me` inside a word are not the user
    (["me.calls"], "123.calls", False),
    (["me.calls"], "me.calls", True),
    (["me"], "123", False),
    (["events.calls.meeting"], "events.calls.meeting", True),
    (["events.calls.me"], "events.calls.me", False),
    # the default user policy on the page's ACLs
    (["events.calls.me"], "events.calls.123", True),
    (["events.calls.me"], "events.calls.456", False),
    (["events.chat.message.*.me"], "events.chat.message.wazo.123", True),
    (["events.chat.message.*.me"], "events.chat.message.wazo.456", False),
    (["events.config.users.me.#"], "events.config.users.123.forwards.busy.updated", True),
    (["events.config.users.me.#"], "events.config.users.123", False),
    (["events.statuses.*"], "events.statuses.users", True),
    (["events.users.me.#"], "events.users.123.voicemails", True),
    (["events.directory.me.#"], "events.directory.123.favorite.created", True),
    (["events.#"], "events.plugin.install.x.completed", True),
    (["events.#"], "plugin.install.x.completed", False),
    # regex metacharacters in an ACL are literal
    (["a+b.(c)"], "a+b.(c)", True),
    (["a+b.(c)"], "aab.c", False),
    # websocketd's regex ends with Python's `$`, which also matches before one final newline
    (["events.statuses.*"], "events.statuses.users\n", True),
    (["events.statuses.users"], "events.statuses.users\n", True),
    (["events.statuses.users"], "events.statuses.users\n\n", False),
    # ... and its `#` is `.*?`, which never crosses a newline
    (["events.#"], "events.a\nb", False),
    (["events.*"], "events.a\nb", True),
]


@pytest.mark.parametrize("acls, required, expected", WEBSOCKETD_CASES + FACT_CASES)
def test_matches_as_websocketd(acls, required, expected):
    assert (Token(tuple(acls), AUTH).matching_acl(required) is not None) is expected


def test_personalize_replaces_only_the_trailing_me_when_there_is_one():
    assert personalize("a.me", "U") == "a.U"
    assert personalize("a.me.b.me", "U") == "a.me.b.U"
    assert personalize("a.me.b", "U") == "a.U.b"
    assert personalize("a.me.me.b", "U") == "a.U.me.b"  # non-overlapping, as str.replace
    assert personalize("me.a", "U") == "me.a"
    assert personalize("a.me", None) == "a.None"  # a token without auth id, as str(None)


def test_matching_acl_names_the_first_acl_that_grants():
    token = Token(("events.statuses.*", "events.#"), AUTH)
    assert token.matching_acl("events.statuses.users") == "events.statuses.*"
    assert token.matching_acl("events.calls.123") == "events.#"
    assert token.matching_acl("calls.123") is None


def test_the_acl_of_one_user_is_not_another_users():
    assert acl_matches("events.calls.me", "events.calls.A", "A")
    assert not acl_matches("events.calls.me", "events.calls.A", "B")
    assert acl_matches("events.statuses.*", "events.statuses.x", "B")


def _websocketd_regex(acl: str, auth: str) -> re.Pattern:
    # The construction websocketd 17.08 uses: escape the whole ACL, then turn the escaped
    # wildcards back into patterns. A second, independent reading to hold ours to.
    if acl.endswith(".me"):
        acl = f"{acl[:-3]}.{auth}"
    else:
        acl = acl.replace(".me.", f".{auth}.")
    text = re.escape(acl).replace("\\*", "[^.]*?").replace("\\#", ".*?")
    return re.compile(f"^{text}$")


WORDS = st.text(alphabet="ab.*#\\\n+me", max_size=8)


@given(acl=WORDS, required=WORDS, auth=st.sampled_from([AUTH, "a.b", "x*", "None"]))
def test_matcher_agrees_with_escape_then_replace(acl, required, auth):
    expected = _websocketd_regex(acl, auth).match(required) is not None
    assert acl_matches(acl, required, auth) is expected


@pytest.mark.parametrize("body, kind, why", [
    (b'{"name": "x", "data": {}}', ABSENT, ""),
    (b'{"name": "x", "required_acl": null}', NULL, ""),
    (b'{"name": "x", "required_acl": "events.x"}', STRING, ""),
    (b'{"name": "x", "required_acl": 3}', DROPPED, "required_acl is a number, not a string or null"),
    (b'{"name": "x", "required_acl": true}', DROPPED, "required_acl is a boolean, not a string or null"),
    (b'{"name": "x", "required_acl": ["a"]}', DROPPED, "required_acl is a array, not a string or null"),
    (b'{"name": "x", "required_acl": {}}', DROPPED, "required_acl is a object, not a string or null"),
    (b'{"required_acl": null}', DROPPED, "the body has no name"),
    (b'{"name": 1, "required_acl": null}', DROPPED, "name is a number, not a string"),
    (b'[1]', DROPPED, "the body is a JSON array, not an object"),
    (b'nope', DROPPED, "the body is not JSON"),
    (b'\xff{}', DROPPED, "the body is not UTF-8"),
    # Python's json, which websocketd uses, accepts what orjson refuses
    (b'{"name": "x", "required_acl": null, "data": NaN}', NULL, ""),
    (b'{"name": "x", "required_acl": "a", "data": "\\ud800"}', STRING, ""),
])
def test_dispatch_rule(body, kind, why):
    dispatch = dispatch_of(body)
    assert dispatch.kind == kind
    assert dispatch.why == why


def test_who_receives_a_dispatched_event():
    user = Token(("events.calls.me",), "A")
    stranger = Token(("events.calls.me",), "B")
    for body, receivers in [
        (b'{"name": "x", "required_acl": "events.calls.A"}', {"A"}),
        (b'{"name": "x", "required_acl": null}', {"A", "B"}),
        (b'{"name": "x"}', set()),
        (b'{"name": "x", "required_acl": 1}', set()),
    ]:
        dispatch = dispatch_of(body)
        assert {t.user for t in (user, stranger) if t.receives(dispatch)} == receivers


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@given(st.one_of(_JSON.map(lambda v: __import__("json").dumps(v).encode()),
                 st.binary(max_size=40),
                 st.sampled_from([b'{"name": "x", "v": NaN}', b'{"a": "\\ud800"}', b"{",
                                  b"", b"\xff{}", b"[1, 2", b'{"n": 123456789012345678901234}'])))
def test_websocketd_decode_reads_a_body_as_decode_does(body):
    # The run reads a body orjson refused with json alone; decode tries orjson first.
    import orjson

    from validator.delivery.matcher import decode, websocketd_decode
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        return  # (not asked of such bodies: orjson reads big integers as floats)
    got, want = websocketd_decode(body), decode(body)
    assert got[1] == want[1]
    assert repr(got[0]) == repr(want[0])  # (NaN != NaN)
