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
                    json_type, placeholder)

# A minority of messages off the usual shape (faults: `check` reports them one by one) does
# not change the contract this much of an event's traffic follows.
NOISE = 0.05
SMALL_SET = 10          # at most this many distinct values make a value set,
REPEATS = 3             # each seen this many times on average (else they are just values)
MAX_VALUE_CHARS = 64    # longer strings are never part of a value set
MAX_DEPTH = 8
MAX_FIELDS = 500        # per event: a hostile capture cannot grow memory without bound
MAX_EVENTS = 10_000
# Keys that look like field names; any other key (a channel id, a phone number) makes its
# object a map, recorded as one opaque field.
# The envelope keys the contract holds otherwise: the event's key, its ACLs, its data.
ENVELOPE_OWN = ("name", "required_acl", "data")
FIELD_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


class _Template:
    """One routing-key (or ACL) shape of an event (its number of words): per word, how
    often each word and each data path carrying it occurred."""

    def __init__(self, size: int):
        self.count = 0
        self.words: list[dict[str, int]] = [{} for _ in range(size)]
        self.paths: list[dict[str, int]] = [{} for _ in range(size)]

    def add(self, parts: list[str], by_value: dict[str, set[str]]) -> None:
        self.count += 1
        for i, word in enumerate(parts):
            _count(self.words[i], word)
            for path in by_value.get(word, ()):
                _count(self.paths[i], path)

    def template(self) -> str:
        """Per word: the paths that carried it in all but a few messages, else the word
        itself if nearly always the same, else `{*}`."""
        least = self.count * (1 - NOISE)
        out = []
        for words, paths in zip(self.words, self.paths):
            usual = [p for p, n in paths.items() if n >= least]
            if usual:
                out.append(placeholder(usual))
                continue
            word, n = max(words.items(), key=lambda kv: (kv[1], kv[0]))
            out.append(word if n >= least else placeholder([ANY_WORD]))
        return ".".join(out)


def _count(counts: dict, key, cap: int = 64) -> None:
    if key in counts:
        counts[key] += 1
    elif len(counts) < cap:  # bounded: a word or path first seen late cannot be usual
        counts[key] = 1


class _Field:
    __slots__ = ("seen", "types", "values", "opaque")

    def __init__(self):
        self.seen = 0
        self.types: dict[str, int] = {}
        # (JSON type, value) -> count: True and 1 are different values here.
        self.values: dict[tuple, int] | None = {}
        self.opaque = False

    def add_value(self, value) -> None:
        if self.values is None:
            return
        if isinstance(value, (list, dict)) or (isinstance(value, str)
                                               and len(value) > MAX_VALUE_CHARS):
            self.values = None
            return
        key = (json_type(value), value)
        self.values[key] = self.values.get(key, 0) + 1
        if len(self.values) > 2 * SMALL_SET:  # room for a few strays besides the set
            self.values = None

    def value_set(self) -> tuple | None:
        """The values, when few (strays left out) and each seen several times on average."""
        if not self.values:
            return None
        total = sum(self.values.values())
        usual = sorted((k for k, n in self.values.items() if n > total * NOISE),
                       key=lambda k: (k[0], str(k[1])))
        if not usual or len(usual) > SMALL_SET or REPEATS * len(usual) > total:
            return None
        return tuple(v for _, v in usual)


