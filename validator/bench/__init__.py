"""`bench`: how fast the checker is, offline, as a whole process, and on a live broker.

The traffic comes from the one generator (validator/generate/traffic.py) and a mix of
specs/generation.yaml. What is measured, in one run, interleaved, medians of the repeats:
- offline.py: the parse floor (orjson.loads), a naive baseline (baseline.py: json.loads +
  Python jsonschema) and the checker, in this process;
- process.py: the `check` command as a whole process on a capture of the same messages,
  against the parse floor of the same bodies;
- footprint.py: start-up in fresh interpreters, RSS growth across many messages;
- live.py (with --url): bare pika consumers against the validating ones on a broker.
"""

from ..generate.traffic import DEFAULT_MIX, Capture, Mix, MixError, generate, parse_mix
from .baseline import NaiveBaseline, new_summary
from .footprint import (machine, measure_rss_growth, measure_startup, peak_rss_bytes,
                        versions)
from .live import LiveError, run_live
from .offline import measure_offline
from .process import ProcessError, measure_process

__all__ = [
    "Capture", "DEFAULT_MIX", "LiveError", "Mix", "MixError", "NaiveBaseline", "ProcessError",
    "generate", "machine", "measure_offline", "measure_process", "measure_rss_growth",
    "measure_startup", "new_summary", "parse_mix", "peak_rss_bytes", "run_live", "versions",
]
