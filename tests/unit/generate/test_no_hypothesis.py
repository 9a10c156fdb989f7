"""The CLI's generating commands run without hypothesis installed (it is a test extra)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# hypothesis made unimportable, as on an install without the test extra.
SCRIPT = ("import sys; sys.modules['hypothesis'] = None; from validator.cli import main; "
          "sys.exit(main(sys.argv[1:]))")


@pytest.mark.parametrize("args", [
    ["examples", "--count", "2"], ["examples", "--values", "edge"], ["docs"],
    ["publish", "--dry-run", "--count", "50", "--faulty", "0.2"],
    ["bench", "--messages", "300", "--repeats", "1", "--rss-messages", "0",
     "--startup-runs", "0", "--process-messages", "0", "--quiet"],
])
def test_generating_commands_need_no_hypothesis(args):
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "hypothesis" not in done.stderr
