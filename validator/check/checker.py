"""The per-message checker: (routing key, body bytes, AMQP properties) -> MessageResult.

Everything is compiled once, when the Checker is built for a target Wazo version (see
compile.py). Per message, one of three routes, all on jsonschema-rs (docs/engine.md):
fast (no finding at all), data only (the envelope, key and ACL pass: the data's errors are
explained, explain.py) and detailed (step by step, detailed.py). `Checker(fast=False)` sends
every message down the detailed route: the tests prove all give the same findings.
"""

from __future__ import annotations

import re

import jsonschema_rs
import orjson

from .. import codes as C
from ..catalogue import Catalogue, EventSpec, parse_version
from ..findings import OK, Finding, MessageResult, show_value, verdict_of
from ..jsonvalue import json_type
from .compile import DATA_ONLY, CompiledEvent, strict
from .compile import OK as ROUTE_OK
from .detailed import (
    Findings,
    acl_findings,
    content_type_findings,
    envelope_findings,
    parse_body,
    routing_key_findings,
)
from .errata import ErrataMatcher
from .explain import DataExplainer, undocumented_uuids
from .shapes import ShapeBuilder
from .template import MISSING, Template

_NAME_CACHE_LIMIT = 10_000  # a hostile stream of random names must not grow memory
_NAME_CACHE_MAX_CHARS = 256  # ... nor a few very long ones


class VersionError(ValueError):
    """The target version is malformed or outside the catalogue's range (a usage error)."""


