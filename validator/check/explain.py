"""The detailed path's data findings, derived from jsonschema-rs errors.

jsonschema-rs gives each error its kind, its instance path and its schema path (resolved
through $ref, from the root of the document), which is all a finding needs: the code comes
from the kind (and, for a UUID, from the schema node the kind sits in), the path from the
instance path. Python `jsonschema` is not used at run time: the tests check these findings
against it (tests/unit/check/reference.py).
"""

from __future__ import annotations

import jsonschema_rs

from ..findings import json_path, show_value

_KIND = jsonschema_rs.ValidationErrorKind
_VALUE_KINDS = (_KIND.Enum, _KIND.Constant, _KIND.Minimum, _KIND.Maximum, _KIND.ExclusiveMinimum,
                _KIND.ExclusiveMaximum, _KIND.MultipleOf)
CODE_OF_KIND = {_KIND.Type: "D601", _KIND.Pattern: "D603", **{k: "D602" for k in _VALUE_KINDS}}


_NODE_CACHE_LIMIT = 10_000  # schema paths are the schema's, but bound it like every cache

VALUE_SET_KEYWORDS = frozenset(("enum", "const", "pattern", "description", "x-source"))


def is_value_set(branches) -> bool:
    return isinstance(branches, list) and bool(branches) and all(
        isinstance(b, dict) and b and b.keys() <= VALUE_SET_KEYWORDS for b in branches)


def schema_node(root, schema_path):
    """The schema object that holds the failing keyword (schema_path ends with it), or None
    where the path cannot be followed (see exact_paths: such paths are lossy)."""
    node = root
    for part in list(schema_path)[:-1]:
        if type(node) is dict:
            node = node.get(part if type(part) is str else str(part))
        elif type(node) is list and type(part) is int and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def plain_path(data, parts) -> tuple | None:
    """`parts` when they certainly name where the error is, else None.

    jsonschema-rs's Python `instance_path` is lossy: an empty key is dropped and a key that
    reads as an integer ("0", "01", "+1") becomes an int. Both can only happen below a dict
    that has an empty key or where an int indexes a dict, which the walk sees."""
    node = data
    for part in parts:
        if type(node) is dict:
            if type(part) is not str or "" in node or part not in node:
                return None
            node = node[part]
        elif type(node) is list and type(part) is int and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    if type(node) is dict and "" in node:
        return None
    return tuple(parts)


def from_pointer(data, pointer: str) -> tuple:
    """An RFC 6901 pointer into `data` as path parts (ints index arrays only)."""
    parts = []
    node = data
    for token in pointer.split("/")[1:] if pointer else ():
        token = token.replace("~1", "/").replace("~0", "~")
        part = int(token) if type(node) is list else token
        parts.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(parts)


