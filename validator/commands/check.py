"""`check [CAPTURE]`: check a recorded capture offline (default: the page's own examples)."""

from __future__ import annotations

import io
import sys

from ..capture import CaptureError, CaptureFileError, CaptureMeta, read_capture
from ..pages import page_examples_capture
from ..findings import crash_result
from ..reporters import ndjson
from . import common

BUILTIN = "page examples (built in)"

ORDER = 20


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="check a capture file (JSONL) offline",
        description="Check every message of a capture (one JSON object per line, see the "
                    "README). Without CAPTURE, checks the Wazo 17.08 page's own examples.")
    p.add_argument("capture", nargs="?", metavar="CAPTURE",
                   help="a capture file, or - for standard input (default: the page's examples)")
    common.add_report_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    checker = common.build_checker(args)
    if args.capture is None:
        source_name = BUILTIN
        stream = io.BytesIO(page_examples_capture(checker.catalogue, checker))
    elif args.capture == "-":
        source_name, stream = "stdin", sys.stdin.buffer
    else:
        source_name, stream = args.capture, args.capture
    summary = common.build_summary(args, checker, f"capture {source_name}")
    path = common.report_path(args)
    common.prepare_outputs(args)
    try:
        items = read_capture(stream)
        first = next(items, None)  # opens the file: a missing one is a usage error
    except CaptureFileError as exc:
        raise common.UsageError(str(exc)) from None

    nd_out = None
    if args.format == "ndjson":
        nd_out = common.StreamOut(path)
    stop_reason = "done"
    check = checker.check
    try:
        with common.signals_raise_interrupted():
            item = first
            while item is not None:
                if isinstance(item, CaptureMeta):
                    if item.facts.get("kind") == "end":
                        summary.run["recorded"] = {
                            k: item.facts.get(k) for k in
                            ("stop_reason", "may_have_lost", "lost_estimate", "gaps")}
                        if item.facts.get("may_have_lost"):
                            summary.run["may_have_lost"] = True
                            summary.run["lost_estimate"] = item.facts.get("lost_estimate")
                elif isinstance(item, CaptureError):
                    summary.add_input_error(item.line, item.message)
                    if nd_out:
                        nd_out.write(ndjson.input_error_line(item.line, item.message))
                else:
                    try:
                        result = check(item.routing_key, item.body, item.properties)
                    except Exception as exc:  # a checker bug must not lose the message
                        result = crash_result(item.routing_key, exc)
                    summary.add(result, item.body, where={"line": item.line})
                    if nd_out:
                        nd_out.write(ndjson.line(result, item.line, summary))
                item = next(items, None)
    except common.Interrupted as exc:
        stop_reason = f"signal:{exc.signame}"
    except CaptureFileError as exc:
        raise common.UsageError(str(exc)) from None
    finally:
        if nd_out is not None:
            nd_out.flush()
            if path:
                nd_out.close()
    summary.finish(stop_reason=stop_reason)
    common.emit_reports(args, summary)
    if summary.tested_nothing:
        sys.stderr.write(f"wazo-bus-validator: error: {source_name}: no message to check "
                         "(a run that checked nothing is not a pass)\n")
    return summary.exit_code
