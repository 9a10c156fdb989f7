"""`deliver` end to end: text and ndjson output, profiles, and one-line usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

Y = "2e752722-0864-4665-887d-a78a024cf7c7"
X = "8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2"


def event(name, **acl):
    return {"routing_key": f"rk.{name}", "payload": {"name": name, "data": {}, **acl}}


LINES = [
    event("call_created", required_acl=f"events.calls.{Y}"),
    event("call_created", required_acl=f"events.calls.{X}"),
    event("chat_message_event"),
    event("call_held", required_acl=None),
    {"meta": {"kind": "start"}},
    event("call_held", required_acl=7),
    "not json",
    event("user_status_update", required_acl="events.statuses.users"),
]


def run(*args, input=None):
    return subprocess.run([sys.executable, "-m", "validator", "deliver", *args],
                          capture_output=True, input=input, timeout=120)


@pytest.fixture
def capture(tmp_path):
    path = tmp_path / "capture.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in LINES))
    return path


def test_ndjson_one_object_per_message(capture):
    proc = run(str(capture), "--acl", "events.calls.me", "--acl", "events.statuses.*",
               "--user", Y, "--format", "ndjson")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert all(set(r) == {"line", "name", "routing_key", "delivered", "reason"} for r in rows)
    assert [(r["line"], r["delivered"]) for r in rows] == [
        (1, True), (2, False), (3, False), (4, True), (6, False), (7, False), (8, True)]
    by_line = {r["line"]: r for r in rows}
    assert by_line[1]["name"] == "call_created" and by_line[1]["routing_key"] == "rk.call_created"
    assert by_line[1]["reason"] == (f"required_acl 'events.calls.{Y}' matches this token's ACL "
                                    "'events.calls.me'")
    assert by_line[2]["reason"] == f"required_acl 'events.calls.{X}' matches none of this token's ACLs"
    assert by_line[3]["reason"] == "never delivered to any websocket client (required_acl absent)"
    assert by_line[4]["reason"] == "delivered to every client (null ACL)"
    assert by_line[6]["reason"] == ("never delivered to any websocket client (websocketd drops "
                                    "it: required_acl is a number, not a string or null)")
    assert by_line[7]["name"] is None and by_line[7]["reason"].startswith("not a message")
    assert b"websocketd" in proc.stderr  # the token lacks the ACL that lets it connect


def test_text_lists_received_and_missed_with_reasons(capture):
    proc = run(str(capture), "--profile", "user", "--user", X)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    received, missed = out.split("does not receive")
    assert "receives 3 of 7 messages" in received
    assert "line 2: call_created [rk.call_created]: required_acl" in received
    assert "line 1: call_created" in missed and "line 3: chat_message_event" in missed
    assert proc.stderr == b""  # the default user policy grants websocketd


def test_admin_profile_needs_no_user(capture):
    proc = run(str(capture), "--profile", "admin", "--format", "ndjson")
    assert proc.returncode == 0, proc.stderr
    delivered = [json.loads(x)["delivered"] for x in proc.stdout.splitlines()]
    assert delivered == [True, True, False, True, False, False, True]


def test_profile_file_and_stdin(tmp_path, capture):
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text("profiles:\n  a: {acl: ['events.statuses.*']}\n  b: {acl: ['x']}\n")
    proc = run("-", "--profile", f"{profiles}:a", "--format", "ndjson",
               input=capture.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["delivered"] for x in proc.stdout.splitlines()] == [
        False, False, False, True, False, False, True]
    proc = run(str(capture), "--profile", str(profiles))
    assert proc.returncode == 2 and b"has 2 profiles" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl", "--acl", "a"], b"missing.jsonl"),
    (["{capture}"], b"give the token's ACLs"),
    (["{capture}", "--acl", "events.calls.me"], b"--user UUID is needed"),
    (["{capture}", "--profile", "nope"], b"--profile nope: neither a profile"),
    (["{capture}", "--acl", "a", "--user", ""], b"--user: the user UUID cannot be empty"),
    (["{capture}", "--acl", "a", "--format", "xml"], b"invalid choice"),
    (["{capture}", "--profile", "{bad}"], b"--profile: "),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capture, args, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text("profiles: {u: {acl: 3}}\n")
    proc = run(*[a.format(capture=capture, bad=bad) for a in args])
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and b"Traceback" not in proc.stderr
