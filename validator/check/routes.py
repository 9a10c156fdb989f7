"""The cheap routes of a name: plan(msg, routing_key) -> its MessageResult, or None when the
message takes the detailed route (docs/engine.md, "Routes"). A plan is built at a name's
first message and cached by name (bounded, like every cache here); what it holds was worked
out once from the name, never from a body. Each route gives what the detailed route would:
the tests compare them on every message they make.

Also here: whose documented routing key is a key (`Owners`), asked of every undocumented
event's key (N301) and of every wrong key (R400's hint).
"""

from __future__ import annotations

import re


from ..catalogue import envelope_schema
from ..findings import OK, MessageResult
from .compile import ABSENT, ACL_WRONG
from .detailed import Findings
from .template import MISSING

KEY_CACHE_LIMIT = 10_000  # a hostile stream of random keys must not grow memory
KEY_CACHE_MAX_CHARS = 256  # ... nor a few very long ones


def documented_plan(checker, compiled, name: str, values: dict):
    """The plan of a documented name. When the routing key and the ACL are right: no finding
    (a shared result), else the findings of the data and maybe the envelope
    (checker.data_result). When they are not and the envelope is valid: their findings and
    the data's (checker.keys_result); else None (the detailed route)."""
    if compiled.not_yet:
        return None
    is_valid, envelope_is_valid = compiled.is_valid, compiled.envelope_is_valid
    data_result, keys_result = checker.data_result, checker.keys_result

    def wrong_keys(msg, routing_key, rk_right=False, acl_right=False):
        # The key or the ACL is wrong: their findings and the data's, the envelope valid.
        # rk_right, acl_right: known to equal the name's one key or ACL (no finding).
        if is_valid(msg):
            return keys_result(compiled, name, values, routing_key, msg, True, rk_right,
                               acl_right)
        if envelope_is_valid(msg):
            return keys_result(compiled, name, values, routing_key, msg, False, rk_right,
                               acl_right)
        return None

    expected = compiled.expected_keys(values)
    if expected is not None:
        # The name alone decides the key and the ACL: two compares, and the one result of
        # a conforming message with each key (results are never changed once returned).
        expected_rk, expected_acl = expected
        ok_keyed, ok_unkeyed = MessageResult(name, expected_rk, OK), MessageResult(name, None, OK)

        def plan(msg, routing_key):
            # == with ABSENT is identity; JSON has no other value equal to a string.
            if ((routing_key is None or routing_key == expected_rk)
                    and msg.get("required_acl", ABSENT) == expected_acl):
                if is_valid(msg):
                    return ok_unkeyed if routing_key is None else ok_keyed
                return data_result(compiled, name, routing_key, msg)
            # The rendered key passes the key's checks (expected_keys), and the ACL that
            # equals the rendered one (or is absent with none documented) the ACL's.
            return wrong_keys(msg, routing_key, routing_key is None or routing_key == expected_rk,
                              msg.get("required_acl", ABSENT) == expected_acl)
        return plan
    keys_wrong = compiled.keys_plan(values)

    def general_plan(msg, routing_key):
        wrong = keys_wrong(msg, routing_key)
        if not wrong:
            if is_valid(msg):
                return MessageResult(name, routing_key, OK)
            return data_result(compiled, name, routing_key, msg)
        # Only the ACL wrong: the key passed its checks (it has no finding to look for).
        return wrong_keys(msg, routing_key, wrong == ACL_WRONG)
    return general_plan


def undocumented_schema(uuid_schema: dict, uuid_fields: str) -> dict:
    """The messages of an undocumented event with no finding beyond N300 and N301: an
    envelope with nothing to say, and every field named like a UUID (meta uuid_fields), at
    any depth of the data, a UUID or null (explain.undocumented_uuids)."""
    node = {
        "patternProperties": {uuid_fields: {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/uuid"}]}},
        "additionalProperties": {"$ref": "#/$defs/undocumented_node"},
        "items": {"$ref": "#/$defs/undocumented_node"},
    }
    return dict(envelope_schema({"$ref": "#/$defs/undocumented_node"}, closed=True),
                **{"$defs": {"uuid": uuid_schema, "undocumented_node": node}})


def undocumented_plan(checker, name: str):
    """The plan of an undocumented name: N300, known from the name, and N301 when the key is
    another event's (known from the name and the key); None when the envelope or a UUID-named
    field has a finding too."""
    found = Findings()
    checker.undocumented(name, None, {}, found.add)
    alone = checker.result_of(name, None, found, None)
    verdict, findings = alone.verdict, alone.findings
    is_valid, owner_of, with_owner = (checker.undocumented_is_valid, checker.owner_of,
                                      checker.undocumented_result)

    def plan(msg, routing_key):
        if not is_valid(msg):
            return None
        if routing_key is not None and owner_of(routing_key) is not None:
            return with_owner(name, routing_key, msg)
        return MessageResult(name, routing_key, verdict, findings)
    return plan


class Owners:
    """owner_of(routing_key): the first documented event (catalogue order) whose routing key
    the key is, or None. The owners are grouped by their key's literal first word: a key is
    matched against the owners that can have its first word only (one alternation of all of
    them cost ~2.5 us a key), each word's alternation compiled at its first key, and the
    answers are cached by key (bounded)."""

    def __init__(self, owners):
        """owners: (regex source, label, the key template's literal parts) in order."""
        self.labels = [label for _, label, _ in owners]
        self._owners = list(owners)
        self._words = [_first_word(parts) for _, _, parts in owners]
        self._known_words = frozenset(w for w in self._words if w is not None)
        # word (None: any other word) -> its alternation, compiled when a key with that
        # first word first comes (a run meets few of them; each cost ~1 ms to compile).
        self._by_word: dict[str | None, re.Pattern | None] = {}
        self._cache: dict[str, str | None] = {}

    def _alternation(self, word):
        words = self._words
        chosen = [(i, src) for i, (src, _, _) in enumerate(self._owners)
                  if words[i] in (word, None)]
        if not chosen:
            return None
        # One named group per owner, its inner groups renamed: o<index>, o<index>p<n>.
        return re.compile("|".join(
            f"(?P<o{i}>{src.replace('(?P<p', f'(?P<o{i}p')})" for i, src in chosen))

    def regex_for(self, routing_key: str):
        """The alternation of the owners a key with this first word can have, or None."""
        word = routing_key.split(".", 1)[0]
        if word not in self._known_words:
            word = None
        regex = self._by_word.get(word, MISSING)
        if regex is MISSING:
            regex = self._by_word[word] = self._alternation(word)
        return regex

    def __call__(self, routing_key: str) -> str | None:
        hit = self._cache.get(routing_key, MISSING)
        if hit is not MISSING:
            return hit
        regex = self.regex_for(routing_key)
        m = regex.fullmatch(routing_key) if regex is not None else None
        # The outer group closes last: lastgroup is the owner's o<index>.
        hit = self.labels[int(m.lastgroup[1:])] if m is not None else None
        if len(self._cache) < KEY_CACHE_LIMIT and len(routing_key) <= KEY_CACHE_MAX_CHARS:
            self._cache[routing_key] = hit
        return hit


def _first_word(parts) -> str | None:
    """The first word (up to the first dot) every key of the template has, or None when a
    placeholder may write it."""
    if not parts or type(parts[0]) is not str:
        return None
    head = parts[0]
    if "." in head:
        return head.split(".", 1)[0]
    return head if len(parts) == 1 else None

