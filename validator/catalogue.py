"""Load specs/events.yaml: validate it against its meta-schema, check what a schema cannot
(placeholders bound, references resolve, errata name real events and codes), and return a
plain model. Every problem is a CatalogueError naming the entry and key, never a traceback.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import jsonschema_rs
import yaml

from .codes import BY_CODE

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_CATALOGUE = PACKAGE_DIR.parent / "specs" / "events.yaml"
BUNDLED_CATALOGUE = PACKAGE_DIR / "_bundled" / "events.yaml"
META_SCHEMA_PATH = PACKAGE_DIR / "catalogue_schema.yaml"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# libyaml's loader when PyYAML was built with it: the catalogue loads at every start-up.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


@dataclass
class NamePlaceholder:
    name: str
    values: tuple[str, ...] | None
    pattern: str | None
    description: str = ""


@dataclass
class Cover:
    code: str
    path: str | None = None
    value: dict | bool | None = None
    when: dict | bool | None = None
    acl: tuple | None = None  # allowed required_acl values: templates over message paths, or None
    events: tuple[str, ...] | None = None


@dataclass
class Erratum:
    id: str
    title: str
    description: str
    evidence: str
    events: tuple[str, ...]
    covers: list[Cover]


@dataclass
class EventSpec:
    """One catalogue entry: an event, or a family of events sharing a name template."""

    index: int
    name: str | None
    name_template: str | None
    description: str
    routing_key: str
    required_acl: str | None
    bindings: dict[str, str]
    data: dict | bool
    title: str | None = None
    since: str | None = None
    name_placeholders: dict[str, NamePlaceholder] = field(default_factory=dict)
    personal_data: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    example: dict | None = None

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


@dataclass
class Catalogue:
    path: Path
    meta: dict
    definitions: dict
    events: list[EventSpec]
    errata: list[Erratum]
    raw: dict

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
        if isinstance(schema, bool):
            return schema
        out = copy.deepcopy(schema)
        needed = referenced_definitions(schema, defs if defs is not None else self.definitions)
        if needed:
            out["$defs"] = needed
        return out


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


def referenced_definitions(schema, definitions: dict) -> dict:
    """The closure of definitions reachable from schema's '#/$defs/<name>' references."""
    seen: dict = {}
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/"):]
                if name not in seen and name in definitions:
                    seen[name] = definitions[name]
                    stack.append(definitions[name])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return {k: seen[k] for k in sorted(seen)}


