"""Reading the catalogue's YAML and checking it: its meta-schema, then what the meta-schema
cannot say: placeholders bound, references resolved, patterns compiled, value sets' sources
well formed, errata naming real events and codes. Every problem is one CatalogueError line
naming the entry and the key. Only a catalogue the cache does not hold comes here."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema_rs
import yaml

from .catalogue import (DRAFT, META_SCHEMA_PATH, Catalogue, CatalogueError, EventSpec, model,
                        parse_version, placeholders)
from .codes import BY_CODE


def checked(path: Path, data: bytes) -> Catalogue:
    """The catalogue model once every check passed; the first problem a CatalogueError."""
    raw = _read_raw(path, data)
    meta_schema = _yaml_load(META_SCHEMA_PATH.read_text(encoding="utf-8"))
    checks = CatalogueChecks(path, raw, meta_schema)
    checks.meta_schema()
    catalogue = model(path, raw)
    known_names = checks.events(catalogue.events)
    checks.errata(known_names)
    checks.meta()
    return catalogue


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


def _yaml_load(text: str):
    # libyaml's loader when PyYAML was built with it.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _read_raw(path: Path, data: bytes) -> dict:
    try:
        # As read_text() reads it: universal newlines.
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path}: cannot read the catalogue: {exc}") from None
    try:
        raw = _yaml_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CatalogueError(f"{path}: {where}{problem}") from None
    if not isinstance(raw, dict):
        raise CatalogueError(f"{path}: the catalogue must be a mapping with catalogue, events, errata")
    return raw


class CatalogueChecks:
    def __init__(self, path, raw: dict, meta_schema: dict):
        self.path = path
        self.raw = raw
        self.meta_doc = meta_schema
        self.definitions = raw.get("definitions")
        self.source_ok = jsonschema_rs.Draft202012Validator(
            meta_schema["$defs"]["value_source"]).is_valid

    def fail(self, where_path, message):
        raise CatalogueError(f"{self.path}: {_where(self.raw, where_path)}: {message}")

    def meta_schema(self) -> None:
        # The compiled engine decides; the Python one explains (only when something is wrong).
        if not jsonschema_rs.Draft202012Validator(self.meta_doc).is_valid(self.raw):
            import jsonschema  # only to explain a broken catalogue: not at every start-up

            error = jsonschema.exceptions.best_match(
                jsonschema.Draft202012Validator(self.meta_doc).iter_errors(self.raw))
            raise CatalogueError(f"{self.path}: {_where(self.raw, error.absolute_path)}: "
                                 f"{_short(error.message)}")

    def events(self, events: list[EventSpec]) -> set[str]:
        seen_names: dict[str, int] = {}
        for spec in events:
            self.event(spec)
            for name, _ in spec.concrete_names():
                if name in seen_names:
                    self.fail(("events", spec.index, "name"),
                              f"the name {name} is already entry {seen_names[name]}'s")
                seen_names[name] = spec.index
        for name, schema in self.definitions.items():
            self.schema(schema, ("definitions", name))
        return set(seen_names)

    def errata(self, known_names: set[str]) -> None:
        seen_ids: set[str] = set()
        for i, entry in enumerate(self.raw["errata"]):
            if entry["id"] in seen_ids:
                self.fail(("errata", i, "id"), f"the id {entry['id']} is used twice")
            seen_ids.add(entry["id"])
            for name in entry["events"]:
                if name not in known_names:
                    self.fail(("errata", i, "events"), f"{name} is not an event of the catalogue")
            for j, c in enumerate(entry["covers"]):
                self.cover(c, entry, ("errata", i, "covers", j))

    def cover(self, c: dict, entry: dict, where: tuple) -> None:
        if c["code"] not in BY_CODE:
            self.fail(where + ("code",), f"{c['code']} is not a finding code")
        for name in c.get("events") or ():
            if name not in entry["events"]:
                self.fail(where + ("events",), f"{name} is not among the erratum's events")
        for key in ("value", "when"):
            if key in c:
                self.schema(c[key], where + (key,))

    def meta(self) -> None:
        meta = self.raw["catalogue"]
        if not _is_regex(meta["uuid_fields"]):
            self.fail(("catalogue", "uuid_fields"), "not an ECMA-262 regular expression")
        first, last = meta["versions"]["first"], meta["versions"]["last"]
        if parse_version(first) > parse_version(last):
            self.fail(("catalogue", "versions"), f"first {first} is after last {last}")

    def schema(self, schema, where) -> None:
        if isinstance(schema, bool):
            return
        for node_path, ref in _refs(schema, where):
            if not ref.startswith("#/$defs/") or ref[len("#/$defs/"):] not in self.definitions:
                self.fail(node_path, f"$ref {ref} names no definition of the catalogue")
        doc = dict(schema, **{"$schema": DRAFT})
        if not jsonschema_rs.meta.is_valid(doc):
            import jsonschema

            try:
                jsonschema.Draft202012Validator.check_schema(doc)
            except jsonschema.exceptions.SchemaError as exc:
                self.fail(where + tuple(exc.absolute_path),
                          f"not a valid JSON Schema: {_short(exc.message)}")
            self.fail(where, "not a valid JSON Schema")
        for node_path, pattern in _patterns(schema, where):
            if not _is_regex(pattern):
                self.fail(node_path, f"pattern {pattern!r} is not an ECMA-262 regular expression")
        for node_path, source in _x_sources(schema, where):
            if not self.source_ok(source):
                self.fail(node_path, "names its sources as {page|rest-model|code: text}")

    def event(self, spec: EventSpec) -> None:
        at = ("events", spec.index)
        name_vars = set(spec.name_placeholders)
        if spec.name_template:
            self.name_template(spec, at, name_vars)
        views = [("", {"routing_key": spec.routing_key, "required_acl": spec.required_acl,
                       "bindings": spec.bindings, "data": spec.data})]
        for k, change in enumerate(spec.changes):
            views.append((f"changes.{k}.before.", dict(views[0][1], **change["before"])))
        for prefix, view in views:
            self.view(at, prefix, view, name_vars)
        for change in spec.changes if spec.since else ():
            if parse_version(change["version"]) <= parse_version(spec.since):
                self.fail(at + ("changes",),
                          f"change {change['version']} is not after since {spec.since}")
        for code in (spec.example or {}).get("expect", {}).get("codes", ()):
            if code not in BY_CODE:
                self.fail(at + ("example", "expect", "codes"), f"{code} is not a finding code")

    def name_template(self, spec: EventSpec, at, name_vars) -> None:
        used = set(placeholders(spec.name_template))
        if used != name_vars:
            self.fail(at + ("name_placeholders",),
                      f"the name template uses {sorted(used)} but declares {sorted(name_vars)}")
        for ph in spec.name_placeholders.values():
            if ph.pattern is not None:
                try:
                    re.compile(ph.pattern)
                except re.error as exc:
                    self.fail(at + ("name_placeholders", ph.name, "pattern"),
                              f"does not compile: {exc}")

    def view(self, at, prefix, view, name_vars) -> None:
        bound = set(view["bindings"]) | name_vars
        overlap = set(view["bindings"]) & name_vars
        if overlap:
            self.fail(at + ("bindings",), f"{sorted(overlap)} are bound by the name already")
        used = set(placeholders(view["routing_key"])) | set(placeholders(view["required_acl"]))
        for key in ("routing_key", "required_acl"):
            for ph in placeholders(view[key]):
                if ph not in bound:
                    self.fail(at + (prefix + key,), f"placeholder {{{ph}}} is bound by nothing "
                              "(add it to bindings or name_placeholders)")
        for unused in sorted(set(view["bindings"]) - used):
            self.fail(at + (prefix + "bindings", unused), "binds a placeholder no template uses")
        self.schema(view["data"], at + (prefix + "data",))


def _is_regex(pattern: str) -> bool:
    """Does jsonschema-rs, the engine that matches it, compile it (ECMA-262 syntax)?"""
    try:
        jsonschema_rs.Draft202012Validator({"pattern": pattern})
    except jsonschema_rs.ValidationError:
        return False
    return True


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


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


def unsourced_value_sets(catalogue) -> list[str]:
    """Where a value set of the catalogue does not say where it comes from."""
    schemas = [(("definitions", k), v) for k, v in catalogue.definitions.items()]
    for spec in catalogue.events:
        schemas.append((("events", spec.key, "data"), spec.data))
        schemas += [(("events", spec.key, "changes", c["version"], "data"), c["before"]["data"])
                    for c in spec.changes if "data" in c["before"]]
    return [".".join(str(p) for p in where)
            for at, schema in schemas for where, sourced in value_sets(schema, at) if not sourced]
