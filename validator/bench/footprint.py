"""Memory and start-up: RSS growth across many checked messages, start-up in fresh
interpreters, and what machine and library versions a run was measured on."""

from __future__ import annotations

import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

from ..check import Checker
from ..generate.traffic import Capture
from .baseline import checker_summary_loop, new_summary


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best we have
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure_rss_growth(checker: Checker, capture: Capture, messages: int,
                       unique_every: int = 20) -> dict:
    """RSS after one warm-up pass over the capture vs after `messages` more checked messages
    (check + Summary.add, as `listen` does). Every `unique_every`-th message carries a name
    never seen before (half undocumented, half AMI-like), as a hostile stream would: the
    name caches must stay bounded."""
    summary = new_summary(checker)
    check, add = checker.check, summary.add
    items = capture.items
    checker_summary_loop(check, add, items)
    origin = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"
    gc.collect()
    before = current_rss_bytes()
    n = len(items)
    done = 0
    i = 0
    unique = 0
    t0 = time.perf_counter()
    while done < messages:
        rk, body, props = items[i]
        i = i + 1 if i + 1 < n else 0
        done += 1
        if unique_every and done % unique_every == 0:
            unique += 1
            name = (f"bench_unique_{unique}" if unique & 1 else f"BenchUnique{unique}")
            body = (b'{"name": "%s", "origin_uuid": "%s", "data": {}}'
                    % (name.encode(), origin.encode()))
            rk = "bench.unique." + name
        add(check(rk, body, props), body)
    elapsed = time.perf_counter() - t0
    gc.collect()
    after = current_rss_bytes()
    return {
        "messages": messages,
        "unique_names": unique,
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "growth_mb": (after - before) / 2**20,
        "rate": messages / elapsed if elapsed > 0 else None,
    }


_STARTUP_SCRIPT = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from validator.catalogue import load_catalogue
from validator.check import Checker
t1 = time.perf_counter()
cat = load_catalogue(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None)
t2 = time.perf_counter()
Checker(cat, sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None)
t3 = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from the (big) parent.
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "compile": t3 - t2, "total": t3 - t0,
                  "maxrss_kb": peak}))
"""


def measure_startup(runs: int = 5, catalogue_path: str | None = None,
                    wazo_version: str | None = None) -> dict:
    """Catalogue load + Checker compile in fresh interpreters; medians of `runs`."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _STARTUP_SCRIPT, str(catalogue_path or ""), wazo_version or ""],
            capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            raise RuntimeError(f"start-up probe failed: {out.stderr.strip()[-500:]}")
        sample = json.loads(out.stdout.strip().splitlines()[-1])
        sample["process_wall"] = wall
        samples.append(sample)
    keys = ("imports", "load", "compile", "total", "process_wall")
    result = {k: statistics.median(s[k] for s in samples) for k in keys}
    result["load_and_compile"] = statistics.median(s["load"] + s["compile"] for s in samples)
    result["peak_rss_mb"] = statistics.median(s["maxrss_kb"] for s in samples) / 1024
    result["runs"] = runs
    return result


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(terse=True), "machine": platform.machine()}


def versions() -> dict:
    from importlib import metadata
    out = {}
    for dist in ("orjson", "jsonschema", "jsonschema-rs", "pika"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out

