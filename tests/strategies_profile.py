"""The hypothesis profile of this project's tests: deterministic and bounded.

Imported by the test modules that use hypothesis (there is no conftest.py): "ci" is
derandomized (the same examples on every run and machine), keeps no example database,
and prints the blob that replays a failure. HYPOTHESIS_PROFILE=dev explores more.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=10, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", max_examples=200, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """A test's max_examples under the current profile (dev explores 20 times more)."""
    return n * 20 if PROFILE == "dev" else n
