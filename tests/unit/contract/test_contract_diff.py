"""`diff`: the catalogue's changelog reproduced, and captures with known changes classified."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from validator.catalogue import load_catalogue, parse_version
from validator.cli import main
from validator.contract.diff import BREAKING, INFO, NON_BREAKING, diff
from validator.contract.from_catalogue import contract_from_catalogue

PER_EVENT = 20
W = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _capture(path: Path, seed: int, count: int = PER_EVENT) -> Path:
    # edge values: every type a field allows shows up, as real traffic's variety would
    assert main(["examples", "--count", str(count), "--seed", str(seed), "--format", "capture",
                 "--values", "edge", "--output", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    return _capture(tmp_path_factory.mktemp("captures") / "old.jsonl", 0)


def _records(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        try:
            payload = json.loads(rec["body"])
        except (KeyError, ValueError):
            payload = None  # a faulty body stays as it was
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            del rec["body"]
            rec["payload"] = payload
        out.append(rec)
    return out


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _diff(capsys, old, new, *extra) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["diff", str(old), str(new), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _changes(doc, level=None) -> set[tuple]:
    return {(c["kind"], c["event"], c["path"]) for c in doc["changes"]
            if level is None or c["level"] == level}


# -- the catalogue's own changelog ----------------------------------------------------------

def _added_between(catalogue, old: str, new: str) -> set[tuple]:
    return {("event-added", name, None) for spec in catalogue.events if spec.since
            and parse_version(old) < parse_version(spec.since) <= parse_version(new)
            for name, _ in spec.concrete_names()}


def test_diff_16_08_17_08_lists_the_events_added_in_17_01_and_17_08(catalogue, capsys):
    code, doc = _diff(capsys, "16.08", "17.08", "--fail-on", "breaking")
    assert code == 0 and doc["summary"]["breaking"] == 0
    added = _added_between(catalogue, "16.08", "17.08")
    assert {name for _, name, _ in added} == {
        "favorite_added", "favorite_deleted", "plugin_install_progress",
        "plugin_uninstall_progress"}
    assert _changes(doc) == added


def test_diff_16_07_17_08_shows_the_user_uuid_change_as_breaking(catalogue, capsys):
    # The page dates the user_id -> user_uuid change 16.08: it is in the diff from 16.07.
    code, doc = _diff(capsys, "16.07", "17.08", "--fail-on", "breaking")
    assert code == 1
    assert _changes(doc, BREAKING) == {("field-removed", "user_status_update", "data.user_id")}
    assert _changes(doc, NON_BREAKING) == _added_between(catalogue, "16.07", "17.08") | {
        ("field-added", "user_status_update", "data.user_uuid")}
    info = [c["message"] for c in doc["changes"] if c["level"] == INFO]
    assert info == ["16.08: The user_status_update bus message now uses the user's UUID "
                    "instead of the user's ID."]


def test_the_whole_changelog_between_the_catalogues_ends(catalogue):
    first, last = catalogue.version_range
    changes = diff(contract_from_catalogue(catalogue, first),
                   contract_from_catalogue(catalogue, last))
    added = {(c.kind, c.event, c.path) for c in changes if c.kind == "event-added"}
    assert added == _added_between(catalogue, first, last)
    changelog = {c.message for c in changes if c.kind == "changelog"}
    assert changelog == {f"{ch['version']}: {ch['text']}" for spec in catalogue.events
                         for ch in spec.changes}


def test_a_version_diffed_against_itself_is_empty(catalogue):
    contract = contract_from_catalogue(catalogue, "17.08")
    assert diff(contract, contract_from_catalogue(catalogue, "17.08")) == []


# -- captures -------------------------------------------------------------------------------

def test_a_capture_diffed_against_itself_is_empty(capture, capsys):
    code, doc = _diff(capsys, capture, capture, "--fail-on", "info")
    assert code == 0 and doc["changes"] == []


def test_two_captures_of_the_same_bus_differ_by_nothing_but_info(capture, tmp_path, capsys):
    # Different seeds: other values, optional fields and AMI names; the same contract.
    other = _capture(tmp_path / "other.jsonl", 7)
    code, doc = _diff(capsys, capture, other, "--fail-on", "non-breaking")
    assert code == 0, doc["changes"]


def test_the_catalogue_and_its_generated_capture_agree(capture, capsys):
    for old, new in (("17.08", capture), (capture, "17.08")):
        code, doc = _diff(capsys, old, new, "--fail-on", "non-breaking")
        assert code == 0, doc["changes"]


def _faulty(path: Path, seed: int) -> Path:
    assert main(["publish", "--dry-run", "--count", "5000", "--faulty", "0.05", "--seed",
                 str(seed), "--record", str(path)]) == 0
    return path


def test_faulty_traffic_keeps_its_contract_and_shows_a_real_change(tmp_path, capsys):
    # 5% of the messages carry one fault each (check's business, not a contract change).
    old, other = _faulty(tmp_path / "a.jsonl", 1), _faulty(tmp_path / "b.jsonl", 2)
    code, doc = _diff(capsys, old, other, "--fail-on", "non-breaking")
    assert code == 0, doc["changes"]
    # what two samples of the same traffic may differ by is info: rare types and values
    assert not _changes(doc, BREAKING) and not _changes(doc, NON_BREAKING)
    new = _mutated(other, tmp_path, "endpoint_status_update",
                   lambda rec, i: rec["payload"]["data"].pop("endpoint_id", None))
    code, doc = _diff(capsys, old, new, "--fail-on", "breaking")
    assert code == 1
    assert _changes(doc, BREAKING) == {("field-removed", "endpoint_status_update",
                                        "data.endpoint_id")}


def _mutated(capture: Path, tmp_path: Path, event: str, change) -> Path:
    records = _records(capture)
    for i, rec in enumerate(records):
        if "payload" in rec and rec["payload"].get("name") == event:
            change(rec, i)
    return _write(tmp_path / "new.jsonl", records)


def test_a_field_removed_from_a_capture_is_breaking(capture, tmp_path, capsys):
    new = _mutated(capture, tmp_path, "agent_status_update",
                   lambda rec, i: rec["payload"]["data"].pop("agent_id"))
    code, doc = _diff(capsys, capture, new, "--fail-on", "breaking")
    assert code == 1
    assert _changes(doc) == {("field-removed", "agent_status_update", "data.agent_id")}


@pytest.mark.parametrize("event, change, expected", [
    ("user_created",
     lambda rec, i: rec["payload"]["data"].update(id=str(rec["payload"]["data"]["id"])),
     {("field-type-changed", "user_created", "data.id")}),
    ("call_held", lambda rec, i: rec.update(routing_key="calls.hold.started"),
     {("routing-key-changed", "call_held", None)}),
    ("agent_status_update",
     lambda rec, i: rec["payload"].update(required_acl="events.statuses.agent"),
     {("acl-changed", "agent_status_update", None)}),
    ("favorite_added", lambda rec, i: rec["payload"].pop("required_acl"),
     {("acl-changed", "favorite_added", None)}),
    ("user_deleted", lambda rec, i: rec["payload"]["data"].pop("uuid") if i % 2 else None,
     {("field-made-optional", "user_deleted", "data.uuid")}),
    ("call_created", lambda rec, i: rec["payload"]["data"].setdefault("on_hold", False),
     {("field-made-required", "call_created", "data.on_hold")}),
])
def test_known_breaking_changes(capture, tmp_path, capsys, event, change, expected):
    new = _mutated(capture, tmp_path, event, change)
    code, doc = _diff(capsys, capture, new, "--fail-on", "breaking")
    assert code == 1
    assert _changes(doc, BREAKING) == expected


def test_an_event_gone_from_a_capture_is_breaking_and_a_new_one_is_not(capture, tmp_path, capsys):
    records = _records(capture)
    kept = [r for r in records if r["payload"]["name"] != "call_resumed"]
    old = _write(tmp_path / "old.jsonl", records)
    new = _write(tmp_path / "new.jsonl", kept)
    code, doc = _diff(capsys, old, new)
    assert code == 0 and _changes(doc) == {("event-removed", "call_resumed", None)}
    code, doc = _diff(capsys, new, old, "--fail-on", "breaking")
    assert code == 0 and _changes(doc) == {("event-added", "call_resumed", None)}
    assert doc["changes"][0]["level"] == NON_BREAKING


def test_an_optional_field_added_is_non_breaking(capture, tmp_path, capsys):
    new = _mutated(capture, tmp_path, "user_edited",
                   lambda rec, i: rec["payload"]["data"].update(firstname="Alice") if i % 2
                   else None)
    code, doc = _diff(capsys, capture, new, "--fail-on", "breaking")
    assert code == 0
    assert _changes(doc) == {("field-added", "user_edited", "data.firstname")}
    assert doc["changes"][0]["level"] == NON_BREAKING


def test_a_capture_against_the_version_before_its_events(capture, capsys):
    # 16.08's contract has no favorite nor plugin events: the capture adds them.
    code, doc = _diff(capsys, "16.08", capture)
    added = {name for kind, name, _ in _changes(doc, NON_BREAKING) if kind == "event-added"}
    assert added == {"favorite_added", "favorite_deleted", "plugin_install_progress",
                     "plugin_uninstall_progress"}
    assert doc["summary"]["breaking"] == 0


# -- the command line -----------------------------------------------------------------------

def test_text_and_markdown_say_the_same_counts(capsys):
    assert main(["diff", "16.07", "17.08"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].endswith("1 breaking, 7 non-breaking, 1 info")
    assert "user_status_update data.user_id: field-removed" in text
    assert main(["diff", "16.07", "17.08", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "**1 breaking**, 7 non-breaking, 1 info" in md
    assert "| `user_status_update` | `data.user_id` | field-removed |" in md


@pytest.mark.parametrize("args, message", [
    (["nothing-here.jsonl", "17.08"], "OLD nothing-here.jsonl: no such file"),
    (["17.08", "12.01"], "NEW Wazo version 12.01 is outside the catalogue's range"),
    (["17.08"], "required: NEW"),
    (["17.08", "17.08", "--format", "xml"], "invalid choice"),
    (["/dev/null", "17.08"], "no event could be read"),
    ([".", "17.08"], "is a directory"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "validator", "diff", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_broken_catalogue_file_is_one_line(tmp_path):
    bad = tmp_path / "catalogue.yaml"
    bad.write_text("catalogue: [\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "validator", "diff", str(bad), "17.08"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("wazo-bus-validator: error: OLD ")


def test_small_hand_written_captures(tmp_path, capsys):
    def line(name, data, rk):
        return {"routing_key": rk, "payload": {"name": name, "origin_uuid": W, "data": data}}
    old = _write(tmp_path / "old.jsonl", [line("foo_done", {"id": 1}, "foo.done"),
                                          line("bar_done", {"id": 2, "n": "x"}, "bar.done"),
                                          line("bar_done", {"id": 3, "n": "y"}, "bar.done")])
    new = _write(tmp_path / "new.jsonl", [line("bar_done", {"id": "2"}, "bar.done"),
                                          line("bar_done", {"id": "3"}, "bar.done"),
                                          line("baz_done", {}, "baz.done")])
    code, doc = _diff(capsys, old, new, "--fail-on", "breaking")
    assert code == 1
    assert _changes(doc, BREAKING) == {("event-removed", "foo_done", None),
                                       ("field-type-changed", "bar_done", "data.id"),
                                       ("field-removed", "bar_done", "data.n")}
    assert _changes(doc, NON_BREAKING) == {("event-added", "baz_done", None)}


def test_a_value_always_null_in_new_is_a_type_change_and_one_null_is_not(capture, tmp_path,
                                                                          capsys):
    new = _mutated(capture, tmp_path, "user_edited",
                   lambda rec, i: rec["payload"]["data"].update(uuid=None))
    code, doc = _diff(capsys, capture, new, "--fail-on", "breaking")
    assert code == 1
    assert _changes(doc, BREAKING) == {("field-type-changed", "user_edited", "data.uuid")}
    records = [r for r in _records(capture) if r["payload"]["name"] == "user_edited"][:1]
    old = _write(tmp_path / "one.jsonl", records)
    records[0]["payload"]["data"]["uuid"] = None
    one_null = _write(tmp_path / "one-null.jsonl", records)
    code, doc = _diff(capsys, old, one_null, "--fail-on", "breaking")
    assert code == 0 and _changes(doc) == {("field-type-null-only", "user_edited", "data.uuid")}


def test_envelope_keys_are_fields_too(capture, tmp_path, capsys):
    def drop_origin(rec, i):
        del rec["payload"]["origin_uuid"]
        rec["payload"]["tenant"] = "t1"
    new = _mutated(capture, tmp_path, "call_held", drop_origin)
    code, doc = _diff(capsys, capture, new)
    assert _changes(doc, BREAKING) == {("field-removed", "call_held", "origin_uuid")}
    assert _changes(doc, NON_BREAKING) == {("field-added", "call_held", "tenant")}


def test_events_a_capture_lacks_are_info_against_a_catalogue(capture, tmp_path, capsys):
    kept = [r for r in _records(capture) if r["payload"]["name"] != "call_held"]
    partial = _write(tmp_path / "partial.jsonl", kept)
    for old, new in (("17.08", partial), (partial, "17.08")):
        code, doc = _diff(capsys, old, new, "--fail-on", "non-breaking")
        assert code == 0 and _changes(doc) == {("event-not-seen", "call_held", None)}
