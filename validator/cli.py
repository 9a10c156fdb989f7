"""The command line: `wazo-bus-validator <command> ...`.

Exit codes (as schemathesis): 0 the gate passes, 1 it fails, 2 it could not run or tested
nothing. Every usage, file or URL problem is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import sys
import threading

from . import __version__
from .errors import UsageError

PROG = "wazo-bus-validator"

# Each command and the module of validator.commands whose register() adds it, in the order
# `--help` lists them. A run names its command first, so it imports and registers that
# module only (every module's imports cost start-up); --help and a mistyped command get all.
COMMANDS = {
    "listen": "listen", "watch": "watch", "check": "check", "merge": "merge",
    "deliver": "deliver", "publish": "publish", "examples": "examples", "codes": "codes",
    "explain": "codes", "docs": "docs", "asyncapi": "asyncapi", "diff": "diff",
    "schemas": "schemas", "bench": "bench",
}


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        sys.stderr.write(f"{PROG}: error: {message}\n")
        sys.exit(2)


def command_modules(command: str | None = None) -> list:
    """The module registering `command`, or every command module (in COMMANDS' order) when
    `command` is not one."""
    names = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    return [importlib.import_module(f"{__package__}.commands.{name}") for name in names]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of `command` alone when it is one (it parses that command's arguments as
    the whole parser would), else of every command."""
    parser = Parser(prog=PROG, description="Protocol-conformance validator for the Wazo "
                    "17.08 AMQP message bus.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in command_modules(command):
        module.register(subparsers)
    return parser


def main(argv=None) -> int:
    """The command line's exit code. Without `argv` (the process's own command line), what
    the imports build lives as long as the process: it is not collected while they run (20
    collections, ~3 ms of a start), then frozen, so that no later collection walks it."""
    entry = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    collecting = entry and gc.isenabled()
    if collecting:
        gc.disable()
    try:
        parser = build_parser(argv[0] if argv else None)
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:
        args.extra = extra
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 1


def console() -> None:
    """The process's entry point (the console script and `python -m validator`): main(),
    then out without the interpreter's teardown once nothing is left to do."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = 1
    if threading.active_count() > 1:  # a thread still running: the normal exit waits for it
        sys.exit(code)
    # Freeing every object of a large run one by one (what the normal exit does) took 35-60
    # ms of a 40,000-line check here; the atexit hooks (weakref finalizers among them) still
    # run, and every file this process wrote is closed by then.
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    console()
