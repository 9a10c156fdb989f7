"""`check [CAPTURE ...]`: check recorded captures offline (default: the page's own examples)."""

from __future__ import annotations

import fcntl
import gc
import marshal
import os
import signal
import sys
from typing import TYPE_CHECKING

from ..capture import CaptureFileError, chunk_lines, raw_lines
from ..pages import page_examples_capture
from ..run import Run
from ..summary import Summary
from . import common

if TYPE_CHECKING:
    from .chunk_queue import ChunkQueue

BUILTIN = "page examples (built in)"
# Below this, one process is as fast as forking workers (medians of 9-13 paired runs of the
# 17.08 mix: 2 workers 8% faster at 1.4 and 2 MB, 25% at 2.9 MB; the best runs favour one
# process at 1.4 MB).
PARALLEL_MIN_BYTES = 2 << 20
PART_PIPE_BYTES = 1 << 20


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
                        "core for files over 2 MiB); their summaries are merged")
    common.add_report_options(p)
    p.set_defaults(run=run)


def expand(patterns: list[str]) -> list[str]:
    """The capture paths, globs expanded in order; a pattern that matches nothing is an error."""
    out: list[str] = []
    for pattern in patterns:
        if pattern != "-" and any(c in pattern for c in "*?["):  # glob.has_magic's test
            import glob  # here: most runs name their files
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
        from ..sinks import NdjsonSink  # here: only ndjson streams
        sinks.append(NdjsonSink(common.StreamOut(path), summary, close_out=True))
    the_run = Run(checker, summary, sinks)
    stop_reason = "done"
    try:
        with common.signals_raise_interrupted():
            if not paths:
                the_run.replay_lines(chunk_lines(
                    page_examples_capture(checker.catalogue, checker)))
            for index, capture in enumerate(paths):
                file_index = index if len(paths) > 1 else None
                jobs = _jobs(args, capture, sinks)
                if jobs > 1:
                    _parallel(args, the_run, capture, jobs, file_index)
                else:
                    stream = sys.stdin.buffer if capture == "-" else capture
                    the_run.replay_lines(raw_lines(stream), 1, file_index, capture)
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
    """Workers for one capture: ndjson streams in order, and stdin and a gzip file cannot be
    split (whatever --jobs says)."""
    if sinks or capture == "-" or not os.path.isfile(capture):
        return 1
    try:
        size = os.path.getsize(capture)
        with open(capture, "rb") as f:
            compressed = f.read(2) == b"\x1f\x8b"
    except OSError:
        return 1
    if compressed:
        return 1
    if args.jobs is not None:
        return args.jobs
    return 1 if size < PARALLEL_MIN_BYTES else (os.cpu_count() or 1)


def _check_part(the_run: Run, args, queue: ChunkQueue, me: int, parent: int, file_index,
                send: int) -> None:
    """A forked worker: checks the chunks it claims into a summary of its own (with the
    parent's delivery report, warm) and writes it to `send` (_pack): its report's dict, or
    why it failed (a string)."""
    from .chunk_queue import wait_in_worker
    _worker_signals()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        part = common.build_summary(args, the_run.checker, "part")
        _drain(Run(the_run.checker, part, delivery=the_run.delivery_report or False), queue, me,
               wait_in_worker(parent), file_index, queue.capture)
        payload = part.as_dict()
    except Exception as exc:  # the parent checks its chunks again, and says what failed
        payload = f"{type(exc).__name__}: {exc}"
    with open(send, "wb") as out:
        out.write(_pack(payload))


def _pack(payload) -> bytes:
    """A part as bytes: marshal (built in: the parent, at the end of a run, would otherwise
    import pickle for it, ~2 ms), pickle when the part holds what marshal cannot write."""
    try:
        return b"m" + marshal.dumps(payload)
    except ValueError:
        import pickle
        return b"p" + pickle.dumps(payload)


def _unpack(data: bytes):
    if data[:1] == b"m":
        return marshal.loads(data[1:])
    import pickle
    return pickle.loads(data[1:])


def _drain(the_run: Run, queue: ChunkQueue, me: int, wait, file_index, capture: str) -> None:
    """Check chunks until none is left."""
    while True:
        claimed = queue.claim(me, wait)
        if claimed is None:
            return
        data, first_line = claimed
        the_run.replay_lines(chunk_lines(data), first_line, file_index, capture)


