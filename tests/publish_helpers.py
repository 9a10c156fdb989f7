"""What the publish tests share: running `publish`, and what the checker says of messages."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

from validator.capture import read_capture
from validator.catalogue import load_catalogue
from validator.check import Checker

CLI = [sys.executable, "-m", "validator.cli"]
CAT = load_catalogue()


def publish(*args, timeout=120):
    done = subprocess.run(CLI + ["publish", *args], capture_output=True, text=True,
                          timeout=timeout)
    lines = done.stdout.strip().splitlines()
    stats = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return done.returncode, stats, done.stderr


def tally(messages, version=None) -> dict:
    """What the checker says of (routing_key, body, properties): messages per code, verdicts."""
    checker = Checker(CAT, version)
    by_code: Counter = Counter()
    by_verdict: Counter = Counter()
    for routing_key, body, properties in messages:
        result = checker.check(routing_key, body, properties)
        by_verdict[result.verdict] += 1
        by_code.update({f.code for f in result.findings})
    return {"by_code": dict(sorted(by_code.items())),
            "by_verdict": {v: by_verdict.get(v, 0) for v in ("ok", "warn", "fail")}}


def recorded(path) -> list[tuple]:
    return [(i.routing_key, i.body, i.properties) for i in read_capture(path)]
