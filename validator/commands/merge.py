"""`merge REPORT.json ...`: the JSON reports of workers that shared the traffic (`listen
--shared-queue`, or captures checked apart) combined into the report one process seeing all
the messages would have written; the gate decided again on the merged counts. How the parts
combine: Summary.merge; the workers' loss facts are kept, each worker's too (run.workers)."""

from __future__ import annotations

import json

from ..reporters import FORMATS
from ..summary import FORMAT_VERSION, Gate, Summary
from . import common


# What each worker said about its own run, kept per worker in the merged report.
WORKER_FACTS = ("stop_reason", "messages_received", "may_have_lost", "lost_estimate",
                "undrained", "gaps", "reconnects", "peak_backlog", "started_at", "ended_at")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "merge", help="combine the JSON reports of several workers into one",
        description="Combine JSON reports (of `listen --shared-queue` workers, or of parts of "
                    "a capture) into the report of the whole: counts exact, samples the first "
                    "by arrival time, every worker's losses kept, the gate decided again.")
    p.add_argument("reports", nargs="+", metavar="REPORT.json",
                   help="JSON reports written with --format json")
    common.add_report_options(p)
    # fail_on None: the reports' gate (they must agree) unless --fail-on is given; no
    # --select/--ignore from a settings file, which apply to the workers
    p.set_defaults(run=run, fail_on=None, select=[], ignore=[])


def _refuse_unmergeable_options(args) -> None:
    if args.select or args.ignore or args.redact:
        raise common.UsageError("--select, --ignore and --redact act while messages are "
                                "checked: give them to the workers, not to merge")
    if "ndjson" in (getattr(args, "formats", None) or (args.format,)):
        others = ", ".join(f for f in FORMATS if f != "ndjson")
        raise common.UsageError("merge writes a report, not the messages: --format ndjson is "
                                f"not available (choose from {others})")


def load_report(path: str, names: list[str]) -> Summary:
    """One worker's JSON report as a Summary; any problem is one line (UsageError)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise common.UsageError(f"{path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise common.UsageError(f"{path}: not a JSON report ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or "format_version" not in data or "totals" not in data:
        raise common.UsageError(f"{path}: not a wazo-bus-validator JSON report "
                                "(write reports with --format json)")
    if data["format_version"] != FORMAT_VERSION:
        raise common.UsageError(f"{path}: report format {data['format_version']!r}, this tool "
                                f"merges format {FORMAT_VERSION}")
    try:
        coverage = data["coverage"]
        documented = set(coverage["documented_seen"]) | set(coverage["documented_not_seen"])
        summary = Summary.from_dict(data, names)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise common.UsageError(f"{path}: incomplete report "
                                f"({type(exc).__name__}: {exc})") from None
    if documented != set(names):
        raise common.UsageError(f"{path}: written with another catalogue (give merge the "
                                "workers' --catalogue)")
    return summary


def _agree(parts: list[tuple[str, Summary]], what: str, value_of) -> object:
    values = {}
    for path, s in parts:
        values.setdefault(value_of(s), path)
    if len(values) > 1:
        (a, pa), (b, pb) = list(values.items())[:2]
        raise common.UsageError(f"{pb}: {what} {b!r} differs from {pa}'s {a!r}: these reports "
                                "do not come from one run")
    return next(iter(values))


def _identity(s: Summary) -> tuple:
    return (s.started_at, s.ended_at, s.source, s.messages, json.dumps(s.run, sort_keys=True))


def _reject_duplicates(parts: list[tuple[str, Summary]]) -> None:
    seen: dict = {}
    for path, s in parts:
        key = _identity(s)
        if key in seen:
            raise common.UsageError(f"{path} is the same report as {seen[key]}: its messages "
                                    "would be counted twice")
        seen[key] = path


def _gate(args, parts, names: list[str]) -> Gate:
    fail_on = args.fail_on or _agree(parts, "gate --fail-on", lambda s: s.gate.fail_on)
    unknown = [n for n in args.require if n not in names]
    if unknown:
        raise common.UsageError(f"--require {unknown[0]}: not an event of the catalogue")
    require: list[str] = []
    for name in [n for _, s in parts for n in s.gate.require] + list(args.require):
        if name not in require:
            require.append(name)
    return Gate(fail_on=fail_on, require=tuple(require))


def merge_reports(args) -> Summary:
    names = common.load(args).all_names()
    parts = [(path, load_report(path, names)) for path in args.reports]
    version = _agree(parts, "Wazo version", lambda s: s.wazo_version)
    if args.wazo_version and args.wazo_version != version:
        raise common.UsageError(f"--wazo-version {args.wazo_version}: the reports checked "
                                f"against {version}")
    _reject_duplicates(parts)
    gate = _gate(args, parts, names)
    workers = [dict({k: s.run[k] for k in WORKER_FACTS if k in s.run}, report=path,
                    messages=s.messages) for path, s in parts]
    sources = list(dict.fromkeys(s.source for _, s in parts))
    merged = parts[0][1]
    for _, part in parts[1:]:
        merged.merge(part)
    merged.gate = gate
    merged.source = sources[0] if len(sources) == 1 else "; ".join(sources)
    merged.run["workers"] = workers
    return merged


def run(args) -> int:
    _refuse_unmergeable_options(args)
    common.check_output_writable(common.report_path(args))
    merged = merge_reports(args)
    common.emit_reports(args, merged)
    return merged.exit_code
