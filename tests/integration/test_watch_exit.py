"""`watch`: the exit code its report prints is the one it returns, a failed command and an
interrupted run included; the report says what happened to the command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.broker


def _watch(tmp_path, *command, extra=()):
    key = f"wbv-watch-{uuid.uuid4().hex}.#"  # binds nothing anyone publishes
    return [sys.executable, "-m", "validator", "watch", "--bind", key, "--settle", "0.2",
            "--settle-max", "2", "--format", "json,text", "--output", str(tmp_path / "out"),
            *extra, "--", *command]


def test_failed_command_prints_the_exit_code_it_returns(tmp_path, broker_url, xivo_exchange):
    proc = subprocess.run(_watch(tmp_path, "false"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["exit_code"] == 1 and report["status"] == "failed"
    text = (tmp_path / "out" / "report.txt").read_text()
    assert "FAILED (exit 1)" in text and "`false` exited with 1" in text
    assert "FAILED (exit 1)" in proc.stdout  # the summary printed besides the files
    assert "NOTHING TESTED" not in proc.stdout + text
    assert proc.stderr.strip().splitlines()[-1] == \
        "wazo-bus-validator: the command exited with 1 (exit 1)"


def test_sigint_during_the_command_is_reported_as_an_interruption(tmp_path, broker_url,
                                                                  xivo_exchange):
    command = ("sh", "-c", "echo started; exec sleep 37")
    proc = subprocess.Popen(_watch(tmp_path, *command), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "started\n"  # the command runs: the bus is bound
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["exit_code"] == 2 and report["status"] == "interrupted"
    assert report["run"]["command_exit"] == -signal.SIGINT
    assert report["run"]["interrupted"] == "SIGINT"
    assert "INTERRUPTED (exit 2)" in out
    assert "was killed by SIGINT" in err and "exited with -2" not in err
    assert "Traceback" not in err