class Checker:
    """Checks messages against the catalogue for one target Wazo version."""

    def __init__(self, catalogue: Catalogue, wazo_version: str | None = None, *,
                 fast: bool = True, select=None, ignore=None, explainer=None):
        self.catalogue = catalogue
        version_text = catalogue.contract_version if wazo_version is None else wazo_version
        self.version_text = version_text
        self.version = self._parse_target(version_text)
        self.fast = fast
        self.select = frozenset(select or ())
        self.ignore = frozenset(ignore or ())
        uuid_def = catalogue.definitions.get("uuid")
        if not isinstance(uuid_def, dict) or "pattern" not in uuid_def:
            raise ValueError("the catalogue must define `uuid` with a pattern")
        self.uuid_pattern = uuid_def["pattern"]
        self.is_uuid = jsonschema_rs.Draft202012Validator(uuid_def).is_valid
        self._uuid_field = jsonschema_rs.Draft202012Validator(
            {"type": "string", "pattern": catalogue.meta["uuid_fields"]}).is_valid
        self.strict_defs = {k: strict(v) for k, v in catalogue.definitions.items()}
        # explainer(data schema) -> explain(data, add); the tests pass a reference one.
        self.explainer = explainer or self.default_explainer
        self.content_type = catalogue.meta["content_type"]

        self.by_name: dict[str, tuple[CompiledEvent, dict]] = {}
        self.open_families: list[tuple[re.Pattern, EventSpec, list]] = []
        owners = []  # (regex source, label) for "whose routing key is this?"
        for spec in catalogue.events:
            if spec.is_open_family:
                name_re = Template(spec.name_template, {}, {}, tuple(spec.name_placeholders)).regex(
                    {k: p.pattern for k, p in spec.name_placeholders.items()}, prefix="n")
                compiled = CompiledEvent(self, spec, None, {})
                self.open_families.append((re.compile(name_re), spec, [compiled]))
                owners.append((compiled.rk_regex.pattern, spec.key))
                continue
            for name, values in spec.concrete_names():
                compiled = CompiledEvent(self, spec, name, values)
                self.by_name[name] = (compiled, values)
                owners.append((compiled.rk.regex({}, literal_names=True), name))
        self._owner_labels = [label for _, label in owners]
        # One alternation of every documented routing key; inner groups renamed per owner.
        self._owner_re = re.compile("|".join(
            f"(?P<o{i}>{src.replace('(?P<p', f'(?P<o{i}p')})" for i, (src, _) in enumerate(owners)))
        self._resolved: dict[str, tuple | None] = {}
        self._plans: dict = {}  # name -> (compiled event, its route), or None

        self.errata = ErrataMatcher(catalogue, self.lenient_validator)
        self.shape_builder = ShapeBuilder(self)

    # -- compilation helpers -------------------------------------------------------
    def _parse_target(self, text: str) -> tuple[int, int]:
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{2}\.[0-9]{2}", text):
            raise VersionError(f"--wazo-version {text!r} is not a Wazo version like 17.08")
        first, last = self.catalogue.version_range
        version = parse_version(text)
        if not parse_version(first) <= version <= parse_version(last):
            raise VersionError(f"--wazo-version {text} is outside the catalogue's range "
                               f"{first}..{last}")
        return version

    def default_explainer(self, data_schema):
        return DataExplainer(data_schema, self.uuid_pattern, self.is_uuid, self.is_uuid_field)

    def is_uuid_field(self, name: str) -> bool:
        """Does the catalogue say a field of this name carries a UUID (meta uuid_fields)?"""
        return self._uuid_field(name)

    def lenient_validator(self, schema):
        """A jsonschema-rs validator on the catalogue's own definitions (errata covers)."""
        if isinstance(schema, dict):
            schema = dict(schema, **{"$defs": self.catalogue.definitions})
        return jsonschema_rs.Draft202012Validator(schema)

    def resolve(self, name: str):
        """(compiled event, name values) for a documented name, else None."""
        hit = self._resolved.get(name, MISSING)
        if hit is not MISSING:
            return hit
        hit = self.by_name.get(name)
        if hit is None:
            for name_re, spec, (compiled,) in self.open_families:
                m = name_re.fullmatch(name)
                if m:
                    hit = (compiled, {ph: m.group(f"n{i}")
                                      for i, ph in enumerate(spec.name_placeholders)})
                    break
        if len(self._resolved) < _NAME_CACHE_LIMIT and len(name) <= _NAME_CACHE_MAX_CHARS:
            self._resolved[name] = hit
        return hit

    def _plan(self, name: str):
        """The route of a name (CompiledEvent.route_plan), cached (bounded) like resolve's
        answers: None, or (compiled event, route)."""
        hit = self.resolve(name)
        plan = None
        if hit is not None:
            route = hit[0].route_plan(hit[1])
            plan = (hit[0], route) if route is not None else None
        if len(self._plans) < _NAME_CACHE_LIMIT and len(name) <= _NAME_CACHE_MAX_CHARS:
            self._plans[name] = plan
        return plan

    def owner_of(self, routing_key: str) -> str | None:
        m = self._owner_re.fullmatch(routing_key)
        if m is None:
            return None
        for i, label in enumerate(self._owner_labels):
            if m.group(f"o{i}") is not None:
                return label
        return None

    # -- checking ------------------------------------------------------------------
    def check(self, routing_key: str | None, body: bytes, properties: dict | None = None
              ) -> MessageResult:
        return self.check_parsed(routing_key, body, properties)[0]

    def check_parsed(self, routing_key: str | None, body: bytes,
                     properties: dict | None = None) -> tuple[MessageResult, object]:
        """(the result, the body as orjson decoded it, or MISSING): the run loop hands the
        decoded body on (the delivery simulation reads it), so it is parsed once."""
        if not self.fast:
            return self.detailed(routing_key, body, properties), MISSING
        try:
            msg = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self.detailed(routing_key, body, properties, MISSING), MISSING
        if type(msg) is dict:
            name = msg.get("name")
            if type(name) is str:
                plan = self._plans.get(name, MISSING)
                if plan is MISSING:
                    plan = self._plan(name)
                if plan is not None and (properties is None or properties.get(
                        "content_type") == self.content_type):
                    compiled, route = plan
                    way = route(msg, routing_key)
                    if way == ROUTE_OK:
                        return MessageResult(name, routing_key, OK), msg
                    if way == DATA_ONLY:
                        return self.data_result(compiled, name, routing_key, msg), msg
        return self.detailed(routing_key, body, properties, msg), msg

    def detailed(self, routing_key, body, properties=None, msg=MISSING) -> MessageResult:
        """Every finding of a message, step by step: the transport, the body, the envelope,
        then the documented event's name, routing key, ACL and data."""
        found = Findings()
        add = found.add
        if properties is not None:
            content_type_findings(properties, self.content_type, add)
        if msg is MISSING:
            msg = parse_body(body, add)
            if msg is MISSING:
                return self._result(None, routing_key, found.out, None)
        if type(msg) is not dict:
            add("B102", "$", f"the body is a JSON {json_type(msg, integer=False)}, not an object")
            return self._result(None, routing_key, found.out, None)
        acl_type_ok = envelope_findings(msg, self.is_uuid, add)
        name = msg.get("name")
        event_name = name if type(name) is str else None
        hit = self.resolve(event_name) if event_name is not None else None
        if hit is None:
            if event_name is not None:
                self._undocumented(event_name, routing_key, msg, add)
            return self._result(event_name, routing_key, found.out, msg)
        compiled, name_values = hit
        if compiled.not_yet:
            add("V700", "$.name", f"{event_name} was introduced in {compiled.spec.since}, "
                f"after the target version {self.version_text}")
        if routing_key is not None:
            routing_key_findings(compiled, name_values, msg, routing_key, self.owner_of, add)
        if acl_type_ok:
            acl_findings(compiled, name_values, msg, msg.get("required_acl", MISSING), add)
        if "data" in msg:
            compiled.explain_data(msg["data"], add)
        return self._result(event_name, routing_key, found.out, msg, compiled)

    def _undocumented(self, name, routing_key, msg, add):
        add("N300", "$.name", f"{show_value(name)} is not a documented event")
        # The page promises nothing about such events: a warning, like N300.
        undocumented_uuids(msg.get("data"), self.is_uuid_field, self.is_uuid,
                           lambda *args: add(*args, severity=C.WARNING))
        if routing_key is not None:
            owner = self.owner_of(routing_key)
            if owner is not None:
                add("N301", "routing_key", f"routing key {show_value(routing_key)} is the key "
                    f"of {owner}, but the event is named {show_value(name)}")

    def data_result(self, compiled, name, routing_key, msg) -> MessageResult:
        """The result of a message whose findings are all in its data (what detailed()
        would find, without its envelope, routing-key and ACL checks)."""
        shapes = compiled.shapes
        if shapes is None:
            shapes = compiled.shapes = self.shape_builder.shapes(compiled)
        for shape in shapes:
            if shape.is_valid(msg):
                if shape.findings is not None:  # shared: findings are never changed
                    return MessageResult(name, routing_key, shape.verdict, shape.findings)
                result = self._data_result(compiled, name, routing_key, msg)
                shape.findings, shape.verdict = result.findings, result.verdict
                return result
        return self._data_result(compiled, name, routing_key, msg)

    def _data_result(self, compiled, name, routing_key, msg) -> MessageResult:
        found = Findings()
        compiled.explain_data(msg["data"], found.add)
        return self._result(name, routing_key, found.out, msg, compiled)

    def _result(self, name, routing_key, out, msg, compiled=None) -> MessageResult:
        findings = []
        for finding, value in out:
            if compiled is not None and msg is not None:
                self._apply_errata(name, finding, value, msg)
            if self.select and not C.matches(finding.code, self.select):
                continue
            if self.ignore and C.matches(finding.code, self.ignore):
                continue
            findings.append(finding)
        return MessageResult(name, routing_key, verdict_of(findings), tuple(findings))

    def _apply_errata(self, name, finding: Finding, value, msg):
        erratum = self.errata.match(name, finding.code, finding.path, value, msg)
        if erratum is not None:
            finding.severity = C.WARNING
            finding.erratum = erratum
