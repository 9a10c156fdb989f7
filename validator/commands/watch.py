"""`watch [listen options] -- COMMAND [ARGS...]`: how a release pipeline wraps its
integration tests. Starts listening, runs COMMAND once the queue is bound (so nothing it
causes is missed), waits for the bus to go quiet (bounded), stops and reports.

Exit 0 only when COMMAND succeeded and the gate passed; 1 when either failed; 2 when the
tool could not run (bad option, broker unreachable, COMMAND not found) or, COMMAND having
succeeded, no message was seen at all.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import threading
import time

from . import common
from .listen import LiveRun, add_listen_options, stop_on_signals

ORDER = 11


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "watch", help="listen while a command runs (a CI gate around integration tests)",
        description="Listen to the bus, run COMMAND, wait for the bus to go quiet, report. "
                    "Exit 0 only when COMMAND succeeded and the gate passed.",
        usage="%(prog)s [listen options] [--settle S] [--settle-max S] -- COMMAND [ARGS...]")
    add_listen_options(p)
    p.add_argument("--settle", type=float, default=2.0, metavar="S",
                   help="after COMMAND ends, stop once the bus was quiet this long (default 2)")
    p.add_argument("--settle-max", type=float, default=30.0, metavar="S",
                   help="but wait at most this long after COMMAND ends (default 30)")
    p.add_argument("--ready-timeout", type=float, default=15.0, metavar="S",
                   help="how long to wait for the queue to be bound before giving up")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help="the command to run, after --")
    p.set_defaults(run=run)


def run(args) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise common.UsageError("watch needs a command after --")
    if args.settle <= 0 or args.settle_max < args.settle:
        raise common.UsageError("--settle must be positive and --settle-max at least --settle")
    live = LiveRun(args)
    live.open_outputs()

    failure: list[BaseException] = []

    def consume():
        try:
            live.consume()
        except BaseException as exc:  # surfaced in the main thread
            failure.append(exc)
        finally:
            live.connected.set()

    child: list[subprocess.Popen] = []

    def forward(signum):
        if child and child[0].poll() is None:
            child[0].send_signal(signum)

    with stop_on_signals(live.source, also=forward):
        thread = threading.Thread(target=consume, name="wazo-bus-listen", daemon=True)
        thread.start()
        live.connected.wait(args.ready_timeout)
        if failure or not thread.is_alive():
            thread.join()
            if failure and isinstance(failure[0], common.UsageError):
                if live.record is not None:
                    live.record.close()
                raise failure[0]
            if failure:
                raise failure[0]
        if not live.connected.is_set():
            live.source.stop("stopped")
            thread.join()
            raise common.UsageError(f"the bus was not ready within {args.ready_timeout:g}s")

        started = time.time()
        try:
            proc = subprocess.Popen(command)
        except OSError as exc:
            live.source.stop("stopped")
            thread.join()
            live.finish(command=shlex.join(command), command_error=str(exc))
            raise common.UsageError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        child.append(proc)
        returncode = proc.wait()
        ended = time.time()

        # Let the events the command caused arrive: quiet for --settle, at most --settle-max.
        deadline = time.monotonic() + args.settle_max
        last_count, last_change = live.summary.messages, time.monotonic()
        while thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
            if live.summary.messages != last_count:
                last_count, last_change = live.summary.messages, time.monotonic()
            elif time.monotonic() - last_change >= args.settle:
                break
        live.source.stop("command-finished" if returncode is not None else "stopped")
        thread.join()
    if failure and not isinstance(failure[0], common.UsageError):
        raise failure[0]
    code = live.finish(command=shlex.join(command), command_exit=returncode,
                       command_started_at=started, command_ended_at=ended)
    if returncode != 0:
        sys.stderr.write(f"wazo-bus-validator: the command exited with {returncode}\n")
        return 1
    return code

