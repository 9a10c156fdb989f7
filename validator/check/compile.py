"""Compilation of one documented event for a target version: its routing-key and ACL
templates, its strict whole-message schema (the fast path's one jsonschema-rs call) and the
explainer of its data's errors (the detailed path)."""

from __future__ import annotations

import re

import jsonschema_rs

from ..catalogue import EventSpec, envelope_schema
from ..findings import show_value
from .template import MISSING, Template, get_path, render

ABSENT = object()  # expected_keys: the page documents no required_acl for the event


class CompiledEvent:
    """One documented name (or open family) compiled for a target version."""

    # rk_regex, data_schema, explain_data, data_is_valid, fast_validator, is_valid and
    # envelope_is_valid are built at their first read (_BUILDERS): __getattr__ runs only
    # while the slot is empty, so a built one costs a plain attribute read. A run meets few
    # of the documented names, and a name's validators cost ~2 ms to build. Slots, not a
    # dict: attributes filled in any order would unshare the instances' dict layout and
    # slow every read of them (~+600 instructions a message, measured).
    __slots__ = ("_checker", "_view_data", "_strict", "spec", "name", "name_values", "not_yet",
                 "shapes", "rk", "acl", "rk_shown", "acl_shown", "rk_words", "rk_regex",
                 "data_schema", "explain_data", "data_is_valid", "fast_validator", "is_valid",
                 "envelope_is_valid")

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

    def __getattr__(self, attr):
        build = _BUILDERS.get(attr)
        if build is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        value = build(self)
        setattr(self, attr, value)
        return value

    def _strict_data(self):
        try:
            return self._strict[0]
        except AttributeError:
            self._strict = (strict(self._view_data),)
            return self._strict[0]

    def _make_data_schema(self):
        # The data's schema as one document ($defs included): what explains its errors.
        strict_data = self._strict_data()
        return (dict(strict_data, **{"$defs": self._checker.strict_defs})
                if isinstance(strict_data, dict) else strict_data)

    def _make_explain_data(self):
        return self._checker.explainer(self.data_schema)

    def _make_data_is_valid(self):
        # Valid data has nothing to explain, and is_valid costs a third of iter_errors. With
        # another explainer (the tests' reference) the explainer alone decides.
        checker = self._checker
        return (jsonschema_rs.Draft202012Validator(self.data_schema).is_valid
                if checker.explainer == checker.default_explainer else _never)

    def _make_fast_validator(self):
        return jsonschema_rs.Draft202012Validator(
            dict(envelope_schema(self._strict_data(), closed=True),
                 **{"$defs": self._checker.strict_defs}))

    def _make_is_valid(self):
        return self.fast_validator.is_valid

    def _make_envelope_is_valid(self):
        # The envelope alone (any data): a message that passes it, its routing key and its
        # ACL has findings in its data only, and skips the detailed envelope checks. The
        # same for every event: the checker's one.
        return self._checker.envelope_is_valid()

    def _make_rk_regex(self):
        return re.compile(self.rk_source())

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
        """keys_ok(msg, rk): do the routing key and required_acl match the templates? For a
        name whose key and ACL the name alone decides, the routes compare with
        expected_keys() instead; here, when the name decides the key but the data fills the
        ACL, the key is rendered once (one string compare instead of a regex match and its
        groups) and the ACL by a filler made once. The result is the general check's: a key
        that passes the regex check is its literals joined with its words, i.e. the rendered
        key, and the rendered key is checked to pass it once, here."""
        if self.not_yet:
            return None
        general = self._general_keys_ok(name_values)
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

        def keys_ok(msg, routing_key):
            if routing_key is not None and routing_key != expected_rk:
                return False
            acl = msg.get("required_acl")
            return type(acl) is str and acl == acl_fill(msg)
        return keys_ok

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

    def _general_keys_ok(self, name_values):
        rk_ok = self._rk_ok
        acl_fill = self.acl.filler(name_values) if self.acl is not None else None

        def keys_ok(msg, routing_key):
            if routing_key is not None and not rk_ok(msg, routing_key, name_values):
                return False
            if acl_fill is None:
                return "required_acl" not in msg
            value = msg.get("required_acl")
            return type(value) is str and value == acl_fill(msg)
        return keys_ok


_BUILDERS = {attr: getattr(CompiledEvent, f"_make_{attr}") for attr in (
    "rk_regex", "data_schema", "explain_data", "data_is_valid", "fast_validator", "is_valid",
    "envelope_is_valid")}


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
