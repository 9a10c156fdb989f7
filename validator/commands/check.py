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
                    _parallel(args, the_run, capture, jobs, file_index)
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


def _check_part(the_run: Run, args, capture: str, task, file_index, send) -> None:
    """A forked worker: checks its range of the capture into a summary of its own (with the
    parent's delivery report, warm), and sends it back as its JSON report."""
    _worker_signals()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        part = common.build_summary(args, the_run.checker, "part")
        Run(the_run.checker, part, delivery=the_run.delivery_report or False).replay(
            read_range(capture, *task), file_index, capture)
        send.send(part.as_dict())
    except Exception as exc:  # the parent checks the range itself, and says what failed
        send.send(f"{type(exc).__name__}: {exc}")
    finally:
        send.close()


def _worker_signals() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and ends the workers with
    # SIGTERM, which must therefore stay deadly here (a worker that ignored it would hang
    # the parent's join forever).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
STOP_GRACE = 5.0  # seconds a worker has to end on SIGTERM before it is killed


def _parallel(args, the_run: Run, capture: str, jobs: int, file_index) -> None:
    """The capture split into `jobs` line-aligned ranges: the first checked here, each other
    by a forked worker; the workers' parts are merged in order into the run's summary. A
    worker that dies or fails leaves its range to this process (nothing is left unchecked)."""
    ranges = split_lines(capture, jobs)
    import multiprocessing  # only a parallel run needs it: not at every start-up

    ctx = multiprocessing.get_context("fork")
    # What the workers inherit is never collected: frozen, the collector does not walk it
    # (and so does not copy its pages in each worker).
    gc.freeze()
    workers = []
    try:
        # No stop signal between a fork and the worker's own handlers: held until then.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for task in ranges[1:]:
                receive, send = ctx.Pipe(duplex=False)
                worker = ctx.Process(target=_check_part, daemon=True,
                                     args=(the_run, args, capture, task, file_index, send))
                worker.start()
                send.close()
                workers.append((worker, receive, task))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        the_run.replay(read_range(capture, *ranges[0]), file_index, capture)
        names = the_run.checker.catalogue.all_names()
        for worker, receive, task in workers:
            try:
                part = receive.recv()
            except (EOFError, OSError):
                worker.join()
                part = f"it ended with exit code {worker.exitcode}"
            if type(part) is dict:
                the_run.summary.merge(Summary.from_dict(part, names))
            else:
                sys.stderr.write(f"wazo-bus-validator: the worker checking from line {task[2]} "
                                 f"failed ({part}): checking its lines here\n")
                the_run.replay(read_range(capture, *task), file_index, capture)
    finally:
        for worker, receive, _ in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(STOP_GRACE)
                if worker.is_alive():  # (one that blocks SIGTERM)
                    worker.kill()
            worker.join()
            receive.close()
        gc.unfreeze()
