"""One line per input message, written as it is checked."""

from __future__ import annotations

import orjson


def line(result, where: int | None, summary=None) -> bytes:
    """`summary` supplies the (possibly redacted) finding dicts."""
    findings = summary.finding_dicts(result) if summary is not None else \
        [f.as_dict() for f in result.findings]
    return orjson.dumps({
        "line": where,
        "name": result.name,
        "routing_key": result.routing_key,
        "verdict": result.verdict,
        "findings": findings,
    }) + b"\n"


def input_error_line(where: int, message: str) -> bytes:
    return orjson.dumps({
        "line": where, "name": None, "routing_key": None, "verdict": "fail",
        "findings": [{"code": "X900", "severity": "error", "path": "$", "message": message,
                      "erratum": None}],
    }) + b"\n"
