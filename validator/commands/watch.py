"""`watch [listen options] -- COMMAND [ARGS...]`: how a release pipeline wraps its
integration tests. Starts listening, runs COMMAND once the queue is bound (so nothing it
causes is missed), waits for the bus to go quiet (bounded), stops and reports.

Exit 0 only when COMMAND succeeded and the gate passed; 1 when either failed; 2 when the
tool could not run (bad option, broker unreachable, COMMAND not found), when the run was
interrupted (SIGINT, SIGTERM: the gate cannot decide), or, COMMAND having succeeded, when
no message was seen at all. The exit code the report prints is the one returned.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import subprocess
import sys
import threading
import time

from . import common
from .listen import LiveRun, add_listen_options, stop_on_signals

USAGE = "watch [listen options] [--settle S] [--settle-max S] -- COMMAND [ARGS...]"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "watch", help="listen while a command runs (a CI gate around integration tests)",
        description="Listen to the bus, run COMMAND, wait for the bus to go quiet, report. "
                    "Exit 0 only when COMMAND succeeded and the gate passed.",
        usage=f"%(prog)s {USAGE.split(' ', 1)[1]}")
    add_listen_options(p)
    p.add_argument("--settle", type=float, default=2.0, metavar="S",
                   help="after COMMAND ends, stop once the bus was quiet this long (default 2)")
    p.add_argument("--settle-max", type=float, default=30.0, metavar="S",
                   help="but wait at most this long after COMMAND ends (default 30)")
    p.add_argument("--ready-timeout", type=float, default=15.0, metavar="S",
                   help="how long to wait for the queue to be bound before giving up")
    # Not dest="command": that is the top-level parser's name for the sub-command, and an
    # empty COMMAND there made `watch` alone print the top-level help.
    p.add_argument("command_line", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help="the command to run, after --")
    p.set_defaults(run=run)


def describe_exit(returncode: int) -> str:
    """`exited with 3`, or `was killed by SIGINT` for a negative return code."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with {returncode}"


def _command_of(args) -> list[str]:
    command = list(args.command_line)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise common.UsageError(f"watch needs a command after --: wazo-bus-validator {USAGE}")
    if args.settle <= 0 or args.settle_max < args.settle:
        raise common.UsageError("--settle must be positive and --settle-max at least --settle")
    return command


class Watch:
    """The listening thread, the child command and what the signals did to them."""

    def __init__(self, args, command: list[str]):
        self.args = args
        self.command = command
        self.live = LiveRun(args)
        self.failure: list[BaseException] = []
        self.child: subprocess.Popen | None = None
        self.interrupted: str | None = None
        self.thread = threading.Thread(target=self._consume, name="wazo-bus-listen",
                                       daemon=True)

    def _consume(self) -> None:
        try:
            self.live.consume()
        except BaseException as exc:  # surfaced in the main thread
            self.failure.append(exc)
        finally:
            self.live.connected.set()

    def forward(self, name: str) -> None:
        """SIGINT/SIGTERM: the listener stops (stop_on_signals), the command gets it too."""
        self.interrupted = name
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.Signals[name])

    def wait_ready(self) -> None:
        live = self.live
        live.connected.wait(self.args.ready_timeout)
        if self.failure or not self.thread.is_alive():
            self.thread.join()
            if live.record is not None:
                live.record.close()
            if self.failure:
                raise self.failure[0]
        if not live.connected.is_set():
            live.source.stop("stopped")
            self.thread.join()
            raise common.UsageError(f"the bus was not ready within {self.args.ready_timeout:g}s")

    def settle(self) -> None:
        """Let the events the command caused arrive: quiet for --settle, at most --settle-max."""
        summary = self.live.summary
        deadline = time.monotonic() + self.args.settle_max
        last_count, last_change = summary.messages, time.monotonic()
        while self.thread.is_alive() and time.monotonic() < deadline and not self.interrupted:
            time.sleep(0.1)
            if summary.messages != last_count:
                last_count, last_change = summary.messages, time.monotonic()
            elif time.monotonic() - last_change >= self.args.settle:
                break

    def run_command(self) -> dict:
        live = self.live
        started = time.time()
        try:
            self.child = subprocess.Popen(self.command)
        except OSError as exc:
            live.source.stop("stopped")
            self.thread.join()
            live.finish(command=shlex.join(self.command), command_error=str(exc))
            raise common.UsageError(f"cannot run {self.command[0]!r}: "
                                    f"{exc.strerror or exc}") from None
        if self.interrupted and self.child.poll() is None:  # a signal before the child existed
            self.child.send_signal(signal.SIGTERM if self.interrupted == "SIGTERM" else
                                   signal.SIGINT)
        returncode = self.child.wait()
        ended = time.time()
        self.settle()
        live.source.stop(f"signal:{self.interrupted}" if self.interrupted else "command-finished")
        self.thread.join()
        facts = {"command": shlex.join(self.command), "command_exit": returncode,
                 "command_started_at": started, "command_ended_at": ended}
        if self.interrupted:
            facts["interrupted"] = self.interrupted
        return facts


def run(args) -> int:
    command = _command_of(args)
    watch = Watch(args, command)
    watch.live.open_outputs()
    # The handlers stay until the report is written (see listen's run).
    with stop_on_signals(watch.live.source, also=watch.forward):
        watch.thread.start()
        watch.wait_ready()
        facts = watch.run_command()
        if watch.failure and not isinstance(watch.failure[0], common.UsageError):
            raise watch.failure[0]
        code = watch.live.finish(**facts)
    returncode = facts["command_exit"]
    if watch.interrupted:
        sys.stderr.write(f"wazo-bus-validator: interrupted by {watch.interrupted}: the command "
                         f"{describe_exit(returncode)}; the gate cannot decide (exit {code})\n")
    elif returncode != 0:
        sys.stderr.write(f"wazo-bus-validator: the command {describe_exit(returncode)} "
                         f"(exit {code})\n")
    return code
