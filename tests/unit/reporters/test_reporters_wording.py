"""What the reporters say: plurals, JSON's null, an erratum's severity, a JUnit gate that
fails with the run, colour only when wanted, -q and --statistics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from validator.capture import capture_record
from validator.findings import FAIL, Finding, MessageResult
from validator.reporters import junit, markdown, text
from validator.reporters.run_notes import loss_warning
from validator.reporters.wording import code_severity, plural
from validator.summary import Gate, Summary

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("WAZO_BUS_", "NO_COLOR"))}


def run(*args, env=None, input=None):
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True,
                          env={**ENV, **(env or {})}, input=input, timeout=120)


def one_failing_message(**gate) -> Summary:
    summary = Summary(catalogue_names=["a"], wazo_version="17.08", source="test",
                      gate=Gate(**gate))
    finding = Finding("D601", "error", "$.data.x", "null is not of type 'string'")
    summary.add(MessageResult(None, None, FAIL, (finding,)), b"{}", where={"line": 32})
    return summary.finish()


def test_plurals():
    assert plural(1, "message") == "1 message" and plural(2, "message") == "2 messages"
    assert plural(0, "message") == "0 messages"
    summary = one_failing_message()
    assert "1 message: 0 ok" in text.render(summary)
    assert "1 message: **0 ok" in markdown.render(summary)
    assert "about 1 message dropped" in loss_warning({"may_have_lost": True, "lost_estimate": 1})


def test_no_python_none_where_json_says_null():
    summary = one_failing_message()
    for rendered in (text.render(summary), markdown.render(summary), junit.render(summary)):
        assert "None" not in rendered, rendered
    assert "line 32 `(no name)` (routing key `none`)" in markdown.render(summary)


def test_junit_gate_fails_when_the_run_failed():
    root = ET.fromstring(junit.render(one_failing_message()))
    gate = next(c for c in root.iter("testcase") if c.get("classname") == "wazo-bus.gate")
    failure = gate.find("failure")
    assert failure is not None and "1 message failed the contract" in failure.get("message")


def test_junit_gate_passes_with_fail_on_never():
    summary = one_failing_message(fail_on="never")
    assert summary.exit_code == 0
    root = ET.fromstring(junit.render(summary))
    gate = next(c for c in root.iter("testcase") if c.get("classname") == "wazo-bus.gate")
    assert gate.find("failure") is None


@pytest.mark.parametrize("count,covered,shown", [
    (4, 0, "error"), (4, 4, "warning (erratum)"), (4, 1, "error; 1 warning (erratum)")])
def test_erratum_severity_column(count, covered, shown):
    assert code_severity({"severity": "error", "count": count,
                          "known_deviations": covered}) == shown


def test_the_per_code_tables_name_the_erratum():
    # The page's favorite examples carry D600 and D604 that erratum E2 turns into warnings.
    out = run("check", "--color", "never").stdout.decode()
    row = next(line for line in out.splitlines() if line.strip().startswith("D600"))
    assert "warning (erratum)" in row
    report = run("check", "--format", "markdown", "--output", "-").stdout.decode()
    assert "| D600 | data-missing-field | warning (erratum) |" in report


def test_colour_follows_the_option_and_no_color():
    assert b"\x1b[" in run("check", "--color", "always").stdout
    assert b"\x1b[" not in run("check").stdout  # auto: a pipe is not a terminal
    assert b"\x1b[" not in run("check", "--color", "never").stdout
    # NO_COLOR turns auto off; an explicit --color always still wins (no-color.org)
    assert b"\x1b[" in run("check", "--color", "always", env={"NO_COLOR": "1"}).stdout


def test_auto_colour_on_a_terminal_unless_no_color():
    import pty
    script = ("import os, sys; sys.argv=['x','check']; from validator.cli import main; "
              "raise SystemExit(main())")
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(env)
            os.execv(sys.executable, [sys.executable, "-c", script])
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        assert (b"\x1b[31;1mFAILED" in b"".join(chunks)) is coloured


def test_quiet_cuts_the_text_on_stdout_to_its_verdict():
    proc = run("check", "-q")
    assert proc.stdout.decode().splitlines() == [
        "21 messages: 15 ok, 0 warn, 6 fail -> FAILED (exit 1)"]


def test_statistics_counts_per_code():
    lines = run("check", "--statistics").stdout.decode().splitlines()
    assert lines[0].split() == ["4", "A500", "error", "acl-missing"]
    assert lines[-1].endswith("FAILED (exit 1)") and len(lines) == 6
    # the four messages without their ACL reach no websocket client (delivery, info)
    assert lines[-2].split() == ["4", "W800", "info", "delivery-never"]


def test_unreadable_lines_are_counted_in_words():
    record = capture_record("x", b"{}")
    proc = run("check", "-", "--format", "markdown", "--output", "-",
               input=record + b"not json\n")
    assert b"1 unreadable capture line" in proc.stdout


def test_an_unclosed_gap_is_not_none():
    summary = one_failing_message()
    summary.run["gaps"] = [{"start": 1.0, "end": None, "start_iso": "t0", "end_iso": None,
                            "reason": "lost"}]
    assert "t0 -> (not closed)" in text.render(summary)


def test_json_report_settings_and_exit_code_agree():
    report = json.loads(run("check", "--format", "json", "--output", "-", "--exit-zero").stdout)
    assert report["exit_code"] == 0 and report["gate"]["fail_on"] == "never"