def _where(raw: dict, path) -> str:
    """'events[3] (call_held): data.properties' from a path into the raw catalogue."""
    parts = list(path)
    if len(parts) >= 2 and parts[0] in ("events", "errata") and isinstance(parts[1], int):
        items = raw.get(parts[0]) or []
        entry = items[parts[1]] if parts[1] < len(items) else {}
        label = ""
        if isinstance(entry, dict):
            label = entry.get("name") or entry.get("name_template") or entry.get("id") or ""
        head = f"{parts[0]}[{parts[1]}]" + (f" ({label})" if label else "")
        rest = ".".join(str(p) for p in parts[2:])
        return head + (f": {rest}" if rest else "")
    return ".".join(str(p) for p in parts) or "(top level)"


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    path = Path(path) if path else default_catalogue_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path}: cannot read the catalogue: {exc}") from None
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CatalogueError(f"{path}: {where}{problem}") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: the catalogue must be a mapping with catalogue, events, errata")

    meta_schema = yaml.load(META_SCHEMA_PATH.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    # The compiled engine decides; the Python one explains (only when something is wrong).
    if not jsonschema_rs.Draft202012Validator(meta_schema).is_valid(raw):
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(meta_schema).iter_errors(raw))
        raise CatalogueError(f"{path}: {_where(raw, error.absolute_path)}: {_short(error.message)}")

    def fail(where_path, message):
        raise CatalogueError(f"{path}: {_where(raw, where_path)}: {message}")

    source_ok = jsonschema_rs.Draft202012Validator(meta_schema["$defs"]["value_source"]).is_valid

    definitions = raw["definitions"]
    events: list[EventSpec] = []
    seen_names: dict[str, int] = {}
    for i, entry in enumerate(raw["events"]):
        spec = EventSpec(
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
        _check_event(spec, definitions, fail, source_ok)
        for name, _ in spec.concrete_names():
            if name in seen_names:
                fail(("events", i, "name"), f"the name {name} is already entry {seen_names[name]}'s")
            seen_names[name] = i
        events.append(spec)

    for name, schema in definitions.items():
        _check_schema(schema, definitions, ("definitions", name), fail)
        check_value_sources(schema, ("definitions", name), fail, source_ok)

    errata: list[Erratum] = []
    seen_ids: set[str] = set()
    known_names = set(seen_names)
    for i, entry in enumerate(raw["errata"]):
        if entry["id"] in seen_ids:
            fail(("errata", i, "id"), f"the id {entry['id']} is used twice")
        seen_ids.add(entry["id"])
        for name in entry["events"]:
            if name not in known_names:
                fail(("errata", i, "events"), f"{name} is not an event of the catalogue")
        covers = []
        for j, c in enumerate(entry["covers"]):
            where = ("errata", i, "covers", j)
            if c["code"] not in BY_CODE:
                fail(where + ("code",), f"{c['code']} is not a finding code")
            for name in c.get("events") or ():
                if name not in entry["events"]:
                    fail(where + ("events",), f"{name} is not among the erratum's events")
            for key in ("value", "when"):
                if key in c:
                    _check_schema(c[key], definitions, where + (key,), fail)
            covers.append(Cover(code=c["code"], path=c.get("path"), value=c.get("value"),
                                when=c.get("when"),
                                acl=tuple(c["acl"]) if "acl" in c else None,
                                events=tuple(c["events"]) if "events" in c else None))
        errata.append(Erratum(entry["id"], entry["title"], " ".join(entry["description"].split()),
                              entry["evidence"], tuple(entry["events"]), covers))

    try:
        jsonschema_rs.Draft202012Validator({"pattern": raw["catalogue"]["uuid_fields"]})
    except jsonschema_rs.ValidationError:
        fail(("catalogue", "uuid_fields"), "not an ECMA-262 regular expression")
    first, last = raw["catalogue"]["versions"]["first"], raw["catalogue"]["versions"]["last"]
    if parse_version(first) > parse_version(last):
        fail(("catalogue", "versions"), f"first {first} is after last {last}")
    return Catalogue(path, raw["catalogue"], definitions, events, errata, raw)


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _check_schema(schema, definitions, where, fail):
    if isinstance(schema, bool):
        return
    for node_path, ref in _refs(schema, where):
        if not ref.startswith("#/$defs/") or ref[len("#/$defs/"):] not in definitions:
            fail(node_path, f"$ref {ref} names no definition of the catalogue")
    doc = dict(schema, **{"$schema": DRAFT})
    if not jsonschema_rs.meta.is_valid(doc):
        try:
            jsonschema.Draft202012Validator.check_schema(doc)
        except jsonschema.exceptions.SchemaError as exc:
            fail(where + tuple(exc.absolute_path), f"not a valid JSON Schema: {_short(exc.message)}")
        fail(where, "not a valid JSON Schema")
    for node_path, pattern in _patterns(schema, where):
        try:
            re.compile(pattern)
        except re.error as exc:
            fail(node_path, f"pattern {pattern!r} does not compile: {exc}")


def _refs(node, where):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where + (k,), v
            else:
                yield from _refs(v, where + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _refs(v, where + (i,))


def _patterns(node, where):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                yield where + (k,), v
            elif k != "properties" or isinstance(v, dict):
                yield from _patterns(v, where + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _patterns(v, where + (i,))


def value_sets(schema, where=(), sourced: bool = False):
    """(where, is sourced) of every value set (enum) in a schema. A set is sourced by an
    `x-source` on itself or on the field whose anyOf/oneOf holds it."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from value_sets(item, where + (i,), sourced)
        return
    if not isinstance(schema, dict):
        return
    sourced = sourced or "x-source" in schema
    if "enum" in schema:
        yield where + ("enum",), sourced
    for key, value in schema.items():
        if key in ("enum", "const", "x-source", "examples", "default"):
            continue
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            for name, sub in value.items():
                yield from value_sets(sub, where + (key, name))
        else:
            yield from value_sets(value, where + (key,), sourced and key in ("anyOf", "oneOf"))


def _x_sources(schema, where=()):
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "x-source":
                yield where + (key,), value
            elif key not in ("enum", "const", "examples", "default"):
                yield from _x_sources(value, where + (key,))
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from _x_sources(item, where + (i,))


def check_value_sources(schema, where, fail, source_ok) -> None:
    """Every x-source names its sources as {page|rest-model|code: text} (the meta-schema's
    value_source). Whether every value set has one is unsourced_value_sets' question."""
    for path, source in _x_sources(schema, where):
        if not source_ok(source):
            fail(path, "names its sources as {page|rest-model|code: text}")


def unsourced_value_sets(catalogue: Catalogue) -> list[str]:
    """Where a value set of the catalogue does not say where it comes from."""
    schemas = [(("definitions", k), v) for k, v in catalogue.definitions.items()]
    for spec in catalogue.events:
        schemas.append((("events", spec.key, "data"), spec.data))
        schemas += [(("events", spec.key, "changes", c["version"], "data"), c["before"]["data"])
                    for c in spec.changes if "data" in c["before"]]
    return [".".join(str(p) for p in where)
            for at, schema in schemas for where, sourced in value_sets(schema, at) if not sourced]


def _check_event(spec: EventSpec, definitions, fail, source_ok):
    at = ("events", spec.index)
    name_vars = set(spec.name_placeholders)
    if spec.name_template:
        used = set(placeholders(spec.name_template))
        if used != name_vars:
            fail(at + ("name_placeholders",),
                 f"the name template uses {sorted(used)} but declares {sorted(name_vars)}")
        for ph in spec.name_placeholders.values():
            if ph.pattern is not None:
                try:
                    re.compile(ph.pattern)
                except re.error as exc:
                    fail(at + ("name_placeholders", ph.name, "pattern"), f"does not compile: {exc}")
    views = [("", {"routing_key": spec.routing_key, "required_acl": spec.required_acl,
                   "bindings": spec.bindings, "data": spec.data})]
    for k, change in enumerate(spec.changes):
        merged = dict(views[0][1])
        merged.update(change["before"])
        views.append((f"changes.{k}.before.", merged))
    for prefix, view in views:
        bound = set(view["bindings"]) | name_vars
        overlap = set(view["bindings"]) & name_vars
        if overlap:
            fail(at + ("bindings",), f"{sorted(overlap)} are bound by the name already")
        used = set(placeholders(view["routing_key"])) | set(placeholders(view["required_acl"]))
        for key in ("routing_key", "required_acl"):
            for ph in placeholders(view[key]):
                if ph not in bound:
                    fail(at + (prefix + key,), f"placeholder {{{ph}}} is bound by nothing "
                         "(add it to bindings or name_placeholders)")
        for unused in sorted(set(view["bindings"]) - used):
            fail(at + (prefix + "bindings", unused), "binds a placeholder no template uses")
        _check_schema(view["data"], definitions, at + (prefix + "data",), fail)
        check_value_sources(view["data"], at + (prefix + "data",), fail, source_ok)
    if spec.since and spec.changes:
        for change in spec.changes:
            if parse_version(change["version"]) <= parse_version(spec.since):
                fail(at + ("changes",), f"change {change['version']} is not after since {spec.since}")
    if spec.example and "expect" in spec.example:
        for code in spec.example["expect"]["codes"]:
            if code not in BY_CODE:
                fail(at + ("example", "expect", "codes"), f"{code} is not a finding code")
