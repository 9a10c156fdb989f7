"""Load specs/events.yaml: validate it against its meta-schema, check what a schema cannot
(placeholders bound, references resolve, errata name real events and codes), and return a
plain model. Every problem is a CatalogueError naming the entry and key, never a traceback.
A catalogue that passed is kept, as JSON, in the user's cache (validator/cache.py): the
next run with the same files neither imports yaml nor checks it again.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import NamedTuple

from . import cache
from .record import MutableRecord

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_CATALOGUE = PACKAGE_DIR.parent / "specs" / "events.yaml"
BUNDLED_CATALOGUE = PACKAGE_DIR / "_bundled" / "events.yaml"
META_SCHEMA_PATH = PACKAGE_DIR / "catalogue_schema.yaml"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
# What decides whether a catalogue passes, besides its own bytes: a cached verdict is one of
# these files as they are.
CHECKED_BY = (META_SCHEMA_PATH, PACKAGE_DIR / "catalogue.py", PACKAGE_DIR / "catalogue_checks.py",
              PACKAGE_DIR / "codes.py")
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class CatalogueError(Exception):
    """A broken catalogue: one line, naming the file, the entry and the key."""


def default_catalogue_path() -> Path:
    # A checkout (or editable install) reads specs/ itself; a wheel carries a copy.
    return REPO_CATALOGUE if REPO_CATALOGUE.exists() else BUNDLED_CATALOGUE


def parse_version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def placeholders(template: str | None) -> list[str]:
    return PLACEHOLDER.findall(template) if template else []


def split_path(path: str) -> tuple:
    """'data.to.1' -> ('data', 'to', 1): digits index arrays."""
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))


class NamePlaceholder(NamedTuple):  # never changed: cheaper to define at start-up than a dataclass
    """A placeholder of a family's name template: its values, or the pattern they match."""

    name: str
    values: tuple[str, ...] | None
    pattern: str | None
    description: str = ""


class Cover(NamedTuple):  # never changed: cheaper to define at start-up than a dataclass
    """What an erratum covers: a finding code, where and when it applies."""

    code: str
    path: str | None = None
    value: dict | bool | None = None
    when: dict | bool | None = None
    acl: tuple | None = None  # allowed required_acl values: templates over message paths, or None
    events: tuple[str, ...] | None = None


class Erratum(NamedTuple):  # never changed: cheaper to define at start-up than a dataclass
    """Where the shipped 17.08 code departs from its page, and the findings it explains."""

    id: str
    title: str
    description: str
    evidence: str
    events: tuple[str, ...]
    covers: list[Cover]


class EventSpec(MutableRecord):
    """One catalogue entry: an event, or a family of events sharing a name template."""

    # A plain class, not a dataclass: defining a dataclass cost ~3.5M instructions at every
    # start-up.
    __slots__ = ("index", "name", "name_template", "description", "routing_key",
                 "required_acl", "bindings", "data", "title", "since", "name_placeholders",
                 "personal_data", "changes", "example")

    def __init__(self, index: int, name: str | None, name_template: str | None,
                 description: str, routing_key: str, required_acl: str | None,
                 bindings: dict[str, str], data: dict | bool, title: str | None = None,
                 since: str | None = None,
                 name_placeholders: dict[str, NamePlaceholder] | None = None,
                 personal_data: list[str] | None = None, changes: list[dict] | None = None,
                 example: dict | None = None):
        self.index, self.name, self.name_template = index, name, name_template
        self.description, self.routing_key, self.required_acl = (description, routing_key,
                                                                 required_acl)
        self.bindings, self.data, self.title, self.since = bindings, data, title, since
        self.name_placeholders = {} if name_placeholders is None else name_placeholders
        self.personal_data = [] if personal_data is None else personal_data
        self.changes = [] if changes is None else changes
        self.example = example

    @property
    def key(self) -> str:
        return self.name or self.name_template

    @property
    def is_family(self) -> bool:
        return self.name is None

    @property
    def is_open_family(self) -> bool:
        """A family whose names are given by a pattern (the AMI events), not a value list."""
        return any(p.values is None for p in self.name_placeholders.values())

    def concrete_names(self) -> list[tuple[str, dict[str, str]]]:
        """Every (name, placeholder values) of a closed family; [(name, {})] for an event."""
        if self.name:
            return [(self.name, {})]
        if self.is_open_family:
            return []
        combos: list[dict[str, str]] = [{}]
        for ph in self.name_placeholders.values():
            combos = [dict(c, **{ph.name: v}) for c in combos for v in ph.values]
        return [(self.name_template.format(**c), c) for c in combos]

    def at_version(self, version: tuple[int, int]) -> dict:
        """routing_key, required_acl, bindings and data as they were at `version`."""
        view = {
            "routing_key": self.routing_key,
            "required_acl": self.required_acl,
            "bindings": self.bindings,
            "data": self.data,
        }
        # Newest change first, so the oldest `before` wins for old targets.
        for change in sorted(self.changes, key=lambda c: parse_version(c["version"]), reverse=True):
            if version < parse_version(change["version"]):
                view.update(change["before"])
        return view

    def introduced_after(self, version: tuple[int, int]) -> bool:
        return self.since is not None and version < parse_version(self.since)


