"""What the checker produces: findings and one result per message."""

from __future__ import annotations

import re

import orjson

from .codes import BY_CODE, ERROR, INFO, WARNING
from .record import MutableRecord

OK, WARN, FAIL = "ok", "warn", "fail"
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


_PATHS: dict[tuple, str] = {}
_PATHS_LIMIT = 10_000  # paths repeat (the same fields fail again); hostile keys must not grow it


def json_path(parts) -> str:
    """Render a path like jsonschema's error.path as JSONPath: $.data.to[1]."""
    key = tuple(parts)
    text = _PATHS.get(key)
    if text is None:
        text = _render_path(key)
        if len(_PATHS) < _PATHS_LIMIT and len(text) <= 256:
            _PATHS[key] = text
    return text


def _render_path(parts) -> str:
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.match(part):
            out.append("." + part)
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


def show_value(value, limit: int = 120) -> str:
    """A value as a message quotes it: in JSON (null, true, "text"), clipped."""
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):  # not from JSON: say what it is all the same
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Finding(MutableRecord):
    # Not a dataclass: defining one costs ~1 ms of start-up (its methods are exec'd). A
    # finding is mutated (errata): compared and shown by its fields, not hashed.
    __slots__ = ("code", "severity", "path", "message", "erratum")
    __match_args__ = __slots__

    def __init__(self, code: str, severity: str, path: str, message: str,
                 erratum: str | None = None):
        self.code = code
        self.severity = severity
        self.path = path
        self.message = message
        self.erratum = erratum

    @classmethod
    def of(cls, code: str, path: str, message: str) -> Finding:
        return cls(code, BY_CODE[code].severity, path, message)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "erratum": self.erratum,
        }


def verdict_of(findings) -> str:
    verdict = OK
    for f in findings:
        if f.severity == ERROR:
            return FAIL
        if f.severity == WARNING:
            verdict = WARN
    return verdict


class MessageResult(MutableRecord):
    """The checker's answer for one message. `findings` is empty on the fast path."""

    __slots__ = ("name", "routing_key", "verdict", "findings")
    __match_args__ = __slots__

    def __init__(self, name: str | None, routing_key: str | None, verdict: str,
                 findings: tuple = ()):
        self.name = name
        self.routing_key = routing_key
        self.verdict = verdict
        self.findings = findings

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "routing_key": self.routing_key,
            "verdict": self.verdict,
            "findings": [f.as_dict() for f in self.findings],
        }


SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


def crash_result(routing_key, exc: BaseException) -> MessageResult:
    """What a message gets if the checker raises: a finding, never a lost message."""
    finding = Finding.of("X901", "$", f"{type(exc).__name__}: {str(exc)[:200]}")
    return MessageResult(None, routing_key, FAIL, (finding,))
