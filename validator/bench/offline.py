"""Offline rates of the pipelines over the same capture, interleaved; medians of repeats."""

from __future__ import annotations

import gc
import statistics
import time

from ..check import Checker
from ..findings import FAIL, OK, WARN
from ..generate.traffic import Capture
from .baseline import (NaiveBaseline, checker_loop, checker_summary_loop, new_summary,
                       parse_floor_loop)


def measure_offline(checker: Checker, capture: Capture, *, repeats: int = 5,
                    baseline_messages: int = 10_000, chunks: int = 20, progress=None) -> dict:
    """Rates of the pipelines over the same capture, interleaved; medians of `repeats`."""
    items = capture.items
    bodies = [b for _, b, _ in items]
    naive = NaiveBaseline(checker.catalogue)
    naive_bodies = bodies[:baseline_messages]
    naive_items = items[:baseline_messages]
    detailed = Checker(checker.catalogue, checker.version_text, fast=False)
    # The same checker instance throughout, warmed (name cache filled) as a running listener's.
    checker_loop(checker.check, items[:5000])
    naive.run(naive_bodies[:500])
    checker_loop(detailed.check, naive_items[:500])
    summary = new_summary(checker)

    # Each repeat walks the capture in `chunks` slices and runs every pipeline on each slice
    # in turn (the order rotating), so a burst of load on this shared machine hits all of them
    # alike; time is the thread's CPU time. The slow pipelines get proportionally smaller slices.
    k = max(1, min(chunks, len(items), len(naive_items)))

    def sliced(seq):
        return [seq[len(seq) * i // k: len(seq) * (i + 1) // k] for i in range(k)]

    floor_s, items_s, naive_s, det_s = (sliced(bodies), sliced(items), sliced(naive_bodies),
                                        sliced(naive_items))
    pipelines = {
        "parse_floor": (len(bodies), [lambda i=i: parse_floor_loop(floor_s[i]) for i in range(k)]),
        "naive_baseline": (len(naive_bodies), [lambda i=i: naive.run(naive_s[i])
                                               for i in range(k)]),
        "checker": (len(items), [lambda i=i: checker_loop(checker.check, items_s[i])
                                 for i in range(k)]),
        "checker_summary": (len(items), [
            lambda i=i: checker_summary_loop(checker.check, summary.add, items_s[i])
            for i in range(k)]),
        "detailed_only": (len(naive_items), [lambda i=i: checker_loop(detailed.check, det_s[i])
                                             for i in range(k)]),
    }
    names = list(pipelines)
    rates: dict[str, list[float]] = {n: [] for n in names}
    clock = time.thread_time
    gc.freeze()  # the capture is long-lived: keep it out of the collector's scans
    try:
        for r in range(repeats):
            gc.collect()
            spent = dict.fromkeys(names, 0.0)
            for i in range(k):
                turn = (r + i) % len(names)
                for n in names[turn:] + names[:turn]:
                    fn = pipelines[n][1][i]
                    t0 = clock()
                    fn()
                    spent[n] += clock() - t0
            for n in names:
                rates[n].append(pipelines[n][0] / max(spent[n], 1e-9))
            if progress:
                progress(f"repeat {r + 1}/{repeats}: " + ", ".join(
                    f"{n} {rates[n][-1] / 1000:.1f}k" for n in names))
    finally:
        gc.unfreeze()

    def paired(a, b):
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    verdicts = {OK: 0, WARN: 0, FAIL: 0}
    fast_ok = 0
    for rk, body, props in items:
        result = checker.check(rk, body, props)
        verdicts[result.verdict] += 1
        fast_ok += not result.findings and result.verdict == OK
    return {
        "rates": {n: statistics.median(v) for n, v in rates.items()},
        "rates_all": rates,
        "ratios": {
            "checker_vs_floor": paired("checker", "parse_floor"),
            "checker_vs_naive": paired("checker", "naive_baseline"),
            "checker_summary_vs_floor": paired("checker_summary", "parse_floor"),
            "detailed_vs_checker": paired("detailed_only", "checker"),
        },
        "vs_floor": {n: paired(n, "parse_floor") for n in names},
        "messages": {n: c for n, (c, _) in pipelines.items()},
        "chunks": k,
        "verdicts": verdicts,
        "fast_path_share": fast_ok / max(1, len(items)),
    }

