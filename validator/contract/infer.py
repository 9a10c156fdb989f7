"""A capture -> a Contract: what the traffic shows, per event name.

Routing keys and ACLs become templates word by word: a word that equals a data value in
every message becomes that value's path (`{user_uuid}`), one that varies with nothing in
the data `{*}`, any other stays literal. Each data path gets the JSON types seen, the
fraction of messages carrying it, and its values when they are few and repeat. Memory is
bounded by the number of distinct names and paths, not by the capture's length.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from ..capture import CaptureError, CaptureFileError, CaptureItem, read_capture
from . import ContractError
from .model import (ANY_WORD, INFERRED, NAME_WORD, Contract, EventContract, FieldContract,
                    json_type, placeholder, split_words)

SMALL_SET = 10          # at most this many distinct values make a value set,
REPEATS = 3             # each seen this many times on average (else they are just values)
MAX_VALUE_CHARS = 64    # longer strings are never part of a value set
MAX_DEPTH = 8
MAX_FIELDS = 500        # per event: a hostile capture cannot grow memory without bound
MAX_EVENTS = 10_000
# Keys that look like field names; any other key (a channel id, a phone number) makes its
# object a map, recorded as one opaque field.
FIELD_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


class _Template:
    """One routing-key (or ACL) shape of an event: per word, the first word seen, whether
    it varied, and the data paths whose value equalled it in every message so far."""

    def __init__(self, parts: list[str], by_value: dict[str, set[str]]):
        self.first = parts
        self.varies = [False] * len(parts)
        self.paths = [set(by_value.get(w, ())) for w in parts]

    def add(self, parts: list[str], by_value: dict[str, set[str]]) -> None:
        for i, word in enumerate(parts):
            if word != self.first[i]:
                self.varies[i] = True
            if self.paths[i]:
                self.paths[i] &= by_value.get(word, set())

    def template(self) -> str:
        out = []
        for i, word in enumerate(self.first):
            if self.paths[i]:
                out.append(placeholder(self.paths[i]))
            else:
                out.append(placeholder([ANY_WORD]) if self.varies[i] else word)
        return ".".join(out)


class _Field:
    __slots__ = ("seen", "types", "values", "opaque")

    def __init__(self):
        self.seen = 0
        self.types: set[str] = set()
        self.values: set | None = set()
        self.opaque = False

    def add_value(self, value) -> None:
        if self.values is None:
            return
        if isinstance(value, (list, dict)) or (isinstance(value, str)
                                               and len(value) > MAX_VALUE_CHARS):
            self.values = None
            return
        self.values.add(value)
        if len(self.values) > SMALL_SET:
            self.values = None


class _Event:
    def __init__(self):
        self.messages = 0
        self.fields: dict[str, _Field] = {}
        self.routing_keys: dict[int, _Template] = {}
        self.acls: dict[int, _Template] = {}
        self.no_acl = False

    def add(self, routing_key: str | None, msg: dict) -> None:
        self.messages += 1
        data_present = "data" in msg
        by_value = _values_by_word(msg.get("data")) if data_present else {}
        visited: set[str] = set()
        if data_present:
            self._walk(msg["data"], "data", visited, 0)
        for path in visited:
            self.fields[path].seen += 1
        if routing_key is not None:
            _add_template(self.routing_keys, routing_key, by_value)
        acl = msg.get("required_acl")
        if isinstance(acl, str):
            _add_template(self.acls, acl, by_value)
        else:
            self.no_acl = True

    def _walk(self, value, path: str, visited: set, depth: int) -> None:
        stats = self.fields.get(path)
        if stats is None:
            if len(self.fields) >= MAX_FIELDS:
                return
            stats = self.fields[path] = _Field()
        visited.add(path)
        stats.types.add(json_type(value))
        stats.add_value(value)
        if depth >= MAX_DEPTH:
            return
        if isinstance(value, dict):
            if all(FIELD_KEY.match(k) for k in value):
                for key, sub in value.items():
                    self._walk(sub, f"{path}.{key}", visited, depth + 1)
            else:
                stats.opaque = True
        elif isinstance(value, list):
            for item in value:
                self._walk(item, f"{path}[]", visited, depth + 1)

    def contract(self, name: str) -> EventContract:
        maps = self._maps()
        fields = {}
        for path, stats in sorted(self.fields.items(), key=lambda kv: _path_order(kv[0])):
            if any(path.startswith(m) and path[len(m)] in ".[" for m in maps if m != path):
                continue  # inside a map: its keys are data
            in_array = "[]" in path
            values = stats.values
            small = values is not None and values and REPEATS * len(values) <= stats.seen
            fields[path] = FieldContract(
                path, tuple(sorted(stats.types)),
                None if in_array else stats.seen == self.messages,
                tuple(sorted(values, key=_value_order)) if small else None,
                presence=None if in_array else stats.seen / self.messages,
                seen=None if in_array else stats.seen, opaque=path in maps)
        acls = sorted(t.template() for t in self.acls.values())
        return EventContract(
            name, tuple(sorted({t.template() for t in self.routing_keys.values()})),
            tuple(([None] if self.no_acl else []) + sorted(set(acls))), fields,
            messages=self.messages)

    def _maps(self) -> set[str]:
        """Objects whose keys are data: one had a key no field has, or they have many keys,
        none of them in most occurrences (a call's talking_to, a call form's variables)."""
        children: dict[str, list[int]] = {}
        for path, stats in self.fields.items():
            parent, dot, key = path.rpartition(".")
            if dot and "[" not in key:
                children.setdefault(parent, []).append(stats.seen)
        maps = {p for p, s in self.fields.items() if s.opaque}
        for parent, seen in children.items():
            total = self.fields[parent].seen if parent in self.fields else 0
            if len(seen) > SMALL_SET and 2 * max(seen) <= total:
                maps.add(parent)
        return maps

def _path_order(path: str):
    return path.count(".") + path.count("[]"), path


def _value_order(value):
    return json_type(value), str(value)


def _add_template(shapes: dict[int, _Template], text: str, by_value) -> None:
    parts = text.split(".")
    shape = shapes.get(len(parts))
    if shape is None:
        shapes[len(parts)] = _Template(parts, by_value)
    else:
        shape.add(parts, by_value)


def _values_by_word(data) -> dict[str, set[str]]:
    """Every scalar of the data as the publishers render it in a template (str(); None is
    "None"), to the paths (relative to data) carrying it."""
    out: dict[str, set[str]] = {}

    def walk(value, path, depth):
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = ((str(i), v) for i, v in enumerate(value))
        else:
            if path:
                word = value if isinstance(value, str) else str(value)
                out.setdefault(word, set()).add(path)
            return
        if depth < MAX_DEPTH:
            for key, sub in items:
                walk(sub, f"{path}.{key}" if path else key, depth + 1)

    walk(data, "", 0)
    return out


def fold_families(contract: Contract, families: list[EventContract], known: set[str]
                  ) -> Contract:
    """Gather the names of an inferred contract that an open family of the catalogue stands
    for (the AMI events), other than `known` names, into one entry under the family's key:
    the event name in its templates becomes `{@name}`, its data one opaque object."""
    events = dict(contract.events)
    for family in families:
        members = [e for n, e in contract.events.items()
                   if n not in known and re.fullmatch(family.name_pattern, n)]
        if not members:
            continue
        for member in members:
            del events[member.name]
        messages = sum(m.messages or 0 for m in members)
        types = sorted({t for m in members if "data" in m.fields for t in m.fields["data"].types})
        seen = sum(m.fields["data"].seen or 0 for m in members if "data" in m.fields)
        data = FieldContract("data", tuple(types), seen == messages, presence=seen / messages,
                             seen=seen, opaque=True)
        events[family.name] = EventContract(
            family.name, tuple(sorted({_name_word(t, m.name) for m in members
                                       for t in m.routing_keys})),
            tuple(sorted({_name_word(t, m.name) for m in members for t in m.acls},
                         key=lambda t: (t is not None, t or ""))),
            {"data": data}, name_pattern=family.name_pattern, messages=messages)
    return Contract(contract.source, contract.kind, dict(sorted(events.items())),
                    contract.version, contract.messages, contract.skipped)


def _name_word(template: str | None, name: str) -> str | None:
    if template is None:
        return None
    return ".".join(placeholder([NAME_WORD]) if w == name else w for w in split_words(template))


def infer_contract(path: str | Path) -> Contract:
    """Read a capture file (JSONL, validator/capture.py) and infer its contract."""
    events: dict[str, _Event] = {}
    messages = skipped = 0
    try:
        for item in read_capture(path):
            if isinstance(item, CaptureError):
                skipped += 1
                continue
            if not isinstance(item, CaptureItem):
                continue  # metadata lines
            msg = _message(item.body)
            name = msg.get("name") if msg is not None else None
            if not isinstance(name, str) or (name not in events and len(events) >= MAX_EVENTS):
                skipped += 1
                continue
            messages += 1
            events.setdefault(name, _Event()).add(item.routing_key, msg)
    except CaptureFileError as exc:
        raise ContractError(str(exc)) from None
    if not messages:
        raise ContractError(f"{path}: no event could be read from this capture "
                            f"({skipped} unreadable lines or bodies)")
    return Contract(f"capture {Path(path).name}", INFERRED,
                    {name: e.contract(name) for name, e in sorted(events.items())},
                    messages=messages, skipped=skipped)


def _message(body: bytes) -> dict | None:
    try:
        msg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return msg if isinstance(msg, dict) else None
