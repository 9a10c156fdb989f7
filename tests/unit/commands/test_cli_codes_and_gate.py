"""`codes`, `explain`, `--fail-on never` / `--exit-zero`, and watch's usage error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from validator.codes import CODES

ENV = {k: v for k, v in os.environ.items() if not k.startswith("WAZO_BUS_")}


def run(*args):
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True,
                          text=True, env=ENV, timeout=120)


def test_codes_lists_every_code_with_name_severity_meaning():
    proc = run("codes")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert len(lines) == len(CODES)
    for line, code in zip(lines, CODES):
        assert line.split()[:3] == [code.code, code.slug, code.severity]
        assert line.endswith(code.summary)
    rows = json.loads(run("codes", "--format", "json").stdout)
    assert {r["code"]: r["errata"] for r in rows}["D600"] == ["E1", "E2"]


def test_explain_names_the_errata_and_the_faults():
    proc = run("explain", "d600")
    assert proc.returncode == 0
    assert proc.stdout.startswith("D600 data-missing-field (error)")
    assert "E1 " in proc.stdout and "E2 " in proc.stdout and "drop_required" in proc.stdout
    assert run("explain", "acl-missing").stdout.startswith("A500 acl-missing (error)")
    data = json.loads(run("explain", "V700", "--format", "json").stdout)
    assert data["events"] and all("since" in e for e in data["events"])
    assert data["example"] is None  # the hook for a generated example


def test_explain_unknown_code_is_one_line():
    proc = run("explain", "Q123")
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert "unknown finding code" in proc.stderr


@pytest.mark.parametrize("option", [("--fail-on", "never"), ("--exit-zero",)])
def test_fail_on_never_exits_0_with_findings_still_reported(option):
    proc = run("check", *option)
    assert proc.returncode == 0
    assert "21 messages: 15 ok, 0 warn, 6 fail -> PASSED (exit 0)" in proc.stdout
    assert "A500" in proc.stdout


def test_fail_on_never_still_refuses_a_run_that_tested_nothing(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert run("check", str(empty), "--exit-zero").returncode == 2


@pytest.mark.parametrize("args", [("watch",), ("watch", "--duration", "2"),
                                  ("watch", "--duration", "2", "--")])
def test_watch_without_a_command_is_a_one_line_usage_error(args):
    proc = run(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("wazo-bus-validator: error: watch needs a command after --")
    assert len(proc.stderr.splitlines()) == 1 and proc.stdout == ""


def test_an_unknown_format_in_a_list_is_one_line():
    proc = run("check", "--format", "junit,yaml")
    assert proc.returncode == 2 and "invalid choice: 'yaml'" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
