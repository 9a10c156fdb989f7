"""Compilation of one documented event for a target version: its routing-key and ACL
templates, its strict whole-message schema (the fast path's one jsonschema-rs call) and the
explainer of its data's errors (the detailed path)."""

from __future__ import annotations

import re

import jsonschema_rs
import orjson

from ..catalogue import EventSpec, envelope_schema, schema_with_defs
from ..findings import show_value
from .template import MISSING, Template, get_path, render

ABSENT = object()  # expected_keys: the page documents no required_acl for the event
KEY_WRONG, ACL_WRONG = 1, 2  # keys_plan's answers besides 0 (both right)

# The strings jsonschema-rs's `uuid` format accepts are exactly those this pattern matches
# (tests/unit/check/test_compile.py checks it on generated strings), and it tells them apart
# without a regex: ~35 ns a UUID against ~90 ns for the pattern (jsonschema-rs 0.61).
ENGINE_UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_VALUES = frozenset(("enum", "const", "default", "examples"))  # JSON values, not schemas
_ANNOTATIONS = frozenset(("description", "title", "$comment", "x-source"))
_SCHEMA_MAPS = frozenset(("properties", "patternProperties", "$defs", "dependentSchemas"))


class CompiledEvent:
    """One documented name (or open family) compiled for a target version."""

    # data_schema, fast_validator, is_valid and envelope_is_valid are built by ready(), which
    # the checker's resolve() calls at a name's first message (a run meets few of the
    # documented names, and a name's validators cost ~1-2 ms to build); rk_regex,
    # data_is_valid and explain_data are stand-ins until their own first use. Not a
    # __getattr__: a class with one is not specialized by 3.11, and every attribute read of
    # it cost ~+1,000 instructions a message (measured).
    __slots__ = ("_checker", "_view_data", "spec", "name", "name_values", "not_yet",
                 "shapes", "rk", "acl", "rk_shown", "acl_shown", "rk_words", "rk_regex",
                 "data_schema", "explain_data", "data_is_valid", "fast_validator", "is_valid",
                 "envelope_is_valid", "_data_validator")

    def __init__(self, checker, spec: EventSpec, name: str | None, name_values: dict[str, str]):
        version = checker.version
        view = spec.at_version(version)
        self._checker = checker
        self._view_data = view["data"]
        self.spec = spec
        self.name = name
        self.name_values = name_values
        self.not_yet = spec.introduced_after(version)
        self.shapes = None  # its erratum shapes (shapes.py), built when first needed
        name_vars = tuple(spec.name_placeholders)
        self.rk = Template(view["routing_key"], view["bindings"], name_values, name_vars)
        self.acl = (Template(view["required_acl"], view["bindings"], name_values, name_vars)
                    if view["required_acl"] is not None else None)
        # The templates as R400 and A50x quote them, once.
        self.rk_shown = show_value(self.rk.text)
        self.acl_shown = show_value(self.acl.text) if self.acl is not None else None
        # Placeholders of the routing key, with where their expected word comes from.
        self.rk_words = tuple(
            (f"p{i}", part[1], part[0], part[2])
            for i, part in enumerate(p for p in self.rk.parts if type(p) is not str)
        )

    def rk_source(self) -> str:
        """The source of rk_regex: one named group p<n> per placeholder."""
        open_patterns = {k: p.pattern for k, p in self.spec.name_placeholders.items()
                         if p.values is None}
        return self.rk.regex(open_patterns)

    def ready(self) -> CompiledEvent:
        """The event with its regex and validators built (once); returns itself."""
        if self._view_data is None:
            return self
        checker = self._checker
        # Only the fast validator is needed by a name whose messages all conform: the
        # regex, the data's validator and its explainer are built at their first use
        # (~0.4, 0.15 and 0.5 ms a name).
        self.rk_regex = _FirstRegex(self)
        strict_data = strict(self._view_data)
        # The data's schema as one document ($defs included): what explains its errors.
        self.data_schema = schema_with_defs(strict_data, checker.strict_defs)
        self._data_validator = None
        self.explain_data = self._first_explain
        self.data_is_valid = self._first_data_is_valid
        self.fast_validator = checker.boolean_validator(
            schema_with_defs(envelope_schema(strict_data, closed=True), checker.strict_defs))
        self.is_valid = self.fast_validator.is_valid
        # The envelope alone (any data): a message that passes it, its routing key and its
        # ACL has findings in its data only, and skips the detailed envelope checks. The
        # same for every event: the checker's one.
        self.envelope_is_valid = checker.envelope_is_valid()
        self._view_data = None
        return self

    def data_validator(self):
        """The jsonschema-rs validator of the data's schema, whose errors the default
        explainer reads (built once; data_is_valid has its own boolean one)."""
        if self._data_validator is None:
            self._data_validator = self._checker.validator(self.data_schema)
        return self._data_validator

    def _first_data_is_valid(self, data) -> bool:
        # Valid data has nothing to explain, and is_valid costs a third of iter_errors. With
        # another explainer (the tests' reference) the explainer alone decides.
        checker = self._checker
        self.data_is_valid = (checker.boolean_validator(self.data_schema).is_valid
                              if checker.explainer == checker.default_explainer else _never)
        return self.data_is_valid(data)

    def _first_explain(self, data, add) -> None:
        checker = self._checker
        if checker.explainer == checker.default_explainer:
            self.explain_data = checker.default_explainer(self.data_schema, self.data_validator())
        else:
            self.explain_data = checker.explainer(self.data_schema)
        self.explain_data(data, add)

    def _rk_ok(self, msg, routing_key, name_values) -> bool:
        if self.rk.constant is not None:
            return routing_key == self.rk.constant
        m = self.rk_regex.fullmatch(routing_key)
        if m is None:
            return False
        for group, ph, source, ref in self.rk_words:
            if source == "const":
                if m.group(group) != name_values[ph]:
                    return False
            else:
                value = get_path(msg, ref)
                if value is MISSING or m.group(group) != render(value):
                    return False
        return True

    def keys_plan(self, name_values):
        """keys_wrong(msg, rk): 0 when the routing key and required_acl match the templates,
        KEY_WRONG when the key does not (the ACL unchecked), ACL_WRONG when the key does (or
        is None) and the ACL does not. For a name whose key and ACL the name alone decides,
        the routes compare with expected_keys() instead; here, when the name decides the key
        but the data fills the ACL, the key is rendered once (one string compare instead of
        a regex match and its groups) and the ACL by a filler made once. The result is the
        general check's: a key that passes the regex check is its literals joined with its
        words, i.e. the rendered key, and the rendered key is checked to pass it once, here."""
        if self.not_yet:
            return None
        general = self._general_keys_wrong(name_values)
        if _from_data(self.rk):
            return general
        if self.acl is None or not _from_data(self.acl):
            return general  # the key or the ACL cannot be rendered from the name alone
        try:
            expected_rk = self.rk.fill(None, name_values)
        except (KeyError, TypeError):
            return general
        if type(expected_rk) is not str or not self._rk_ok(None, expected_rk, name_values):
            return general
        acl_fill = self.acl.filler(name_values)

        def keys_wrong(msg, routing_key):
            if routing_key is not None and routing_key != expected_rk:
                return KEY_WRONG
            acl = msg.get("required_acl")
            return 0 if type(acl) is str and acl == acl_fill(msg) else ACL_WRONG
        return keys_wrong

    def expected_keys(self, name_values):
        """(routing key, required_acl) of every conforming message of the name when the name
        alone decides both (ABSENT: the page documents no ACL), else None."""
        if self.not_yet or _from_data(self.rk) or (self.acl is not None
                                                   and _from_data(self.acl)):
            return None
        try:
            expected_rk = self.rk.fill(None, name_values)
            expected_acl = ABSENT if self.acl is None else self.acl.fill(None, name_values)
        except (KeyError, TypeError):
            return None
        if type(expected_rk) is not str or not self._rk_ok(None, expected_rk, name_values):
            return None
        if expected_acl is not ABSENT and type(expected_acl) is not str:
            return None
        return expected_rk, expected_acl

    def _general_keys_wrong(self, name_values):
        rk_ok = self._rk_ok
        acl_fill = self.acl.filler(name_values) if self.acl is not None else None

        def keys_wrong(msg, routing_key):
            if routing_key is not None and not rk_ok(msg, routing_key, name_values):
                return KEY_WRONG
            if acl_fill is None:
                return ACL_WRONG if "required_acl" in msg else 0
            value = msg.get("required_acl")
            return 0 if type(value) is str and value == acl_fill(msg) else ACL_WRONG
        return keys_wrong