class DataExplainer:
    """explain(data, add): one `add(code, path, message, value)` per finding of the data.

    `is_uuid(value)` and `is_uuid_field(name)` come from the catalogue (its `uuid` definition
    and its meta `uuid_fields`): an undocumented field named like a UUID is checked as one."""

    __slots__ = ("declared", "evaluate", "is_uuid", "is_uuid_field", "iter_errors",
                 "relaxed_is_valid", "required", "root", "uuid_pattern", "_nodes")

    def __init__(self, schema, uuid_pattern: str, is_uuid, is_uuid_field, validator=None,
                 make_validator=jsonschema_rs.Draft202012Validator):
        self.root = schema
        relaxed, self.required, self.declared = relaxed_top(schema)
        self.relaxed_is_valid = (make_validator(relaxed).is_valid
                                 if relaxed is not None else None)
        if validator is None:
            validator = make_validator(schema)
        self.iter_errors = validator.iter_errors
        self.evaluate = validator.evaluate
        self.uuid_pattern = uuid_pattern
        self.is_uuid = is_uuid
        self.is_uuid_field = is_uuid_field
        # schema path -> (in a UUID's schema, a value set): paths come from the schema, not
        # the data, so they repeat; walking the schema again cost ~7k instructions an error.
        self._nodes: dict[tuple, tuple[bool, bool]] = {}

    def __call__(self, data, add) -> None:
        if self.relaxed_is_valid is not None and type(data) is dict and self.relaxed_is_valid(
                data):
            # All that can be wrong is a missing or an extra top-level field (the commonest
            # errata: a status update without xivo_id, a favorite with xivo_uuid): what
            # iter_errors would say, in its order, without building its errors.
            for prop in self.required:
                if prop not in data:
                    add("D600", json_path(("data", prop)),
                        f"{show_value(prop)} is a required property")
            if self.declared is not None:
                self.extra_fields(data, [k for k in data if k not in self.declared], ("data",),
                                  add)
            return
        errors = list(self.iter_errors(data))
        paths = [plain_path(data, error.instance_path) for error in errors]
        if None in paths:
            paths = self.exact_paths(data, errors)
        for error, path in zip(errors, paths):
            kind = error.kind
            parts = ("data", *path)
            kind_type = type(kind)
            if kind_type is _KIND.Required:
                prop = kind.property
                add("D600", json_path(parts + (prop,)), f"{show_value(prop)} is a required property")
            elif kind_type is _KIND.AdditionalProperties:
                self.extra_fields(error.instance, kind.unexpected, parts, add)
            else:
                code = CODE_OF_KIND.get(kind_type, "D609")
                message = error.message
                if code in ("D601", "D603"):
                    if self._node_facts(error.schema_path)[0]:
                        code = "D605"
                elif kind_type is _KIND.AnyOf and self._node_facts(error.schema_path)[1]:
                    code = "D602"
                    message = f"{show_value(error.instance)} is not one of the documented values"
                add(code, json_path(parts), _clip(message, 200), error.instance)

    def exact_paths(self, data, errors) -> list[tuple]:
        """The paths from the evaluation output, whose locations are JSON pointers (slower,
        and needed only for data with empty or integer-like keys). Its errors come in
        another order: each is paired with the iter_errors error whose lossy locations
        are the same (equal ones are interchangeable: same keyword, same schema)."""
        by_lossy: dict[tuple, list] = {}
        for e in self.evaluate(data).errors():
            where = (_lossy(e["instanceLocation"]), _lossy(e["schemaLocation"]))
            by_lossy.setdefault(where, []).append(e["instanceLocation"])
        paths = []
        for error in errors:
            pointers = by_lossy.get((tuple(error.instance_path), tuple(error.schema_path)))
            paths.append(from_pointer(data, pointers.pop(0)) if pointers
                         else tuple(error.instance_path))  # cannot pair it: best effort
        return paths

    def _node_facts(self, schema_path) -> tuple[bool, bool]:
        """Of the schema node an error's schema path ends in: is it a UUID's (its type or
        pattern error is D605), and is it an anyOf of enums, consts and patterns, one value
        set (Asterisk's call states: a list, and "Unknown (N)"), so that a value outside it
        is D602 as for a plain enum? Cached by path (bounded)."""
        key = tuple(schema_path)
        facts = self._nodes.get(key)
        if facts is None:
            node = schema_node(self.root, key)
            facts = (isinstance(node, dict) and node.get("pattern") == self.uuid_pattern,
                     isinstance(node, dict) and is_value_set(node.get("anyOf")))
            if len(self._nodes) < _NODE_CACHE_LIMIT:
                self._nodes[key] = facts
        return facts

    def extra_fields(self, instance, names, parts, add) -> None:
        for prop in names:
            value = instance[prop]
            path = json_path(parts + (prop,))
            add("D604", path, f"{show_value(prop)} is not a documented field", value)
            if self.is_uuid_field(prop) and value is not None and not self.is_uuid(value):
                add("D605", path, f"{prop} {show_value(value)} is not a UUID", value)


def relaxed_top(schema):
    """(relaxed schema, required names, declared names or None) of the data's object: the
    schema without its top-level `required` and `additionalProperties: false`, so that what
    it accepts and the strict one refuses is exactly missing and extra top-level fields.
    (None, (), None) when the data's object is not a plain local one (followed through
    $ref-only wrappers) or declares patternProperties."""
    nothing = (None, (), None)
    if not isinstance(schema, dict):
        return nothing
    defs = schema.get("$defs", {})
    node = schema
    while isinstance(node, dict) and "$ref" in node and node.keys() <= {"$ref", "$defs",
                                                                         "description"}:
        ref = node["$ref"]
        if not ref.startswith("#/$defs/") or ref[len("#/$defs/"):] not in defs:
            return nothing
        node = defs[ref[len("#/$defs/"):]]
    if not isinstance(node, dict) or "$ref" in node or "patternProperties" in node:
        return nothing
    required = node.get("required", [])
    closed = node.get("additionalProperties") is False
    if not isinstance(required, list) or not (required or closed):
        return nothing
    relaxed = {k: v for k, v in node.items()
               if k != "required" and not (k == "additionalProperties" and closed)}
    relaxed["$defs"] = defs
    return relaxed, tuple(required), frozenset(node.get("properties", {})) if closed else None


def undocumented_uuids(data, is_uuid_field, is_uuid, add) -> None:
    """D605 for every field named like a UUID, at any depth, whose value is neither a UUID
    nor null: what can be checked of an event the page does not document (`add` makes it
    a warning there, like N300: the page promises nothing about such events)."""
    stack = [(("data",), data)]
    while stack:
        parts, node = stack.pop()
        if type(node) is dict:
            items = node.items()
        elif type(node) is list:
            items = enumerate(node)
        else:
            continue
        children = []
        for key, value in items:
            if (type(key) is str and value is not None and is_uuid_field(key)
                    and not is_uuid(value)):
                add("D605", json_path(parts + (key,)),
                    f"{key} {show_value(value)} is not a UUID", value)
            if type(value) in (dict, list):
                children.append((parts + (key,), value))
        stack.extend(reversed(children))  # document order


def _lossy(pointer: str) -> tuple:
    """A pointer as jsonschema-rs's Python paths render it: empty tokens dropped, tokens
    that parse as an unsigned integer (Rust's rules: digits, an optional '+') made ints."""
    out = []
    for token in pointer.split("/")[1:] if pointer else ():
        token = token.replace("~1", "/").replace("~0", "~")
        if not token:
            continue
        digits = token[1:] if token[0] == "+" else token
        out.append(int(digits) if digits.isascii() and digits.isdigit() else token)
    return tuple(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
