"""Options, set-up and report writing shared by the commands that check messages."""

from __future__ import annotations

import argparse
import signal
import sys

from .. import codes as C
from .. import settings as S
from ..catalogue import CatalogueError, load_catalogue
from ..check import Checker, VersionError
from ..errors import UsageError
from ..outputs import (  # noqa: F401 - the names the commands use
    DEFAULT_REPORT_DIR, FormatsAction, check_output_writable, emit_reports, parse_formats,
    StreamOut, prepare_outputs, primary_format, report_path, write_atomic, write_document,
    write_or_check, write_stdout)
from ..summary import Gate, Summary


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
    try:
        found = S.current()
    except UsageError as exc:  # a broken settings file: one line, whatever the command
        sys.stderr.write(f"wazo-bus-validator: error: {exc}\n")
        sys.exit(2)
    given = found.values
    formats = given.get("formats", ("text",))
    parser.set_defaults(formats=formats, settings_record=found.record)
    parser.add_argument("--wazo-version", metavar="V", default=given.get("wazo_version"),
                        help="the target Wazo version (default: the catalogue's, 17.08)")
    parser.add_argument("--format", action=FormatsAction, metavar="FORMATS",
                        default=primary_format(formats),
                        help="report format: text, json, ndjson, junit, markdown, or several "
                             "comma-separated (junit,markdown,text); default text")
    parser.add_argument("--output", metavar="PATH",
                        help="where the report goes: a file, - for stdout, or a folder for "
                             "report.<ext> (always a folder with several formats). Default: "
                             "stdout for text and ndjson, reports/wazo-bus-report.<ext> for "
                             "the others")
    parser.add_argument("--select", action=S.ReplacingAppend, default=given.get("select", ()),
                        metavar="CODE", help="report only these codes or code prefixes "
                        "(repeatable, comma-separated)")
    parser.add_argument("--ignore", action=S.ReplacingAppend, default=given.get("ignore", ()),
                        metavar="CODE", help="never report these codes or code prefixes")
    parser.add_argument("--fail-on", choices=S.FAIL_ON, default=given.get("fail_on", "error"),
                        help="the gate fails on any error (default), on any warning too, or "
                             "never on findings")
    parser.add_argument("--exit-zero", dest="fail_on", action="store_const", const="never",
                        help="the same as --fail-on never (ruff's name)")
    parser.add_argument("--require", action=S.ReplacingAppend, default=given.get("require", ()),
                        metavar="EVENT",
                        help="the gate fails if this event was never seen (repeatable)")
    parser.add_argument("--redact", action="store_true",
                        help="replace personal data (the catalogue's personal-data fields) in "
                             "samples and records by placeholders of the same type")
    parser.add_argument("--max-failures", type=whole_number(0), default=5, metavar="N",
                        help="failing messages shown in the text report (default 5; the "
                             "JSON report keeps the first 20)")
    parser.add_argument("--statistics", action="store_true",
                        help="the text summary is the count per code only")
    parser.add_argument("--color", choices=S.COLORS, default=given.get("color", "auto"),
                        help="colour the text summary: auto (on a terminal, unless NO_COLOR "
                             "is set), always, never")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print nothing besides the reports; text on stdout is cut to "
                             "its verdict line")


def bus_url(given: str | None) -> str:
    """--url, else WAZO_BUS_URL, else the local default, parsed by our own parser (a
    password with '/' or '#' is read whole) and handed on encoded for pika."""
    from ..urls import UrlError, checked_url, default_url  # listen's; check never needs it

    try:
        return checked_url(given if given is not None else default_url())
    except UrlError as exc:
        raise UsageError(str(exc)) from None


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
    summary = Summary(catalogue_names=names, wazo_version=checker.version_text, source=source,
                      gate=Gate(fail_on=args.fail_on, require=tuple(args.require)),
                      redactor=redactor)
    summary.catalogue = checker.catalogue
    return summary


class on_signals:
    """Within this block SIGINT and SIGTERM call `handler(signal name, how many so far)`
    (in the main thread); the previous handlers come back after it."""

    def __init__(self, handler):
        self.handler = handler
        self.count = 0

    def __enter__(self):
        def handler(signum, frame):
            self.count += 1
            self.handler(signal.Signals(signum).name, self.count)
        self._old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        return False


def _raise_interrupted(name: str, count: int):
    raise Interrupted(name)


def signals_raise_interrupted() -> on_signals:
    """SIGINT and SIGTERM raise Interrupted: the command stops where it is and reports."""
    return on_signals(_raise_interrupted)
