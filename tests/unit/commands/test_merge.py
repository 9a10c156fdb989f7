"""`merge`: the JSON reports of parts of a run (workers of a shared queue, halves of a
capture) combine into the report of the whole; the gate is decided again; every worker's
loss facts are kept; any unusable report is one line and exit 2."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import strategies_profile  # noqa: F401  (the deterministic "ci" hypothesis profile)
from hypothesis import given, strategies as st

from messages import CATALOGUE, CHECKER, mixed_traffic
from validator.capture import capture_record
from validator.cli import main
from validator.run import Run
from validator.summary import FAILING_KEPT, Gate, Summary

NAMES = CATALOGUE.all_names()
CT = {"content_type": "application/json"}
POSITIONAL = ("index", "line", "file", "file_index")   # a part's own numbering


TRAFFIC = mixed_traffic()


@dataclass
class Delivery:
    routing_key: str
    body: bytes
    properties: dict
    received_at: float


def _deliveries(choices):
    return [Delivery(*TRAFFIC[c], CT, 1_800_000_000.0 + i / 1000) for i, c in enumerate(choices)]


def _live(deliveries, **run_facts) -> Summary:
    """One worker's summary: its deliveries numbered from 1, as `listen` numbers them."""
    s = Summary(catalogue_names=NAMES, wazo_version="17.08", source="amqp test")
    run = Run(CHECKER, s)
    for d in deliveries:
        run.delivery(d)
    return s.finish(stop_reason="signal:SIGTERM", may_have_lost=False, lost_estimate=0,
                    gaps=[], **run_facts)


def _write(d: dict, path: Path) -> str:
    path.write_text(json.dumps(d))
    return str(path)


def _merge(*args) -> tuple[int, dict | None]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "merged.json"
        code = main(["merge", *map(str, args), "--format", "json", "--output", str(out),
                     "--quiet"])
        return code, json.loads(out.read_text()) if out.exists() else None


def _strip(sample: dict) -> dict:
    return {k: v for k, v in sample.items() if k not in POSITIONAL}


def _comparable(d: dict) -> dict:
    """A report without what differs by construction: times, source, run facts, and the
    numbering of kept messages (each part counts its own; they are ordered by time)."""
    d = {k: v for k, v in d.items() if k not in ("started_at", "ended_at", "source", "run")}
    d["samples"] = [dict(s, messages=[_strip(m) for m in s["messages"]]) for s in d["samples"]]
    d["failing_messages"] = [_strip(m) for m in d["failing_messages"]]
    d["input_errors"] = [_strip(m) for m in d["input_errors"]]
    if d.get("timeline"):   # its second view counts by line: each part numbers its own
        d["timeline"] = {k: v for k, v in d["timeline"].items() if k != "other"}
    return d


@given(st.lists(st.integers(0, len(TRAFFIC) - 1), min_size=1, max_size=60),
       st.data())
def test_two_workers_reports_merge_into_the_whole(choices, data):
    deliveries = _deliveries(choices)
    # RabbitMQ hands each message to one of the workers, in any interleaving
    to_first = data.draw(st.lists(st.booleans(), min_size=len(deliveries),
                                  max_size=len(deliveries)))
    first = [d for d, f in zip(deliveries, to_first) if f]
    second = [d for d, f in zip(deliveries, to_first) if not f]
    whole = _live(deliveries).as_dict()
    with tempfile.TemporaryDirectory() as tmp:
        a = _write(_live(first).as_dict(), Path(tmp) / "a.json")
        b = _write(_live(second).as_dict(), Path(tmp) / "b.json")
        code, merged = _merge(a, b)
    assert code == whole["exit_code"]
    assert _comparable(merged) == _comparable(whole)
    assert merged["run"]["workers"][0]["messages"] == len(first)