class Catalogue(MutableRecord):
    """The whole catalogue (specs/events.yaml), checked."""

    __slots__ = ("path", "meta", "definitions", "events", "errata", "raw")

    def __init__(self, path: Path, meta: dict, definitions: dict, events: list[EventSpec],
                 errata: list[Erratum], raw: dict):
        self.path, self.meta, self.definitions = path, meta, definitions
        self.events, self.errata, self.raw = events, errata, raw

    @property
    def contract_version(self) -> str:
        return self.meta["contract_version"]

    @property
    def version_range(self) -> tuple[str, str]:
        return self.meta["versions"]["first"], self.meta["versions"]["last"]

    def all_names(self) -> list[str]:
        return [n for e in self.events for n, _ in e.concrete_names()]

    def event_for_name(self, name: str) -> EventSpec | None:
        for e in self.events:
            if any(n == name for n, _ in e.concrete_names()):
                return e
        return None

    def with_defs(self, schema, defs: dict | None = None):
        """A standalone copy of `schema` carrying the definitions its $refs use."""
        return schema_with_defs(copy.deepcopy(schema),
                                defs if defs is not None else self.definitions)


ENVELOPE_KEYS = ("name", "origin_uuid", "required_acl", "data")
REQUIRED_ENVELOPE_KEYS = ("name", "origin_uuid", "data")
_ENVELOPE_DESCRIPTIONS = {
    "name": "The event name.",
    "origin_uuid": "The UUID of the message's producer.",
    "required_acl": "The ACL xivo-websocketd requires to deliver it.",
    "data": "The event specific part.",
}
ACL_OPTIONAL, ACL_REQUIRED, ACL_ABSENT = "optional", "required", "absent"


def envelope_schema(data=None, *, name=None, acl: str = ACL_OPTIONAL, closed: bool = False,
                    described: bool = False) -> dict:
    """The message envelope as JSON Schema: the one place it is written. The checker's
    compiled schema (closed, strict data), schemas/envelope.json (described, any data) and
    each schemas/<event>.json (its name, ACL and data) are all built here. `uuid` is
    referenced as #/$defs/uuid: the caller supplies the definitions."""
    properties = {
        "name": name if name is not None else {"type": "string"},
        "origin_uuid": {"$ref": "#/$defs/uuid"},
        "required_acl": {"type": "string"} if acl == ACL_REQUIRED else {"type": ["string", "null"]},
        "data": data if data is not None else {},
    }
    if described:
        properties = {k: dict(v, description=_ENVELOPE_DESCRIPTIONS[k]) for k, v in properties.items()}
    schema = {
        "type": "object",
        "required": list(REQUIRED_ENVELOPE_KEYS) + (["required_acl"] if acl == ACL_REQUIRED else []),
        "properties": properties,
    }
    if closed:
        schema["additionalProperties"] = False
    if acl == ACL_ABSENT:
        # The page documents no ACL for this event: the key is absent.
        schema["not"] = {"required": ["required_acl"]}
    return schema


