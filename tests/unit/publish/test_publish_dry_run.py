"""`publish` without a broker: dry runs whose counts are what the checker reports, the seed,
the pacing (on a fake clock), and one-line usage errors."""

from __future__ import annotations

import os
import subprocess
import types

import pytest


from publish_helpers import CAT, CLI, publish, recorded, tally  # noqa: F401
from validator.commands import publish as publish_command
from validator.generate import Generator




def test_dry_run_counts_are_what_the_checker_reports(tmp_path):
    record = tmp_path / "traffic.jsonl"
    code, stats, err = publish("--dry-run", "--count", "300", "--faulty", "0.1", "--seed", "7",
                               "--record", str(record))
    assert code == 0, err
    assert stats["sent"] == 300 and stats["broken"] == 30 and stats["ok"] == 270
    assert sum(stats["by_mutation"].values()) == 30
    messages = recorded(record)
    assert len(messages) == 300
    assert tally(messages) == {"by_code": stats["by_code"], "by_verdict": stats["by_verdict"]}
    assert stats["by_verdict"]["fail"] == 30 and stats["by_verdict"]["ok"] == 270
    # `check` on the record fails exactly because of the broken messages.
    checked = subprocess.run(CLI + ["check", str(record)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 1 and "300 messages: 270 ok, 0 warn, 30 fail" in checked.stdout


def test_the_seed_decides_the_traffic(tmp_path):
    runs = {}
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        path = tmp_path / f"{name}.jsonl"
        code, stats, err = publish("--dry-run", "--count", "50", "--faulty", "0.3",
                                   "--seed", seed, "--record", str(path))
        assert code == 0, err
        runs[name] = (path.read_bytes(), stats)
    assert runs["a"] == runs["b"] and runs["a"][0] != runs["c"][0]


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_rate_paces_the_messages(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(publish_command, "time", clock)
    args = types.SimpleNamespace(rate=50.0, seed=1, count=21, faulty=0.0)
    tally = publish_command.Tally()
    publish_command._publish_all(args, Generator(CAT), tally, None, None, "xivo", dict)
    assert tally.sent == 21
    # The i-th message leaves at start + i/50 s: 20 intervals of 20 ms in all.
    assert abs(clock.now - 100.0 - 0.4) < 1e-9 and len(clock.slept) == 20


@pytest.mark.parametrize("args,message", [
    (["--faulty", "1.5"], "--faulty 1.5: must be between 0 and 1"),
    (["--count", "0"], "--count 0: must be at least 1"),
    (["--rate", "-1"], "--rate -1.0: must be 0"),
    (["--wazo-version", "12.01"], "outside the catalogue's range"),
    (["--url", "http://x"], "not an amqp:// or amqps:// URL"),
])
def test_bad_options_are_one_line_and_exit_2(args, message):
    code, stats, err = publish(*args)
    assert code == 2 and stats is None
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unreachable_broker_is_one_line_exit_2_quickly():
    code, stats, err = publish("--url", "amqp://guest:pw-s3cret-x@127.0.0.1:1/%2F",
                               "--count", "5")
    assert code == 2 and stats is None
    assert err.count("\n") == 1 and "cannot connect to amqp://guest:***@127.0.0.1:1/%2F" in err
    assert "pw-s3cret-x" not in err and "Traceback" not in err


def test_the_password_never_shows_on_success(tmp_path):
    env_url = "amqp://guest:guest@127.0.0.1:5672/%2F"
    done = subprocess.run(CLI + ["publish", "--dry-run", "--count", "3"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, WAZO_BUS_URL=env_url))
    assert done.returncode == 0 and ":guest@" not in done.stdout + done.stderr