class _Event:
    def __init__(self, family: bool = False):
        self.family = family  # an open family's names: the name word is `{@name}`
        self.messages = 0
        self.fields: dict[str, _Field] = {}
        self.routing_keys: dict[int, _Template] = {}
        self.acls: dict[int, _Template] = {}
        self.no_acl = 0

    def add(self, routing_key: str | None, msg: dict) -> None:
        self.messages += 1
        data_present = "data" in msg
        by_value = _values_by_word(msg.get("data")) if data_present else {}
        visited: set[str] = set()
        for key, value in msg.items():
            if key not in ENVELOPE_OWN:  # origin_uuid, and any other envelope key: one field
                self._walk(value, key, visited, MAX_DEPTH)
        if data_present:
            # A family's names each have their own keys: its data is one opaque object.
            self._walk(msg["data"], "data", visited, MAX_DEPTH if self.family else 0)
        for path in visited:
            self.fields[path].seen += 1
        name = msg["name"] if self.family else None
        if routing_key is not None:
            _add_template(self.routing_keys, _name_word(routing_key, name), by_value)
        acl = msg.get("required_acl")
        if isinstance(acl, str):
            _add_template(self.acls, _name_word(acl, name), by_value)
        else:
            self.no_acl += 1

    def _walk(self, value, path: str, visited: set, depth: int) -> None:
        stats = self.fields.get(path)
        if stats is None:
            if len(self.fields) >= MAX_FIELDS:
                return
            stats = self.fields[path] = _Field()
        visited.add(path)
        t = json_type(value)
        stats.types[t] = stats.types.get(t, 0) + 1
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
        fields: dict[str, FieldContract] = {}
        for path, stats in sorted(self.fields.items(), key=lambda kv: _path_order(kv[0])):
            parent, container = _parent(path)
            if parent is not None and (parent not in fields or parent in maps
                                       or container not in fields[parent].types):
                continue  # inside a map (its keys are data), or under a type seen rarely
            fields[path] = self._field(path, stats, path in maps or self.family)
        no_acl = [None] if self.no_acl > self.messages * NOISE else []
        return EventContract(
            name, tuple(_usual(self.routing_keys, self.messages)),
            tuple(no_acl + _usual(self.acls, self.messages)), fields, messages=self.messages)

    def _field(self, path: str, stats: _Field, opaque: bool) -> FieldContract:
        in_array = "[]" in path
        total = sum(stats.types.values())
        return FieldContract(
            path, tuple(sorted(t for t, n in stats.types.items() if n > NOISE * total)),
            None if in_array else stats.seen >= self.messages * (1 - NOISE),
            stats.value_set(),
            presence=None if in_array else stats.seen / self.messages,
            seen=None if in_array else stats.seen, opaque=opaque)

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


def _parent(path: str) -> tuple[str | None, str]:
    """'data.a.b' -> ('data.a', 'object'); 'data.a[]' -> ('data.a', 'array')."""
    if path.endswith("[]"):
        return path[:-2], "array"
    parent, dot, _ = path.rpartition(".")
    return (parent, "object") if dot else (None, "")


def _path_order(path: str):
    return path.count(".") + path.count("[]"), path


def _add_template(shapes: dict[int, _Template], text: str, by_value) -> None:
    parts = text.split(".")
    shape = shapes.get(len(parts))
    if shape is None:
        if len(shapes) >= SMALL_SET:
            return
        shape = shapes[len(parts)] = _Template(len(parts))
    shape.add(parts, by_value)


def _usual(shapes: dict[int, _Template], messages: int) -> list[str]:
    """The templates of the shapes more than a few of the event's messages have."""
    return sorted({t.template() for t in shapes.values() if t.count > messages * NOISE})



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


def _name_word(text: str, name: str | None) -> str:
    if name is None:
        return text
    return ".".join(placeholder([NAME_WORD]) if w == name else w for w in text.split("."))


def infer_contract(path: str | Path, families: list[EventContract] = (),
                   known: set[str] = frozenset()) -> Contract:
    """Read a capture file (JSONL, validator/capture.py) and infer its contract. The names
    an open family of the catalogue stands for (the AMI events), other than `known` names,
    are gathered under the family's key, so that two captures with different AMI events do
    not differ by them."""
    events: dict[str, _Event] = {}
    family_of: dict[str, str | None] = {}
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
            if not isinstance(name, str):
                skipped += 1
                continue
            if name not in family_of and len(family_of) < MAX_EVENTS:
                family_of[name] = _family(name, families, known)
            key = family_of.get(name) or name
            event = events.get(key)
            if event is None:
                if len(events) >= MAX_EVENTS:
                    skipped += 1
                    continue
                event = events[key] = _Event(family=key != name)
            messages += 1
            event.add(item.routing_key, msg)
    except CaptureFileError as exc:
        raise ContractError(str(exc)) from None
    if not messages:
        raise ContractError(f"{path}: no event could be read from this capture "
                            f"({skipped} unreadable lines or bodies)")
    patterns = {f.name: f.name_pattern for f in families}
    out = {}
    for key, event in sorted(events.items()):
        out[key] = event.contract(key)
        out[key].name_pattern = patterns.get(key) if event.family else None
    return Contract(f"capture {Path(path).name}", INFERRED, out, messages=messages,
                    skipped=skipped)


def _family(name: str, families, known) -> str | None:
    if name in known:
        return None
    return next((f.name for f in families if re.fullmatch(f.name_pattern, name)), None)


def _message(body: bytes) -> dict | None:
    try:
        msg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return msg if isinstance(msg, dict) else None