def _refs(node, definitions: dict, out: set) -> set:
    """The names of `definitions` that `node` references, not following them."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/"):]
                if name in definitions:
                    out.add(name)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return out


# id(definitions) -> (definitions, {name: the names its references reach, itself included}):
# a run asks for the definitions of ~70 schemas, over the same two dicts of definitions
# (which nothing changes once built), and walked them again for each.
_CLOSURES: dict[int, tuple[dict, dict[str, frozenset]]] = {}


def _closures(definitions: dict) -> dict[str, frozenset]:
    hit = _CLOSURES.get(id(definitions))
    if hit is not None and hit[0] is definitions:
        return hit[1]
    direct = {name: _refs(node, definitions, set()) for name, node in definitions.items()}
    closures = {}
    for name in definitions:
        reached, stack = {name}, [name]
        while stack:
            for other in direct[stack.pop()]:
                if other not in reached:
                    reached.add(other)
                    stack.append(other)
        closures[name] = frozenset(reached)
    if len(_CLOSURES) >= 8:  # a few catalogues at once (tests): never a growing pile
        _CLOSURES.clear()
    _CLOSURES[id(definitions)] = (definitions, closures)
    return closures


def referenced_definitions(schema, definitions: dict) -> dict:
    """The closure of definitions reachable from schema's '#/$defs/<name>' references."""
    closures = _closures(definitions)
    seen: set = set()
    for name in _refs(schema, definitions, set()):
        seen |= closures[name]
    return {k: definitions[k] for k in sorted(seen)}


def schema_with_defs(schema, definitions: dict):
    """The schema as one document: a shallow copy with the definitions its references reach,
    only those (jsonschema-rs compiles every definition it is given: a data schema with all of
    the catalogue's compiled in 0.23 ms, with those it uses in 0.12). A boolean as is."""
    if not isinstance(schema, dict):
        return schema
    used = referenced_definitions(schema, definitions)
    return dict(schema, **{"$defs": used}) if used else dict(schema)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read the catalogue: {exc}") from None


def _event_spec(i: int, entry: dict) -> EventSpec:
    return EventSpec(
        index=i,
        name=entry.get("name"),
        name_template=entry.get("name_template"),
        title=entry.get("title"),
        description=" ".join(entry["description"].split()),
        since=entry.get("since"),
        routing_key=entry["routing_key"],
        required_acl=entry["required_acl"],
        bindings=dict(entry.get("bindings") or {}),
        data=entry["data"],
        name_placeholders={
            k: NamePlaceholder(k, tuple(v["values"]) if "values" in v else None,
                               v.get("pattern"), v.get("description", ""))
            for k, v in (entry.get("name_placeholders") or {}).items()
        },
        personal_data=list(entry.get("personal_data") or []),
        changes=list(entry.get("changes") or []),
        example=entry.get("example"),
    )


def _cover(c: dict) -> Cover:
    return Cover(code=c["code"], path=c.get("path"), value=c.get("value"), when=c.get("when"),
                 acl=tuple(c["acl"]) if "acl" in c else None,
                 events=tuple(c["events"]) if "events" in c else None)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    path = Path(path) if path else default_catalogue_path()
    data = _read_bytes(path)
    raw = cache.cached("catalogue", [data, *map(_checker_bytes, CHECKED_BY)],
                       lambda: _checked(path, data))
    return model(path, raw)


def _checked(path: Path, data: bytes) -> dict:
    from . import catalogue_checks  # only when the cache does not hold this catalogue

    return catalogue_checks.checked(path, data).raw


def _checker_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # an install without sources: the tool's version keys the cache alone
        return b""


def model(path: Path, raw: dict) -> Catalogue:
    """The model of a catalogue's raw data, which must have passed the checks."""
    events = [_event_spec(i, entry) for i, entry in enumerate(raw["events"])]
    errata = [Erratum(entry["id"], entry["title"], " ".join(entry["description"].split()),
                      entry["evidence"], tuple(entry["events"]),
                      [_cover(c) for c in entry["covers"]])
              for entry in raw["errata"]]
    return Catalogue(path, raw["catalogue"], raw["definitions"], events, errata, raw)
