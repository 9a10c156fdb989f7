"""`check --jobs`: the workers' parts merge into the summary one process gives, and a worker
can always be ended by its pool (a worker that ignored SIGTERM hung the parent's terminate)."""

from __future__ import annotations

import json
import multiprocessing
import signal
import subprocess
import sys

from messages import CHECKER
from validator.bench import generate
from validator.bench.process import write_capture
from validator.commands.check import _worker_signals


def _handlers(_):
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_a_worker_leaves_ctrl_c_to_the_parent_and_dies_on_sigterm():
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1, initializer=_worker_signals) as pool:
        sigint, sigterm = pool.map(_handlers, [0])[0]
        pool.close()
        pool.join()
    assert sigint == signal.SIG_IGN and sigterm == signal.SIG_DFL


def test_parts_merge_into_the_one_process_report(tmp_path):
    capture = tmp_path / "c.jsonl"
    write_capture(generate(CHECKER, 1500, "17.08", seed=5), capture, "xivo")
    reports = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"r{jobs}.json"
        done = subprocess.run([sys.executable, "-m", "validator", "check", str(capture),
                               "--jobs", jobs, "--format", "json", "--output", str(out)],
                              capture_output=True, timeout=300)
        assert done.returncode == 1, done.stderr  # the mix has broken messages
        reports[jobs] = json.loads(out.read_text())
    for key in ("totals", "codes", "events", "known_deviations", "delivery", "samples",
                "failing_messages"):
        assert reports["3"][key] == reports["1"][key], key
