"""Text for the HTML report: escaping that survives hostile input, and message bodies
pretty-printed with the findings' JSON paths highlighted.

Everything the report shows from a message or a run goes through `esc` (element text) or
`attr` (attribute values): markup characters become references and characters that are
neither valid XML nor clean HTML (C0/C1 controls, lone surrogates, U+FFFE/U+FFFF) become a
visible \\uXXXX, so the file stays well formed and UTF-8 encodable whatever a body holds.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime

from ..findings import json_path

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


TEXT_LIMIT = 300  # any one name, key, path or message: a hostile 1 MB name stays small


def _visible(match: re.Match) -> str:
    return f'<span class="ctl">\\u{ord(match.group()):04x}</span>'


def _clip(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit:,} more characters]"


def esc(value, limit: int | None = TEXT_LIMIT) -> str:
    """Element text: clipped, markup escaped, unsafe characters shown as \\uXXXX."""
    return _UNSAFE.sub(_visible, html.escape(_clip(str(value), limit), quote=False))


def attr(value, limit: int | None = TEXT_LIMIT) -> str:
    """An attribute value (to go between double quotes)."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}",
                       html.escape(_clip(str(value), limit), quote=True))


def utc(ts, *, seconds: bool = True) -> str:
    if not isinstance(ts, (int, float)):
        return ""
    try:
        moment = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return str(ts)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC"


def count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# -- bodies ------------------------------------------------------------------------------

def _child(path: str, key) -> str:
    return path + json_path([key])[1:]


def _paths(value, path: str = "$", out: set | None = None) -> set:
    out = set() if out is None else out
    out.add(path)
    if isinstance(value, dict):
        for k, v in value.items():
            _paths(v, _child(path, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _paths(v, _child(path, i), out)
    return out


def _anchor(path: str, existing: set) -> tuple[str, bool]:
    """The node a finding path points at: itself, or its deepest existing ancestor."""
    if path in existing:
        return path, True
    best = "$"
    for p in existing:
        if len(p) > len(best) and path.startswith(p) and path[len(p)] in ".[":
            best = p
    return best, False


class _Printer:
    """JSON pretty-printed (two-space indent) as HTML. A node a finding points at is wrapped
    in <mark>; a finding on an absent member gets a marked line inside its nearest
    existing container, where the member would be."""

    def __init__(self, marks: dict[str, list[str]], absent: dict[str, list[tuple[str, str]]],
                 current: str | None):
        self.marks = marks
        self.absent = absent
        self.current = current
        self.out: list[str] = []

    def _cls(self, codes: list[str]) -> str:
        """'hit', or 'hit other' when the section is about another code (drawn lighter)."""
        other = self.current is not None and not any(c.startswith(self.current) for c in codes)
        return "hit other" if other else "hit"

    def _absent_lines(self, path: str, indent: str) -> None:
        for code, rest in self.absent.get(path, []):
            self.out.append(f'{indent}  <mark class="{self._cls([code])} absent" '
                            f'data-why="{attr(code)}">{esc(rest)} is absent</mark>\n')

    def node(self, value, path: str, indent: str, prefix: str = "") -> None:
        why = list(self.marks.get(path, []))
        container = isinstance(value, (dict, list)) and bool(value)
        if not container:  # nowhere to put a line: the absent member marks the value
            why += [f"{code} {rest} absent" for code, rest in self.absent.get(path, [])]
        if why:
            self.out.append(f'<mark class="{self._cls(why)}" data-why="{attr(" ".join(why))}">')
        self.out.append(prefix)
        if isinstance(value, dict) and value:
            self.out.append("{\n")
            self._absent_lines(path, indent)
            items = list(value.items())
            for n, (k, v) in enumerate(items):
                key = esc(json.dumps(k, ensure_ascii=False), None) + ": "
                self.out.append(indent + "  ")
                self.node(v, _child(path, k), indent + "  ", key)
                self.out.append(",\n" if n < len(items) - 1 else "\n")
            self.out.append(indent + "}")
        elif isinstance(value, list) and value:
            self.out.append("[\n")
            self._absent_lines(path, indent)
            for n, v in enumerate(value):
                self.out.append(indent + "  ")
                self.node(v, _child(path, n), indent + "  ")
                self.out.append(",\n" if n < len(value) - 1 else "\n")
            self.out.append(indent + "]")
        else:
            self.out.append(esc(json.dumps(value, ensure_ascii=False), None))
        if why:
            self.out.append("</mark>")


def body_html(text: str, findings: list[dict], current: str | None = None
              ) -> tuple[str, list[str]]:
    """(the body as HTML for a <pre>, notes on paths that could not be highlighted).

    A body that is not whole JSON (cut at the sample limit, redacted as a length, not
    JSON at all) is shown as it is, and the notes say which paths it could not mark.
    """
    # Only JSON paths point into the body; routing_key or properties.* do not.
    in_body = [f for f in findings if str(f.get("path")).startswith(("$.", "$["))
               or f.get("path") == "$"]
    unmarked = [f"{f['code']} at {f['path']}" for f in in_body if f["path"] != "$"]
    try:
        value = json.loads(text)
        existing = _paths(value)
    except (ValueError, RecursionError):
        return esc(text, None), unmarked
    marks: dict[str, list[str]] = {}
    absent: dict[str, list[tuple[str, str]]] = {}
    for f in in_body:
        path = f["path"]
        at, exact = _anchor(path, existing)
        if exact:
            marks.setdefault(at, []).append(f["code"])
        else:
            absent.setdefault(at, []).append((f["code"], path[len(at):]))
    printer = _Printer(marks, absent, current)
    try:
        printer.node(value, "$", "")
    except RecursionError:
        return esc(text, None), unmarked
    return "".join(printer.out), []