def boolean_form(schema, uuid_pattern: str):
    """(schema, validate_formats) that accept exactly what `schema` accepts, for a validator
    asked only is_valid (the errors the explainers read keep the catalogue's own schemas):
    `uuid_pattern` checked as jsonschema-rs's uuid format when it is ENGINE_UUID_PATTERN,
    and the $refs inlined when none has a sibling but annotations (inlining merges
    siblings into the target). A schema with a `format` of its own is left as it is: turning
    formats on would change what it accepts."""
    found = {"format": False, "merge": False, "uuid": False}
    _survey(schema, uuid_pattern, found)
    if found["format"] or uuid_pattern != ENGINE_UUID_PATTERN:
        return schema, False
    if found["uuid"]:
        schema = _as_format(schema, uuid_pattern)
    if not found["merge"] and type(schema) is dict and "$defs" in schema:
        schema = jsonschema_rs.dereference(schema)
        if b'"$ref"' not in orjson.dumps(schema):
            schema = {k: v for k, v in schema.items() if k != "$defs"}
    return schema, found["uuid"]


def _survey(node, uuid_pattern, found) -> None:
    if type(node) is list:
        for item in node:
            _survey(item, uuid_pattern, found)
        return
    if type(node) is not dict:
        return
    if type(node.get("format")) is str:  # not a field named format: its value is a schema
        found["format"] = True
    if node.get("pattern") == uuid_pattern:
        found["uuid"] = True
    if "$ref" in node and not node.keys() - _ANNOTATIONS <= {"$ref"}:
        found["merge"] = True
    for key, value in node.items():
        if key in _SCHEMA_MAPS and type(value) is dict:  # its keys are names, not keywords
            for sub in value.values():
                _survey(sub, uuid_pattern, found)
        elif key not in _VALUES:
            _survey(value, uuid_pattern, found)


