"""--redact: keep personal data (caller names and numbers, chat messages, form contents,
AMI headers) out of reports and records.

The catalogue names each event's personal-data fields (`personal_data`, `*` for every key
or item). Their values are replaced by placeholders of the same JSON type, so a redacted
sample still shows the message's shape. What the catalogue cannot vouch for is redacted
whole: every data value of an undocumented event, and a body that is not a JSON object is
replaced by its length. Finding messages that would quote a personal value are replaced by
the code's plain summary.
"""

from __future__ import annotations

import json

import orjson

from .catalogue import Catalogue, split_path
from .codes import BY_CODE

TEXT = "<redacted>"


def placeholder(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    if isinstance(value, str):
        return TEXT
    if isinstance(value, list):
        return [placeholder(v) for v in value]
    if isinstance(value, dict):
        return {k: placeholder(v) for k, v in value.items()}
    return value  # null stays null


class Redactor:
    def __init__(self, catalogue: Catalogue):
        self.paths: dict[str, list[tuple]] = {}
        self.family_paths: list[tuple] = []  # (name regex holder, paths) for open families
        from .check import Checker  # compiled name resolution, same as the checker's
        self._checker = Checker(catalogue)
        self._by_spec = {id(spec): [split_path(p) for p in spec.personal_data]
                         for spec in catalogue.events}

    def _personal_paths(self, name) -> list[tuple] | None:
        """The paths for a documented name; None when the name is not documented."""
        if not isinstance(name, str):
            return None
        hit = self._checker.resolve(name)
        if hit is None:
            return None
        return self._by_spec[id(hit[0].spec)]

    def redact_message(self, msg: dict) -> dict:
        paths = self._personal_paths(msg.get("name"))
        out = dict(msg)
        if "data" not in out:
            return out
        if paths is None:
            out["data"] = placeholder(out["data"])
            return out
        out["data"] = _copy(out["data"])
        for path in paths:
            _replace(out, path)
        return out

    def redact_body(self, body: bytes) -> bytes:
        """A redacted body for records; not an object: a placeholder string."""
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            return json.dumps(f"<{len(body)} bytes not shown: not JSON>").encode()
        if not isinstance(msg, dict):
            return orjson.dumps(placeholder(msg))
        return orjson.dumps(self.redact_message(msg))

    def sample_text(self, body: bytes, limit: int = 2000) -> str:
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            return f"<{len(body)} bytes, not JSON: not shown with --redact>"
        if not isinstance(msg, dict):
            text = orjson.dumps(placeholder(msg)).decode()
        else:
            text = orjson.dumps(self.redact_message(msg), option=orjson.OPT_INDENT_2).decode()
        return text if len(text) <= limit else text[:limit] + "..."

    def is_personal(self, name, json_path: str) -> bool:
        """Does a finding at this JSON path ($.data.x) sit on personal data?"""
        if not json_path.startswith("$.data"):
            return False
        paths = self._personal_paths(name)
        if paths is None:
            return True
        from .generate.schemas import GenerationError, parse_json_path  # the one path parser
        try:
            parts = parse_json_path(json_path)
        except GenerationError:
            return True  # a path this tool cannot read: redact, to be safe
        return any(_covers(p, parts) for p in paths)

    def finding_dict(self, name, finding: dict) -> dict:
        if self.is_personal(name, finding["path"]):
            return dict(finding, message=BY_CODE[finding["code"]].summary + " (value redacted)")
        return finding


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _replace(node, path: tuple) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        keys = list(node) if isinstance(node, dict) else range(len(node)) \
            if isinstance(node, list) else []
    else:
        keys = [head] if (isinstance(node, dict) and head in node) or (
            isinstance(node, list) and isinstance(head, int) and 0 <= head < len(node)) else []
    for key in keys:
        if rest:
            _replace(node[key], rest)
        else:
            node[key] = placeholder(node[key])


def _covers(personal: tuple, parts: tuple) -> bool:
    """A finding under (or on) a personal path, or on its parent object, is personal."""
    for i, p in enumerate(personal):
        if i >= len(parts):
            return True  # the finding is on an ancestor holding the personal value
        if p != "*" and p != parts[i]:
            return False
    return True
