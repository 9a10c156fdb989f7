"""The `check` command as a user runs it: a fresh `python -m validator check CAPTURE
--format json --output REPORT` on a capture written from the mix, timed as a whole process
(interpreter start, catalogue load, reading, checking, report), against the orjson floor of
the same bodies measured in the same run, interleaved round by round."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..capture import capture_record
from ..generate.traffic import Capture
from .baseline import parse_floor_loop


class ProcessError(Exception):
    """The check process failed (one line)."""


def write_capture(capture: Capture, path: Path, exchange: str | None) -> int:
    with open(path, "wb") as f:
        for rk, body, props in capture.items:
            f.write(capture_record(rk, body, props, exchange))
    return path.stat().st_size


def _floor_seconds(bodies, passes: int = 3) -> float:
    """The parse floor's CPU time over the bodies, as the offline table measures it (the
    median of a few passes: one pass is short enough for a hiccup of the machine to show)."""
    spent = []
    for _ in range(passes):
        t0 = time.thread_time()
        parse_floor_loop(bodies)
        spent.append(time.thread_time() - t0)
    return max(statistics.median(spent), 1e-9)


def measure_process(capture: Capture, *, runs: int = 3, catalogue_path: str | None = None,
                    wazo_version: str | None = None, exchange: str | None = None,
                    timeout: float = 600.0, progress=None) -> dict:
    """Rates of the whole `check` process and of the parse floor over the same bodies,
    `runs` interleaved rounds; medians, and the median of the per-round ratios."""
    bodies = [b for _, b, _ in capture.items]
    n = len(bodies)
    process_rates, floor_rates, ratios = [], [], []
    with tempfile.TemporaryDirectory(prefix="wbv-bench-") as tmp:
        cap_path = Path(tmp) / "capture.jsonl"
        size = write_capture(capture, cap_path, exchange)
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "validator", "check", str(cap_path), "--format", "json",
               "--output", str(report)]
        if catalogue_path:
            cmd += ["--catalogue", str(catalogue_path)]
        if wazo_version:
            cmd += ["--wazo-version", wazo_version]
        env = dict(os.environ)
        for r in range(runs):
            floor = n / _floor_seconds(bodies)
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
            wall = time.perf_counter() - t0
            if out.returncode not in (0, 1) or not report.exists():
                last = (out.stderr.strip().splitlines() or ["no message"])[-1]
                raise ProcessError(f"check exited {out.returncode}: {last}")
            report.unlink()
            process_rates.append(n / wall)
            floor_rates.append(floor)
            ratios.append(process_rates[-1] / floor)
            if progress:
                progress(f"whole-process check {r + 1}/{runs}: {n / wall:,.0f} msg/s "
                         f"({wall:.2f} s), parse floor {floor:,.0f} msg/s")
    return {"messages": n, "capture_bytes": size, "runs": runs,
            "command": "python -m validator check CAPTURE --format json --output REPORT",
            "rate": statistics.median(process_rates), "floor_rate": statistics.median(floor_rates),
            "vs_floor": statistics.median(ratios), "rates_all": process_rates}
