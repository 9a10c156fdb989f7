# The checker's tests share tests/messages.py (a valid message per documented name) with
# the CLI's and redaction's tests: make it importable from here.
import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[2])
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
