"""The shared test helpers (messages.py, strategies_profile.py) import from any test folder;
test modules are imported by path (--import-mode=importlib), so two folders may each have a
test_cli.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
