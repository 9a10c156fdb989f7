"""`check [CAPTURE ...]`: check recorded captures offline (default: the page's own examples)."""

from __future__ import annotations

import gc
import glob
import io
import os
import signal
import sys

from ..capture import CaptureFileError, read_capture, read_range, split_lines
from ..pages import page_examples_capture
from ..run import Run
from ..sinks import NdjsonSink
from ..summary import Summary
from . import common

BUILTIN = "page examples (built in)"
PARALLEL_MIN_BYTES = 4 << 20  # below this, one process is faster than forking workers


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check capture files (JSONL, or .gz) offline",
        description="Check every message of one or more captures (one JSON object per line, "
                    "see the README; gzip-compressed captures are read as such). Without "
                    "CAPTURE, checks the Wazo 17.08 page's own examples.")
    p.add_argument("captures", nargs="*", metavar="CAPTURE",
                   help="capture files or glob patterns, or - for standard input "
                        "(default: the page's examples)")
    p.add_argument("--jobs", "-j", type=common.whole_number(1), default=None, metavar="N",
                   help="worker processes for a large plain capture file (default: one per "
                        "core for files over 4 MiB); their summaries are merged")
    common.add_report_options(p)
    p.set_defaults(run=run)


def expand(patterns: list[str]) -> list[str]:
    """The capture paths, globs expanded in order; a pattern that matches nothing is an error."""
    out: list[str] = []
    for pattern in patterns:
        if pattern != "-" and glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise common.UsageError(f"{pattern}: no capture file matches")
            out += matches
        else:
            out.append(pattern)
    return out


def _source_name(paths: list[str]) -> str:
    if not paths:
        return BUILTIN
    shown = ["stdin" if p == "-" else p for p in paths]
    return shown[0] if len(shown) == 1 else f"{len(shown)} files: " + ", ".join(shown[:5]) + (
        ", ..." if len(shown) > 5 else "")


def run(args) -> int:
    checker = common.build_checker(args)
    paths = expand(args.captures)
    source_name = _source_name(paths)
    summary = common.build_summary(args, checker, f"capture {source_name}")
    path = common.report_path(args)
    common.prepare_outputs(args)
    sinks = []
    if args.format == "ndjson":
        sinks.append(NdjsonSink(common.StreamOut(path), summary, close_out=True))
    the_run = Run(checker, summary, sinks)
    stop_reason = "done"
    try:
        with common.signals_raise_interrupted():
            if not paths:
                the_run.replay(read_capture(io.BytesIO(
                    page_examples_capture(checker.catalogue, checker))))
            for index, capture in enumerate(paths):
                file_index = index if len(paths) > 1 else None
                jobs = _jobs(args, capture, sinks)
                if jobs > 1:
                    summary.merge(_parallel(args, checker, capture, jobs, file_index))
                else:
                    stream = sys.stdin.buffer if capture == "-" else capture
                    the_run.replay(read_capture(stream), file_index, capture)
    except common.Interrupted as exc:
        stop_reason = f"signal:{exc.signame}"
    except CaptureFileError as exc:
        raise common.UsageError(str(exc)) from None
    finally:
        the_run.close()
    summary.finish(stop_reason=stop_reason)
    common.emit_reports(args, summary)
    if summary.tested_nothing:
        sys.stderr.write(f"wazo-bus-validator: error: {source_name}: no message to check "
                         "(a run that checked nothing is not a pass)\n")
    return summary.exit_code


def _jobs(args, capture: str, sinks) -> int:
    """Workers for one capture: ndjson streams in order and stdin cannot be split."""
    if sinks or capture == "-" or not os.path.isfile(capture):
        return 1
    if args.jobs is not None:
        return args.jobs
    try:
        size = os.path.getsize(capture)
        with open(capture, "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
    except OSError:
        return 1
    return 1 if compressed or size < PARALLEL_MIN_BYTES else (os.cpu_count() or 1)


_WORK: dict = {}  # what forked workers inherit: the compiled checker and the settings


def _check_range(task) -> dict:
    start, end, first_line = task
    part = common.build_summary(_WORK["args"], _WORK["checker"], "part")
    # One delivery report per worker (forked warm): its shapes serve every range it checks.
    Run(_WORK["checker"], part, delivery=_WORK["delivery"]).replay(
        read_range(_WORK["capture"], start, end, first_line), _WORK["file_index"],
        _WORK["capture"])
    return part.as_dict()


def _worker_signals() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and ends the workers with
    # SIGTERM, which must therefore stay deadly here (a worker that ignored it would hang
    # the parent's join forever).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _parallel(args, checker, capture: str, jobs: int, file_index) -> Summary:
    """The capture split into line-aligned ranges, checked by forked workers, merged in order."""
    ranges = split_lines(capture, jobs * 4)
    from ..delivery.report import DeliveryReport
    _WORK.update(args=args, checker=checker, capture=capture, file_index=file_index,
                 delivery=DeliveryReport(checker))
    names = checker.catalogue.all_names()
    merged = None
    import multiprocessing  # only a parallel run needs it: not at every start-up

    ctx = multiprocessing.get_context("fork")
    # What the workers inherit is never collected: frozen, the collector does not walk it
    # (and so does not copy its pages in each worker).
    gc.freeze()
    pool = ctx.Pool(jobs, initializer=_worker_signals)
    try:
        for d in pool.imap(_check_range, ranges):
            part = Summary.from_dict(d, names)
            merged = part if merged is None else merged.merge(part)
        pool.close()  # done: the workers take their end-of-work marker and exit
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        gc.unfreeze()
    return merged
