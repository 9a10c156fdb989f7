"""Erratum shapes: the messages an erratum describes (a status update without xivo_id, a
user-less call), each recognised by one jsonschema-rs call, their findings known after the
first one (docs/engine.md, "Erratum shapes").

For an event and a set of an erratum's covers, the shape's schema is the strict whole-message
schema with the data changed only where the covers say: a missing field forbidden, an extra
field required with the cover's value, a wrong value pinned to the one value the cover
allows. A message that passes it has exactly the covered deviations, with the same findings,
words and errata whatever its other values: the findings of the first such message are those
of every other, except for their order when two or more fields are wrong or extra
(jsonschema-rs reports them in the data's key order): those shapes keep the findings of each
order of those fields. Covers whose findings would quote a value that varies (a string
source_entry_id, an ACL naming a user) make no shape: such messages take the data route.
"""

from __future__ import annotations

import re
from itertools import combinations

from ..catalogue import envelope_schema, schema_with_defs
from .compile import strict

_TOP_FIELD = r"\$\.data\.([A-Za-z_][A-Za-z0-9_]*)"


def _top_field(path: str):
    # re's own cache compiles it at the first shape built: most runs build none.
    return re.fullmatch(_TOP_FIELD, path)


class Shape:
    """One erratum shape of one event: is_valid(msg), and its findings once known. `order`:
    the wrong and extra fields when they are two or more (their order in the data orders the
    findings), else None."""

    __slots__ = ("by_order", "findings", "is_valid", "order", "verdict")

    def __init__(self, is_valid, order=None):
        self.is_valid = is_valid
        self.findings = None  # set from the first message of the shape
        self.verdict = None
        self.order = order
        self.by_order = {}  # with `order`: the fields in the data's order -> (verdict, findings)


def _pinned(value) -> bool:
    """Does the schema admit exactly one value (so a message quoting it never varies)?"""
    if not isinstance(value, dict):
        return False
    keys = value.keys() - {"description"}
    return (value.get("type") == "null" and keys == {"type"}) or keys == {"const"} or (
        keys == {"enum"} and isinstance(value["enum"], list) and len(value["enum"]) == 1)


def _mentions(schema, word: str) -> bool:
    if isinstance(schema, dict):
        return word in schema or any(_mentions(v, word) for v in schema.values())
    if isinstance(schema, list):
        return any(_mentions(v, word) for v in schema)
    return False


def _data_object(schema, defs):
    """The data's object schema, through $ref-only wrappers, or None."""
    node = schema
    for _ in range(10):
        if not isinstance(node, dict) or "$ref" not in node:
            break
        if not node.keys() <= {"$ref", "description"}:
            return None
        ref = node["$ref"]
        if not ref.startswith("#/$defs/") or ref[len("#/$defs/"):] not in defs:
            return None
        node = defs[ref[len("#/$defs/"):]]
    if not isinstance(node, dict) or "$ref" in node or node.get("additionalProperties") is not False:
        return None
    return node


class ShapeBuilder:
    """The erratum shapes of documented events, built at a name's first data-route message."""

    def __init__(self, checker):
        self.checker = checker
        self.by_key = checker.errata.by_key
        self.uuid_or_null = {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/uuid"}]}

    def shapes(self, compiled) -> tuple:
        name = compiled.name
        if name is None or compiled.not_yet:
            return ()
        view = compiled.spec.at_version(self.checker.version)
        defs = self.checker.strict_defs
        node = _data_object(strict(view["data"]), defs)
        if node is None:
            return ()
        out = []
        for erratum in self.checker.catalogue.errata:
            covers = [c for c in erratum.covers if name in (c.events or erratum.events)]
            usable = [c for c in covers if self._usable(name, erratum.id, c)]
            for k in range(len(usable), 0, -1):
                for subset in combinations(usable, k):
                    schema = self._schema(node, defs, subset)
                    if schema is not None:
                        order = tuple(_top_field(c.path).group(1)
                                      for c in subset if c.code != "D600")
                        out.append(Shape(self.checker.boolean_validator(schema).is_valid,
                                         order if len(order) > 1 else None))
        return out

    def _usable(self, name, erratum_id, cover) -> bool:
        if cover.path is None or not _top_field(cover.path):
            return False
        # Every cover of the code on this event is this erratum's: which one matches first
        # cannot change the finding's erratum.
        if any(cc.erratum != erratum_id for cc in self.by_key.get((name, cover.code), ())):
            return False
        if any(_mentions(s, "not") for s in (cover.value, cover.when) if s is not None):
            return False  # strict definitions would then admit more, not less
        if cover.acl is not None and any(t is not None and "{" in t for t in cover.acl):
            return False
        if cover.code == "D600":
            return cover.value is None
        if cover.code == "D604":
            return cover.value is not None
        return cover.code in ("D601", "D605") and _pinned(cover.value)

    def _schema(self, node, defs, covers):
        variant = dict(node)
        required = list(variant.get("required", []))
        properties = dict(variant.get("properties", {}))
        forbidden, extra = [], []
        for cover in covers:
            field = _top_field(cover.path).group(1)
            if cover.code == "D600":
                if field not in required:
                    return None
                required.remove(field)
                forbidden.append(field)
                continue
            if cover.code == "D604":
                if field in properties:
                    return None
                value = cover.value
                if self.checker.is_uuid_field(field):  # no D605 beside the D604
                    value = {"allOf": [value, self.uuid_or_null]}
                properties[field] = value
                extra.append(field)
            else:
                if field not in properties:
                    return None
                properties[field] = cover.value
            if field not in required:
                required.append(field)
        variant["properties"] = properties
        variant["required"] = required
        data = {"allOf": [variant] + [{"not": {"required": [f]}} for f in forbidden]}
        whole = envelope_schema(data, closed=True)
        conditions = [c.when for c in covers if c.when is not None]
        for cover in covers:
            if cover.acl is not None:
                conditions.append({"required": ["required_acl"],
                                   "properties": {"required_acl": {"enum": list(cover.acl)}}})
        if conditions:
            whole = {"allOf": [whole, *conditions]}
        return schema_with_defs(whole, defs)