def _as_format(node, uuid_pattern):
    if type(node) is list:
        return [_as_format(item, uuid_pattern) for item in node]
    if type(node) is not dict:
        return node
    out = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and type(value) is dict:
            out[key] = {k: _as_format(v, uuid_pattern) for k, v in value.items()}
        else:
            out[key] = value if key in _VALUES else _as_format(value, uuid_pattern)
    if out.get("pattern") == uuid_pattern:
        del out["pattern"]
        out["format"] = "uuid"
    return out


def strict(schema):
    """additionalProperties: false wherever an object schema declares its properties."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) if k not in ("enum", "const", "required") else v
           for k, v in schema.items()}
    if "properties" in out:
        out["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        out.setdefault("additionalProperties", False)
    return out


def _from_data(template) -> bool:
    """Does a word of the template come from the message (not the event name)?"""
    return any(type(p) is not str and p[0] == "path" for p in template.parts)


def _never(_data) -> bool:
    return False


class _FirstRegex:
    """An event's rk_regex until its first use, which compiles it in its place (a name whose
    key the name alone decides never needs it)."""

    __slots__ = ("_compiled",)

    def __init__(self, compiled: CompiledEvent):
        self._compiled = compiled

    def _regex(self):
        regex = self._compiled.rk_regex = re.compile(self._compiled.rk_source())
        return regex

    def fullmatch(self, text):
        return self._regex().fullmatch(text)

    def __getattr__(self, attr):
        return getattr(self._regex(), attr)
