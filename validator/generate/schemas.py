"""JSON Schema helpers of the generator: the one $ref resolver, navigation, JSON paths."""

from __future__ import annotations

import json
import re

import jsonschema_rs

from ..check import get_path
from ..jsonvalue import json_type


class GenerationError(Exception):
    """The catalogue asks for something this generator cannot build (named precisely)."""


_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def parse_json_path(path: str) -> tuple:
    """'$.data.to[1]' -> ('data', 'to', 1): the inverse of findings.json_path."""
    if not path.startswith("$"):
        raise GenerationError(f"{path!r} is not a JSON path")
    out: list = []
    pos = 1
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m:
            raise GenerationError(f"{path!r} is not a JSON path this generator reads")
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(re.sub(r"\\(.)", r"\1", m.group(3)))
        pos = m.end()
    return tuple(out)


JSON_TYPES = ("integer", "string", "boolean", "array", "object", "null", "number")


def set_path(msg, path: tuple, value) -> None:
    node = msg
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, list):
        while len(node) <= path[-1]:
            node.append(None)
    node[path[-1]] = value


def del_path(msg, path: tuple) -> bool:
    node = get_path(msg, path[:-1])
    if type(node) is dict and path[-1] in node:
        del node[path[-1]]
        return True
    return False


class Schemas:
    """Reference resolution and navigation over the catalogue's schemas."""

    def __init__(self, definitions: dict):
        self.definitions = definitions
        self._validators: dict[str, object] = {}
        self._by_id: dict[int, tuple] = {}

    def resolve(self, schema, loc: tuple = ()):
        """(schema with its $ref merged in, location of the resolved node)."""
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/$defs/") or ref[8:] not in self.definitions:
                raise GenerationError(f"$ref {ref} names no definition")
            target = self.definitions[ref[8:]]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = dict(target, **{k: v for k, v in siblings.items() if k != "description"})
            if "description" not in target and "description" in siblings:
                schema["description"] = siblings["description"]
            loc = ("$defs", ref[8:])
            seen += 1
            if seen > 50:
                raise GenerationError(f"$ref {ref} loops")
        return schema, loc

    def child(self, schema, part):
        """The schema of `part` (a key or an index) inside an instance of `schema`."""
        schema, _ = self.resolve(schema)
        if not isinstance(schema, dict):
            return {} if schema is not False else None
        if isinstance(part, int):
            prefix = schema.get("prefixItems") or []
            if part < len(prefix):
                return prefix[part]
            items = schema.get("items")
            return {} if items is None or items is True else items
        props = schema.get("properties") or {}
        if part in props:
            return props[part]
        extra = schema.get("additionalProperties")
        return {} if extra is None or extra is True else extra

    def at(self, schema, path: tuple):
        for part in path:
            if schema is None or schema is False:
                return None
            schema = self.child(schema, part)
        return schema

    def types(self, schema) -> tuple[str, ...] | None:
        """The JSON types a schema allows, or None when it does not restrict them."""
        schema, _ = self.resolve(schema)
        if not isinstance(schema, dict):
            return None
        if "const" in schema:
            return (json_type(schema["const"]),)
        if "enum" in schema:
            return tuple(dict.fromkeys(json_type(v) for v in schema["enum"]))
        t = schema.get("type")
        if t is None:
            return None
        t = (t,) if isinstance(t, str) else tuple(t)
        return t + ("integer",) if "number" in t and "integer" not in t else t

    def validator(self, schema):
        """A validator of `schema` (the catalogue's definitions resolvable): jsonschema-rs,
        the engine the checker's fast path uses, else Python jsonschema."""
        hit = self._by_id.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            full = (dict(schema, **{"$defs": self.definitions}) if isinstance(schema, dict)
                    else schema)
            try:
                v = jsonschema_rs.Draft202012Validator(full)
            except (ValueError, jsonschema_rs.ValidationError):
                import jsonschema  # only for what jsonschema-rs cannot compile
                v = jsonschema.Draft202012Validator(full)
            self._validators[key] = v
        if len(self._by_id) < 10_000:
            self._by_id[id(schema)] = (schema, v)  # the schema kept alive: its id stays its own
        return v

    def is_valid(self, schema, value) -> bool:
        return self.validator(schema).is_valid(value)

    def nodes(self, schema, value, path: tuple = ()):
        """(path, schema) of every value inside `value`, itself first."""
        yield path, schema
        if isinstance(value, dict):
            for k, v in value.items():
                sub = self.child(schema, k)
                if sub is not None:
                    yield from self.nodes(sub, v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                sub = self.child(schema, i)
                if sub is not None:
                    yield from self.nodes(sub, v, path + (i,))

    def merge(self, base, extra):
        """A schema for values valid against both (the simple keywords errata conditions use)."""
        base, _ = self.resolve(base)
        extra, _ = self.resolve(extra)
        if not isinstance(extra, dict) or not extra:
            return base
        if not isinstance(base, dict):
            return extra
        out = dict(base)
        if "const" in extra:
            return {"const": extra["const"]}
        if "enum" in extra:
            out["enum"] = [v for v in extra["enum"] if self.is_valid(base, v)] or extra["enum"]
        if "type" in extra:
            mine = self.types(base)
            theirs = (extra["type"],) if isinstance(extra["type"], str) else tuple(extra["type"])
            out["type"] = [t for t in theirs if mine is None or t in mine] or list(theirs)
        for k, v in extra.items():
            if k not in ("const", "enum", "type", "description") and k not in out:
                out[k] = v
        return out


