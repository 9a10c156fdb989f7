"""`check` end to end: formats, exit codes, malformed captures, usage errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from messages import valid_message
from validator.capture import capture_record
from validator.codes import CODES
from validator.reporters.text import code_table_markdown

ROOT = Path(__file__).resolve().parents[3]


def run(*args, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True,
                          cwd=cwd, input=input, timeout=120)


def write_capture(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def test_builtin_page_examples_ndjson():
    proc = run("check", "--format", "ndjson")
    assert proc.returncode == 1
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(lines) == 21
    assert [x["line"] for x in lines] == list(range(1, 22))
    failing = {(x["name"] or x["routing_key"].split(".")[0]): sorted(
        {f["code"] for f in x["findings"] if f["severity"] == "error"})
        for x in lines if x["verdict"] == "fail"}
    assert failing == {"chat": ["B101"], "config": ["B101"], "favorite_added": ["A500"],
                       "favorite_deleted": ["A500"], "plugin_install_progress": ["A500"],
                       "plugin_uninstall_progress": ["A500"]}
    assert sum(x["verdict"] == "ok" for x in lines) == 15
    for x in lines:
        for f in x["findings"]:
            assert set(f) == {"code", "severity", "path", "message", "erratum"}
    assert b"FAILED" in proc.stderr  # the summary goes to stderr beside ndjson


def test_text_report_is_readable():
    proc = run("check")
    out = proc.stdout.decode()
    assert proc.returncode == 1
    assert "21 messages: 15 ok, 0 warn, 6 fail" in out
    assert "A500" in out and "Per event" in out and "First failing messages" in out


def test_malformed_lines_are_reported_and_checking_goes_on(tmp_path):
    rk, msg = valid_message("user_created")
    good = capture_record(rk, json.dumps(msg).encode(), {"content_type": "application/json"})
    cap = write_capture(tmp_path / "c.jsonl", [
        good, b"not json\n", b"\n", b'{"routing_key": 5, "body": "{}"}\n',
        b'{"routing_key": null, "body_base64": "!!!"}\n', good,
        b'{"routing_key": "x", "payload": {"name": "user_created"}, "body": "{}"}\n',
        json.dumps({"routing_key": rk, "payload": msg}).encode() + b"\n",
    ])
    proc = run("check", str(cap), "--format", "ndjson")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [(x["line"], x["verdict"]) for x in lines] == [
        (1, "ok"), (2, "fail"), (4, "fail"), (5, "fail"), (6, "ok"), (7, "fail"), (8, "ok")]
    assert all(x["findings"][0]["code"] == "X900" for x in lines if x["verdict"] == "fail")
    assert proc.returncode == 1


def test_body_base64_and_non_utf8(tmp_path):
    cap = write_capture(tmp_path / "c.jsonl", [capture_record("x", b"\xff\xfe{}")])
    assert b"body_base64" in cap.read_bytes()
    proc = run("check", str(cap), "--format", "ndjson")
    assert json.loads(proc.stdout)["findings"][0]["code"] == "B100"


def test_empty_capture_tested_nothing(tmp_path):
    cap = write_capture(tmp_path / "c.jsonl", [b"\n"])
    proc = run("check", str(cap))
    assert proc.returncode == 2
    assert b"no message to check" in proc.stderr


def test_all_ok_exits_0_and_warnings_gate(tmp_path):
    rk, msg = valid_message("agent_status_update")
    del msg["data"]["xivo_id"]  # erratum E1: a warning
    cap = write_capture(tmp_path / "c.jsonl", [
        capture_record(rk, json.dumps(msg).encode(), {"content_type": "application/json"})])
    assert run("check", str(cap)).returncode == 0
    assert run("check", str(cap), "--fail-on", "warning").returncode == 1
    assert run("check", str(cap), "--require", "call_created").returncode == 1
    assert run("check", str(cap), "--require", "agent_status_update").returncode == 0


@pytest.mark.parametrize("args,needle", [
    (("check", "/nonexistent/capture.jsonl"), b"No such file"),
    (("check", "--wazo-version", "17.8"), b"not a Wazo version"),
    (("check", "--wazo-version", "19.01"), b"outside the catalogue's range"),
    (("check", "--select", "Q123"), b"unknown finding code"),
    (("check", "--format", "yaml"), b"invalid choice"),
    (("check", "--require", "no_such_event"), b"not an event"),
    (("check", "--bogus"), b"unrecognized arguments"),
    (("check", "--output", "/proc/forbidden/report.json", "--format", "json"), b"--output"),
    (("frobnicate",), b"invalid choice"),
])
def test_usage_errors_are_one_line_exit_2(args, needle):
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert b"Traceback" not in proc.stderr


def test_select_and_ignore():
    proc = run("check", "--format", "ndjson", "--ignore", "A500,B")
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert all(x["verdict"] != "fail" for x in lines)
    assert proc.returncode == 0
    proc = run("check", "--format", "ndjson", "--select", "A")
    codes = {f["code"] for x in proc.stdout.splitlines() for f in json.loads(x)["findings"]}
    assert codes == {"A500"}


def test_json_junit_markdown_reports(tmp_path):
    out = tmp_path / "r"
    out.mkdir()  # --output FILE never creates its folder (issue 10)
    proc = run("check", "--format", "json", "--output", str(out / "r.json"))
    assert proc.returncode == 1
    report = json.loads((out / "r.json").read_text())
    assert report["format_version"] == 1
    assert report["totals"]["verdicts"] == {"ok": 15, "warn": 0, "fail": 6}
    assert report["known_deviations"] == {"E2": 4}
    assert "call_updated" in report["coverage"]["documented_not_seen"]
    assert b"json report written to" in proc.stdout

    run("check", "--format", "junit", "--output", str(out / "j.xml"))
    root = ET.parse(out / "j.xml").getroot()
    suite = root.find("testsuite")
    failed = {(c.get("classname"), c.get("name")) for c in suite.iter("testcase")
              if c.find("failure") is not None}
    assert ("wazo-bus.favorite_added", "required-acl") in failed
    assert ("wazo-bus.favorite_added", "data") not in failed  # E2 is a known deviation
    assert int(suite.get("failures")) == len(failed)

    run("check", "--format", "markdown", "--output", str(out))
    md = (out / "report.md").read_text()
    assert md.startswith("## ❌ Wazo bus conformance: failed")


def test_default_report_folder_is_reports(tmp_path):
    proc = run("check", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert (tmp_path / "reports" / "wazo-bus-report.json").exists()


def test_stdin_capture():
    rk, msg = valid_message("user_created")
    proc = run("check", "-", "--format", "ndjson",
               input=capture_record(rk, json.dumps(msg).encode()))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["verdict"] == "ok"


def test_sigterm_mid_check_writes_the_report():
    # A capture that never ends (a pipe kept open): ten lines are checked, which the ndjson
    # stream shows, then SIGTERM; the summary still says what was checked and why it stopped.
    rk, msg = valid_message("user_created")
    line = capture_record(rk, json.dumps(msg).encode())
    proc = subprocess.Popen([sys.executable, "-m", "validator", "check", "-", "--format",
                             "ndjson"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(line * 10)
    proc.stdin.flush()
    checked = [proc.stdout.readline() for _ in range(10)]
    assert all(json.loads(c)["verdict"] == "ok" for c in checked)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    assert "stopped by: signal:SIGTERM" in text
    assert "10 messages" in text


def test_readme_code_table_is_the_code_list():
    readme = (ROOT / "README.md").read_text()
    assert code_table_markdown() in readme
    assert len(CODES) == len({c.code for c in CODES})


def test_readme_errata_list_names_every_erratum():
    from validator.catalogue import load_catalogue
    readme = (ROOT / "README.md").read_text()
    for erratum in load_catalogue().errata:
        assert f"| {erratum.id} |" in readme


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 -m pip install -e '.[test]' && python3 -m pytest"
    assert command in readme and command in ci


def test_a_checker_crash_is_a_finding_not_a_lost_message(tmp_path, monkeypatch):
    from validator.check import Checker
    from validator.cli import main

    def boom(self, *a, **k):
        raise RuntimeError("simulated bug")
    monkeypatch.setattr(Checker, "check", boom)
    monkeypatch.setattr(Checker, "check_parsed", boom)  # what the run loop calls
    out = tmp_path / "r.json"
    assert main(["check", "--format", "json", "--output", str(out), "--quiet"]) == 1
    data = json.loads(out.read_text())
    assert data["totals"]["messages"] == 21
    assert {c["code"] for c in data["codes"]} == {"X901"}


def test_a_body_written_as_a_json_value_is_serialized(tmp_path):
    rk, msg = valid_message("user_created")
    cap = write_capture(tmp_path / "c.jsonl", [json.dumps({"routing_key": rk, "body": msg}).encode()
                                              + b"\n"])
    proc = run("check", str(cap), "--format", "ndjson")
    assert json.loads(proc.stdout)["verdict"] == "ok"


def test_check_on_several_workers_ends_and_agrees_with_one_process(tmp_path):
    # The workers of --jobs are ended by the parent with SIGTERM; one that ignored it would
    # hang the parent's join for ever (it did, at every exit).
    capture = tmp_path / "cap.jsonl"
    assert subprocess.run([sys.executable, "-m", "validator", "examples", "--count", "30",
                           "--format", "capture", "--output", str(capture)]).returncode == 0
    reports = []
    for jobs in ("1", "2", "2", "3"):
        out = tmp_path / f"r{len(reports)}.json"
        proc = subprocess.run([sys.executable, "-m", "validator", "check", str(capture),
                               "--jobs", jobs, "--format", "json", "--output", str(out), "-q"],
                              capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        d = json.loads(out.read_text())
        reports.append({k: d[k] for k in ("totals", "codes", "events", "coverage",
                                          "delivery", "samples")})
    assert all(r == reports[0] for r in reports)
