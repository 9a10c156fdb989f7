"""Options, set-up and report writing shared by the commands that check messages."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

from .. import codes as C
from ..catalogue import CatalogueError, load_catalogue
from ..check import Checker, VersionError
from ..reporters import EXTENSIONS, FORMATS, RENDERERS
from ..summary import Gate, Summary

DEFAULT_REPORT_DIR = Path("reports")


class UsageError(Exception):
    """A bad option, file or URL: printed as one line, exit 2."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM: stop, write the report, exit."""

    def __init__(self, signame: str):
        super().__init__(signame)
        self.signame = signame


def whole_number(lo: int):
    """An argparse type: an integer (1_000 allowed) of at least `lo`."""
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"{text} must be at least {lo}")
        return value
    return parse


def positive_seconds(text: str) -> float:
    """An argparse type: a finite, positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def add_catalogue_option(parser) -> None:
    parser.add_argument("--catalogue", metavar="PATH",
                        help="the catalogue to use (default: the bundled specs/events.yaml)")


def add_report_options(parser) -> None:
    add_catalogue_option(parser)
    parser.add_argument("--wazo-version", metavar="V", default=None,
                        help="the target Wazo version (default: the catalogue's, 17.08)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="report format (default: text)")
    parser.add_argument("--output", metavar="PATH",
                        help="where the report goes: a file, or a directory for "
                             "report.<ext>. Default: stdout for text and ndjson, "
                             "reports/wazo-bus-report.<ext> for json, junit, markdown")
    parser.add_argument("--select", action="append", default=[], metavar="CODE",
                        help="report only these codes or code prefixes (repeatable, "
                             "comma-separated)")
    parser.add_argument("--ignore", action="append", default=[], metavar="CODE",
                        help="never report these codes or code prefixes")
    parser.add_argument("--fail-on", choices=("error", "warning"), default="error",
                        help="the gate fails on any error (default) or on any warning too")
    parser.add_argument("--require", action="append", default=[], metavar="EVENT",
                        help="the gate fails if this event was never seen (repeatable)")
    parser.add_argument("--redact", action="store_true",
                        help="replace personal data (the catalogue's personal-data fields) in "
                             "samples and records by placeholders of the same type")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print no summary on stdout when the report goes to a file")


def _codes(values: list[str]) -> list[str]:
    out = [c.strip().upper() for v in values for c in v.split(",") if c.strip()]
    unknown = C.validate_selectors(out)
    if unknown:
        raise UsageError(f"unknown finding code {', '.join(unknown)} (see the README's code table)")
    return out


def load(args):
    try:
        return load_catalogue(getattr(args, "catalogue", None))
    except CatalogueError as exc:
        raise UsageError(str(exc)) from None


def build_checker(args, catalogue=None) -> Checker:
    catalogue = catalogue or load(args)
    try:
        return Checker(catalogue, args.wazo_version, select=_codes(args.select),
                       ignore=_codes(args.ignore))
    except VersionError as exc:
        raise UsageError(str(exc)) from None


def build_summary(args, checker: Checker, source: str) -> Summary:
    names = checker.catalogue.all_names()
    unknown = [n for n in args.require if checker.resolve(n) is None]
    if unknown:
        raise UsageError(f"--require {unknown[0]}: not an event of the catalogue")
    redactor = None
    if args.redact:
        from ..redact import Redactor
        redactor = Redactor(checker.catalogue)
    return Summary(catalogue_names=names, wazo_version=checker.version_text, source=source,
                   gate=Gate(fail_on=args.fail_on, require=tuple(args.require)),
                   redactor=redactor)


def report_path(args) -> Path | None:
    """None for stdout."""
    ext = EXTENSIONS[args.format]
    if args.output in (None, "") and args.format in ("text", "ndjson"):
        return None
    if args.output == "-":
        return None
    if args.output is None:
        return DEFAULT_REPORT_DIR / f"wazo-bus-report.{ext}"
    path = Path(args.output)
    if path.is_dir() or args.output.endswith(os.sep):
        return path / f"report.{ext}"
    return path


def check_output_writable(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--output {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise UsageError(f"--output {path}: is a directory")
    if not os.access(path.parent, os.W_OK):
        raise UsageError(f"--output {path}: the folder is not writable")


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def emit_reports(args, summary: Summary) -> None:
    """Write the chosen format where it goes; the text summary to stdout besides."""
    path = report_path(args)
    if args.format == "ndjson":
        # ndjson was streamed message by message; its summary goes to stderr.
        if not args.quiet:
            sys.stderr.write(RENDERERS["text"](summary))
        return
    text = RENDERERS[args.format](summary)
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(path, text)
    if not args.quiet:
        if args.format != "text":
            sys.stdout.write(RENDERERS["text"](summary))
        sys.stdout.write(f"{args.format} report written to {path}\n")
        sys.stdout.flush()


class signals_raise_interrupted:
    """Within this block SIGINT and SIGTERM raise Interrupted in the main thread."""

    def __enter__(self):
        def handler(signum, frame):
            raise Interrupted(signal.Signals(signum).name)
        self._old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        return False