def _worker_signals() -> None:
    # Ctrl-C reaches the whole process group: the parent decides, and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _fork_worker(*work) -> tuple[int, int]:
    """(pid, the read end of its pipe): a child running _check_part(*work, write end)."""
    receive, send = os.pipe()
    try:
        # Room for the whole part (~250 KB for 20,000 messages): the worker writes it and
        # leaves without waiting for the parent, busy with its last chunks, to read it.
        fcntl.fcntl(send, fcntl.F_SETPIPE_SZ, PART_PIPE_BYTES)
    except OSError:  # more than /proc/sys/fs/pipe-max-size: the worker waits, that is all
        pass
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the parent's code
        try:
            os.close(receive)
            _check_part(*work, send)
        finally:
            os._exit(0)
    os.close(send)
    return pid, receive


class _Worker:
    """A forked worker as the parent sees it: its pid (None once reaped), the read end of
    its pipe (or why it could not be forked), its exit status once known."""

    def __init__(self, me: int, pid: int | None, receive):
        self.me, self.pid, self.receive, self.status = me, pid, receive, None

    def poll(self) -> bool:
        """Whether it has ended abnormally (reaped here if it has ended)."""
        if self.pid is not None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.pid, self.status = None, status
        return self.status is not None and self.status != 0

    def part(self):
        """What it sent (its part's dict, or why it failed), once it has ended."""
        if type(self.receive) is str:  # never forked
            return self.receive
        with open(self.receive, "rb") as f:
            self.receive = None  # closed with f
            data = f.read()
        if self.pid is not None:
            self.status = os.waitpid(self.pid, 0)[1]
            self.pid = None
        try:
            return _unpack(data)
        except Exception:  # nothing, or cut short: it died
            return f"it ended with exit code {os.waitstatus_to_exitcode(self.status)}"

    def end(self) -> None:
        """Stopped early: a worker holds nothing that needs an orderly end."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = None
        if type(self.receive) is int:
            try:
                os.close(self.receive)
            except OSError:
                pass
            self.receive = None


def _parallel(args, the_run: Run, capture: str, jobs: int, file_index) -> None:
    """The capture's chunks (chunk_queue.py) checked by this process and `jobs` - 1 forked
    workers, each claiming the next one until none is left; the workers' parts are merged
    into the run's summary. What a worker that dies or fails had claimed is checked here
    again (nothing is left unchecked, nothing counted twice)."""
    from .chunk_queue import ChunkQueue, TokenLost, wait_in_parent  # a small file never needs it
    queue = ChunkQueue(capture, jobs)
    jobs = min(jobs, queue.most_processes)
    # What the workers inherit is never collected: frozen, the collector does not walk it
    # (and so does not copy its pages in each worker).
    gc.freeze()
    workers: list[_Worker] = []
    try:
        # No stop signal between a fork and the worker's own handlers: held until then.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            for me in range(1, jobs):
                try:
                    pid, receive = _fork_worker(the_run, args, queue, me, os.getpid(),
                                                file_index)
                except OSError as exc:  # no process to be had: this one checks more
                    pid, receive = None, f"{exc.strerror or exc}"
                workers.append(_Worker(me, pid, receive))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        try:
            _drain(the_run, queue, 0, wait_in_parent(lambda: any(w.poll() for w in workers)),
                   file_index, capture)
            failed = _merge_parts(the_run, workers)
        except TokenLost:
            failed = [w.me for w in workers]
            for worker in workers:
                worker.end()
            sys.stderr.write("wazo-bus-validator: a worker died holding the chunk queue: "
                             "checking here what the workers had checked\n")
        if queue.left_to(failed):
            # Into a part of its own, merged: a summary keeps the first samples it is given,
            # and these lines come before some this one has checked.
            part = common.build_summary(args, the_run.checker, "checked again")
            again = Run(the_run.checker, part, delivery=the_run.delivery_report or False)
            for data, line in queue.again(failed):
                again.replay_lines(chunk_lines(data), line, file_index, capture)
            the_run.summary.merge(part)
    finally:
        for worker in workers:
            worker.end()
        queue.close()
        gc.unfreeze()


def _merge_parts(the_run: Run, workers: list[_Worker]) -> list[int]:
    """The workers' parts merged into the run's summary; the workers that failed."""
    names = the_run.checker.catalogue.all_names()
    failed = []
    for worker in workers:
        part = worker.part()
        if type(part) is dict:
            the_run.summary.merge(Summary.from_dict(part, names))
            continue
        failed.append(worker.me)
        sys.stderr.write(f"wazo-bus-validator: worker {worker.me} failed ({part}): checking "
                         "here the chunks it had claimed\n")
    return failed
