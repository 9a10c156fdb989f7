"""What a reader of the docs would check in every event's realistic examples: valid, and
values that look like a 17.08 bus (names like names, ids with their shapes, presences like
the defaults, a chat message a sentence), consistent across fields; the same seed gives the
same bytes in both modes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from validator.catalogue import load_catalogue
from validator.check import Checker
from validator.generate import EDGE, REALISTIC, Generator, RandomSource

CAT = load_catalogue()
CHECKER = Checker(CAT)
GEN = Generator(CAT, values=REALISTIC)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CALL_ID = re.compile(r"^1[45][0-9]{8}\.[0-9]+$")
PERSON_KEYS = ("caller_id_name", "peer_caller_id_name", "CallerIDName", "ConnectedLineName",
               "MemberName", "alias", "firstname", "lastname")


def looks_like_a_name(text: str) -> bool:
    """Alice Tremblay, O'Brien, Jean-Luc, 北京: each part capitalised once, letters only."""
    parts = [p for p in re.split(r"[ '\-]", text) if p]
    return bool(parts) and all(
        all(c.isalpha() for c in p) and (not p[0].islower()) and p[1:] == p[1:].lower()
        for p in parts)


@pytest.mark.parametrize("text,ok", [("Alice Tremblay", True), ("O'Brien", True),
                                     ("Jean-Luc", True), ("北京", True), ("JFVIqLqCp", False),
                                     ("4kEWErlH8b", False), ("", False)])
def test_the_name_rule_itself(text, ok):
    assert looks_like_a_name(text) is ok


def walk(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v, value
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)


def examples_of(target, count=3):
    src = RandomSource(f"reader:{target.label}")
    return [GEN.valid(src, target, i) for i in range(count)]


@pytest.mark.parametrize("target", GEN.targets, ids=lambda t: t.label)
def test_realistic_examples_read_like_a_1708_bus(target):
    for ex in examples_of(target):
        result = CHECKER.check(ex.routing_key, ex.body, ex.properties)
        assert result.verdict == "ok" and not result.findings, ex.body
        data = ex.msg["data"]
        assert UUID.match(ex.msg["origin_uuid"])
        if "user_uuid" in data and ex.msg.get("required_acl"):
            assert data["user_uuid"] in ex.msg["required_acl"] or "{user_uuid}" not in (
                target.spec.required_acl or "")
        for key, value, parent in walk(data):
            if key in PERSON_KEYS and isinstance(value, str):
                assert looks_like_a_name(value), (key, value)
            if key == "talking_to":
                assert all(CALL_ID.match(k) for k in value), value
                assert all(v is None or UUID.match(v) for v in value.values()), value
            if key == "bridges":
                assert all(UUID.match(b) for b in value), value
            if key in ("call_id", "Uniqueid", "Linkedid"):
                assert CALL_ID.match(value), value
            if key == "creation_time" and value is not None:
                assert re.fullmatch(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", value)
            if key == "msg":
                words = value.split()
                assert words and all(re.fullmatch(r"[\w'’,.!?:;-]+|[^\w\s]", w) for w in words)
                assert sum(w.isalpha() for w in words) >= 1 and value[0].isupper(), value
            if key.endswith("_id") and type(value) is int:
                assert 1 <= value <= 100_000, (key, value)
            if key.endswith("uuid") and isinstance(value, str):
                assert UUID.match(value), (key, value)


def test_presences_are_lowercase_words_like_the_defaults():
    target = GEN.target(next(s.name for s in CAT.events if s.name and s.key.startswith(
        "user_status")))
    seen = {ex.msg["data"]["status"] for i in range(30)
            for ex in [GEN.valid(RandomSource(i), target)]}
    assert len(seen) > 3 and all(re.fullmatch(r"[a-z]+", s) for s in seen), seen


def test_voicemail_message_id_matches_the_message():
    for spec in CAT.events:
        if not (spec.name and spec.name.startswith("user_voicemail")):
            continue
        for ex in examples_of(GEN.target(spec.name), 5):
            data = ex.msg["data"]
            assert data["message_id"] == data["message"]["id"]
            assert data["message"]["timestamp"] == int(data["message_id"].split("-")[0])


def test_plugin_statuses_follow_an_install():
    for spec in CAT.events:
        if spec.name and spec.name.startswith("plugin_"):
            statuses = [ex.msg["data"]["status"] for ex in examples_of(GEN.target(spec.name), 3)]
            assert statuses[0] == "starting" and len(set(statuses)) == 3, statuses


def test_ami_events_carry_their_headers():
    ami = [t for t in GEN.targets if t.name is None]
    for i in range(20):
        ex = GEN.valid(RandomSource(i), ami[0])
        data = ex.msg["data"]
        assert data["Event"] == ex.name and all(type(v) is str for v in data.values())
        assert data.get("Privilege", "").endswith(",all")


@pytest.mark.parametrize("mode", [REALISTIC, EDGE])
def test_same_seed_same_bytes_in_both_modes(mode):
    args = [sys.executable, "-m", "validator", "examples", "--count", "2", "--seed", "7",
            "--values", mode]
    one, two = (subprocess.run(args, capture_output=True, timeout=300) for _ in range(2))
    assert one.returncode == 0 and one.stdout == two.stdout
    other = subprocess.run(args[:-1] + [EDGE if mode == REALISTIC else REALISTIC],
                           capture_output=True, timeout=300)
    assert other.stdout != one.stdout
    assert len(json.loads(one.stdout)) == 2 * len(GEN.targets)
