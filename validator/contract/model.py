"""A neutral contract of the bus, which both the catalogue and a capture can be turned into.

Per event name: the routing-key and ACL templates, the version it appeared in, and its data
fields with their JSON types, whether every message carries them, and their value set.
Templates are written with the data path a placeholder's word comes from, relative to
`data` (`config.users.{user_uuid}.forwards.busy.updated`, `chat.message.{to.0}.{to.1}`), so
the catalogue's placeholder names and a capture's inferred ones compare; `{@name}` is the
event name (the AMI family), `{*}` a word that varies with nothing in the data, and
`{a|b}` a word two paths always carried (a capture cannot tell which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..jsonvalue import json_type  # noqa: F401 - the contract modules import it from here

DECLARED = "catalogue"
INFERRED = "capture"
NAME_WORD = "@name"
ANY_WORD = "*"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass
class FieldContract:
    path: str                      # "data.user_uuid", "data.message.folder.type", "data.tags[]"
    types: tuple[str, ...]         # sorted JSON types; () when the schema says nothing
    required: bool | None          # in every message; None for array items
    enum: tuple | None = None      # the declared enum, or a small set of values seen
    presence: float | None = None  # inferred: the fraction of the event's messages with it
    seen: int | None = None        # inferred: how many messages carried it
    opaque: bool = False           # an object whose keys are data (a map), not fields

    def to_json(self) -> dict:
        out = {"path": self.path, "types": list(self.types), "required": self.required}
        if self.enum is not None:
            out["enum"] = list(self.enum)
        if self.presence is not None:
            out["presence"] = round(self.presence, 4)
            out["seen"] = self.seen
        if self.opaque:
            out["opaque"] = True
        return out


@dataclass
class EventContract:
    name: str
    routing_keys: tuple[str, ...]
    acls: tuple[str | None, ...]      # None: no ACL (absent, or null)
    fields: dict[str, FieldContract] = field(default_factory=dict)
    since: str | None = None
    name_pattern: str | None = None   # an open family: the names it stands for (a regex)
    messages: int | None = None       # inferred: how many were seen
    changes: tuple[tuple[str, str], ...] = ()  # the catalogue's changelog: (version, text)

    def to_json(self) -> dict:
        out = {"name": self.name, "routing_keys": list(self.routing_keys),
               "acls": list(self.acls), "since": self.since}
        if self.name_pattern is not None:
            out["name_pattern"] = self.name_pattern
        if self.messages is not None:
            out["messages"] = self.messages
        if self.changes:
            out["changes"] = [{"version": v, "text": t} for v, t in self.changes]
        out["fields"] = [f.to_json() for f in self.fields.values()]
        return out


@dataclass
class Contract:
    source: str                       # what it was built from, for the reports
    kind: str                         # DECLARED or INFERRED
    events: dict[str, EventContract]
    version: str | None = None        # the Wazo version of a catalogue contract
    messages: int | None = None       # inferred: messages read
    skipped: int = 0                  # inferred: lines or bodies that carried no event

    @property
    def inferred(self) -> bool:
        return self.kind == INFERRED

    def family_for(self, name: str) -> EventContract | None:
        """The open family whose name pattern `name` matches, if any."""
        for event in self.events.values():
            if event.name_pattern is not None and re.fullmatch(event.name_pattern, name):
                return event
        return None

    def to_json(self) -> dict:
        return {"source": self.source, "kind": self.kind, "version": self.version,
                "messages": self.messages, "skipped": self.skipped,
                "events": [e.to_json() for _, e in sorted(self.events.items())]}


# -- templates ------------------------------------------------------------------------------

def split_words(template: str) -> list[str]:
    """'a.{to.0}.b' -> ['a', '{to.0}', 'b']: dots inside a placeholder do not split."""
    out, start, depth = [], 0, 0
    for i, char in enumerate(template):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == "." and depth == 0:
            out.append(template[start:i])
            start = i + 1
    out.append(template[start:])
    return out


def words(template: str) -> list:
    """'a.{x|y}.b' -> ['a', frozenset({'x', 'y'}), 'b']: literal words, or placeholder paths."""
    out = []
    for word in split_words(template):
        match = _PLACEHOLDER.fullmatch(word)
        out.append(frozenset(match.group(1).split("|")) if match else word)
    return out


def placeholder(paths) -> str:
    return "{" + "|".join(sorted(paths)) + "}"


def templates_compatible(a: str | None, b: str | None) -> bool:
    """Same literal words, and placeholder words that share a path (`{*}` only matches
    `{*}`: a word that varies with nothing in the data is not a documented placeholder)."""
    if a is None or b is None:
        return a is b
    wa, wb = words(a), words(b)
    if len(wa) != len(wb):
        return False
    for x, y in zip(wa, wb):
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                return False
        elif not x & y:
            return False
    return True


# -- JSON types -----------------------------------------------------------------------------



def covers(types: tuple[str, ...], t: str) -> bool:
    """Whether a field of `types` admits values of type t (a number admits an integer)."""
    return t in types or (t == "integer" and "number" in types)