def test_reports_of_two_halves_of_a_capture_merge_into_the_report_of_the_whole(tmp_path):
    items = _deliveries([i % len(TRAFFIC) for i in range(3 * FAILING_KEPT)])
    lines = [capture_record(d.routing_key, d.body, CT, "xivo", d.received_at) for d in items]
    whole, half1, half2 = tmp_path / "whole.jsonl", tmp_path / "h1.jsonl", tmp_path / "h2.jsonl"
    whole.write_bytes(b"".join(lines))
    half1.write_bytes(b"".join(lines[:len(lines) // 2]))
    half2.write_bytes(b"".join(lines[len(lines) // 2:]))
    reports = {}
    for path in (whole, half1, half2):
        out = tmp_path / (path.stem + ".json")
        assert main(["check", str(path), "--format", "json", "--output", str(out),
                     "--quiet"]) == 1
        reports[path.stem] = out
    code, merged = _merge(reports["h1"], reports["h2"])
    expected = json.loads(reports["whole"].read_text())
    assert code == 1
    assert merged["totals"]["messages"] == len(items)
    assert _comparable(merged) == _comparable(expected)


def test_the_gate_is_decided_again_on_the_merged_counts(tmp_path):
    ok = [d for d in _deliveries(range(len(TRAFFIC))) if d.body == TRAFFIC[0][1]]
    seen_by_a = CHECKER.check(ok[0].routing_key, ok[0].body, CT).name
    a = _live(ok)
    a.gate = Gate(require=(seen_by_a,))
    b = _live(_deliveries([3]))          # another event, conforming
    b.gate = Gate(require=(seen_by_a,))
    assert b.as_dict()["status"] == "failed"       # alone, b misses the required event
    ra, rb = _write(a.as_dict(), tmp_path / "a.json"), _write(b.as_dict(), tmp_path / "b.json")
    code, merged = _merge(ra, rb)
    assert (code, merged["status"], merged["gate"]["missing_required"]) == (0, "passed", [])
    broken = _write(_live(_deliveries([1])).as_dict(), tmp_path / "c.json")
    code, merged = _merge(ra, broken)
    assert (code, merged["status"]) == (1, "failed")
    code, merged = _merge(ra, _write(_live([]).as_dict(), tmp_path / "empty.json"))
    assert code == 0 and merged["totals"]["messages"] == len(ok)


def test_every_worker_s_losses_are_kept(tmp_path):
    gap = {"start": 5.0, "end": 6.0, "reason": "connection lost"}
    a = _live(_deliveries([0, 1]), messages_received=2)
    a.run.update(may_have_lost=True, lost_estimate=40, gaps=[gap], undrained=3)
    b = _live(_deliveries([2]), messages_received=1)
    b.run.update(lost_estimate=2, gaps=[dict(gap, start=1.0)])
    code, merged = _merge(_write(a.as_dict(), tmp_path / "a.json"),
                          _write(b.as_dict(), tmp_path / "b.json"))
    run = merged["run"]
    assert (run["may_have_lost"], run["lost_estimate"], run["undrained"]) == (True, 42, 3)
    assert run["messages_received"] == 3
    assert [g["start"] for g in run["gaps"]] == [1.0, 5.0]
    assert [(w["may_have_lost"], w["lost_estimate"], len(w["gaps"]))
            for w in run["workers"]] == [(True, 40, 1), (False, 2, 1)]
    assert [w["report"] for w in run["workers"]] == [str(tmp_path / "a.json"),
                                                    str(tmp_path / "b.json")]


def _report(tmp_path, name="r.json", **changes) -> str:
    d = _live(_deliveries([0, 1])).as_dict()
    d.update(changes)
    return _write(d, tmp_path / name)


def _other_catalogue(d):
    d["coverage"]["documented_not_seen"] = d["coverage"]["documented_not_seen"][1:]
    return d


BAD = {
    "missing": (lambda t: [_report(t), str(t / "nope.json")], "No such file"),
    "not json": (lambda t: [_report(t), _write_text(t / "x.json", "{")], "not a JSON report"),
    "not a report": (lambda t: [_report(t), _write_text(t / "x.json", "[1, 2]")],
                     "not a wazo-bus-validator JSON report"),
    "incomplete": (lambda t: [_report(t), _report(t, "b.json", events=None)],
                   "incomplete report"),
    "other format": (lambda t: [_report(t), _report(t, "b.json", format_version=99)],
                     "report format 99"),
    "other version": (lambda t: [_report(t), _report(t, "b.json", wazo_version="18.03")],
                      "Wazo version"),
    "other catalogue": (lambda t: [_report(t), _write(_other_catalogue(
        json.loads(Path(_report(t, "b.json")).read_text())), t / "b.json")], "catalogue"),
    "same twice": (lambda t: [_report(t), _report(t), "--quiet"], "counted twice"),
    "other gates": (lambda t: [_report(t), _report(t, "b.json", gate={
        "fail_on": "warning", "require": []})], "--fail-on"),
    "select": (lambda t: [_report(t), "--select", "A5"], "give them to the workers"),
    "ndjson": (lambda t: [_report(t), "--format", "ndjson"], "not available"),
}


def _write_text(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_unusable_report_is_one_line_and_exit_2(tmp_path, capsys, case):
    make, words = BAD[case]
    code = main(["merge", *make(tmp_path), "--output", str(tmp_path / "out.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and words in err and "Traceback" not in err
    assert not (tmp_path / "out.json").exists()


def test_an_explicit_fail_on_settles_different_gates(tmp_path):
    a = _report(tmp_path)
    b = _report(tmp_path, "b.json", gate={"fail_on": "warning", "require": []})
    code, merged = _merge(a, b, "--fail-on", "warning")
    assert code == 1 and merged["gate"]["fail_on"] == "warning"
