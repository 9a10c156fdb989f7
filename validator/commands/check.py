"""`check [CAPTURE ...]`: check recorded captures offline (default: the page's own examples)."""

from __future__ import annotations

import gc
import glob
import io
import os
import signal
import sys

from ..capture import (CaptureFileError, read_bytes, read_capture, read_lines, read_range,
                       split_bounds)
from ..pages import page_examples_capture
from ..run import Run
from ..sinks import NdjsonSink
from ..summary import Summary
from . import common

BUILTIN = "page examples (built in)"
PARALLEL_MIN_BYTES = 4 << 20  # below this, one process is faster than forking workers
# The parent's range is this much larger than a worker's: a worker starts ~30 ms later
# (fork, its range read, the first range's lines counted) and pickles its part at the end,
# and the parent was idle that long waiting for it (measured, 40,000 lines).
FIRST_RANGE_WEIGHT = 1.08


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


def _first_line(capture: str, first: bytes, start: int) -> int:
    """The number of the line at byte `start`: the first range's lines are in `first`."""
    lines = first.count(b"\n")
    if start > len(first):
        lines += read_bytes(capture, len(first), start).count(b"\n")
    return 1 + lines


def _check_part(the_run: Run, args, capture: str, first: bytes, task, file_index,
                send: int) -> None:
    """A forked worker: checks its range of the capture into a summary of its own (with the
    parent's delivery report, warm) and writes it to `send`, pickled: its report's dict, or
    why it failed (a string)."""
    _worker_signals()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        part = common.build_summary(args, the_run.checker, "part")
        Run(the_run.checker, part, delivery=the_run.delivery_report or False).replay(
            read_range(capture, *task, _first_line(capture, first, task[0])), file_index,
            capture)
        payload = part.as_dict()
    except Exception as exc:  # the parent checks the range itself, and says what failed
        payload = f"{type(exc).__name__}: {exc}"
    import pickle
    with open(send, "wb") as out:
        out.write(pickle.dumps(payload))


def _worker_signals() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _fork_worker(*work) -> tuple[int, int]:
    """(pid, the read end of its pipe): a child running _check_part(*work, write end)."""
    receive, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the parent's code
        try:
            os.close(receive)
            _check_part(*work, send)
        finally:
            os._exit(0)
    os.close(send)
    return pid, receive


def _receive(pid: int, receive: int):
    """What the worker sent (its part's dict, or why it failed), once it has ended."""
    import pickle
    with open(receive, "rb") as f:
        data = f.read()
    status = os.waitpid(pid, 0)[1]
    try:
        return pickle.loads(data)
    except Exception:  # nothing, or cut short: it died
        return f"it ended with exit code {os.waitstatus_to_exitcode(status)}"


def _parallel(args, the_run: Run, capture: str, jobs: int, file_index) -> None:
    """The capture split into `jobs` line-aligned ranges: the first checked here, each other
    by a forked worker; the workers' parts are merged in order into the run's summary. A
    worker that dies or fails leaves its range to this process (nothing is left unchecked)."""
    ranges = split_bounds(capture, jobs, FIRST_RANGE_WEIGHT)
    first = read_bytes(capture, *ranges[0])  # read before the fork: the workers count its lines
    # What the workers inherit is never collected: frozen, the collector does not walk it
    # (and so does not copy its pages in each worker).
    gc.freeze()
    workers = []  # [pid, read end, range] in the capture's order; pid None: not forked
    try:
        # No stop signal between a fork and the worker's own handlers: held until then.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for task in ranges[1:]:
                try:
                    pid, receive = _fork_worker(the_run, args, capture, first, task, file_index)
                except OSError as exc:  # no process to be had: this one checks it
                    pid, receive = None, f"{exc.strerror or exc}"
                workers.append([pid, receive, task])
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        the_run.replay(read_lines(first), file_index, capture)
        names = the_run.checker.catalogue.all_names()
        for worker in workers:
            pid, receive, task = worker
            part = receive if pid is None else _receive(pid, receive)
            worker[0] = None  # reaped
            if type(part) is dict:
                the_run.summary.merge(Summary.from_dict(part, names))
                continue
            line = _first_line(capture, first, task[0])
            sys.stderr.write(f"wazo-bus-validator: the worker checking from line {line} "
                             f"failed ({part}): checking its lines here\n")
            the_run.replay(read_range(capture, *task, line), file_index, capture)
    finally:
        for pid, receive, _ in workers:
            if pid is None:
                continue
            try:  # stopped early: a worker holds nothing that needs an orderly end
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass  # (reaped already, by a receive that a stop then cut short)
            try:
                os.close(receive)
            except OSError:
                pass
        gc.unfreeze()
