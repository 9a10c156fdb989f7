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
from ..catalogue import Catalogue, envelope_schema, parse_version, schema_with_defs
from ..findings import Finding, MessageResult, show_value, verdict_of
from ..jsonvalue import json_type
from .compile import CompiledEvent, boolean_form, strict
from .detailed import (
    Findings,
    acl_findings,
    body_findings,
    content_type_findings,
    envelope_findings,
    routing_key_findings,
)
from .errata import ErrataMatcher
from .explain import DataExplainer, undocumented_uuids
from .routes import (
    KEY_CACHE_LIMIT,
    KEY_CACHE_MAX_CHARS,
    Owners,
    documented_plan,
    undocumented_plan,
    undocumented_schema,
)
from .shapes import ShapeBuilder
from .template import MISSING, Template

_NAME_CACHE_LIMIT = 10_000  # a hostile stream of random names must not grow memory
_NAME_CACHE_MAX_CHARS = 256  # ... nor a few very long ones


_loads, _JSONDecodeError = orjson.loads, orjson.JSONDecodeError  # one lookup, not two


def _no_plan(_msg, _routing_key):
    return None  # the detailed route


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
        self._filtered = bool(self.select or self.ignore)
        uuid_def = catalogue.definitions.get("uuid")
        if not isinstance(uuid_def, dict) or "pattern" not in uuid_def:
            raise ValueError("the catalogue must define `uuid` with a pattern")
        self.uuid_pattern = uuid_def["pattern"]
        # schema's canonical JSON -> its validator: events of one family, their shapes and
        # their errata covers share a third of a run's schemas (~0.15 ms a build).
        self._validators: dict[bytes, object] = {}
        self._boolean_validators: dict[bytes, object] = {}  # the same, for is_valid alone
        self.is_uuid = self.boolean_validator(uuid_def).is_valid
        self._uuid_field = self.boolean_validator(
            {"type": "string", "pattern": catalogue.meta["uuid_fields"]}).is_valid
        self.strict_defs = {k: strict(v) for k, v in catalogue.definitions.items()}
        # explainer(data schema) -> explain(data, add); the tests pass a reference one.
        self.explainer = explainer or self.default_explainer
        self.content_type = catalogue.meta["content_type"]

        self.by_name: dict[str, tuple[CompiledEvent, dict]] = {}
        # [name regex (its source until a name needs it), spec, [compiled]]
        self.open_families: list[list] = []
        owners = []  # (regex source, label, key parts) for "whose routing key is this?"
        for spec in catalogue.events:
            if spec.is_open_family:
                name_re = Template(spec.name_template, {}, {}, tuple(spec.name_placeholders)).regex(
                    {k: p.pattern for k, p in spec.name_placeholders.items()}, prefix="n")
                compiled = CompiledEvent(self, spec, None, {})
                self.open_families.append([name_re, spec, [compiled]])
                owners.append((compiled.rk_source(), spec.key, compiled.rk.parts))
                continue
            for name, values in spec.concrete_names():
                compiled = CompiledEvent(self, spec, name, values)
                self.by_name[name] = (compiled, values)
                owners.append((compiled.rk.regex({}, literal_names=True), name,
                               compiled.rk.parts))
        self.owner_of = Owners(owners)  # owner_of(routing key) -> event or family, or None
        self._resolved: dict[str, tuple | None] = {}
        self._plans: dict = {}  # name -> its plan (routes.py), or _no_plan: the detailed route
        self.undocumented_is_valid = self.boolean_validator(
            undocumented_schema(uuid_def, catalogue.meta["uuid_fields"])).is_valid
        self._undocumented_keyed: dict[tuple, tuple] = {}  # (name, key) -> (verdict, findings)
        self._envelope_is_valid = None

        self.errata = ErrataMatcher(catalogue, self.lenient_validator)
        self._errata_names = frozenset(name for name, _ in self.errata.by_key)
        self.shape_builder = ShapeBuilder(self)

    # -- compilation helpers -------------------------------------------------------
    def validator(self, schema, validate_formats: bool = False):
        """The jsonschema-rs validator of `schema`, built once per distinct schema."""
        try:
            key = b"%d " % validate_formats + orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not plain JSON: built, not shared
            return jsonschema_rs.Draft202012Validator(schema, validate_formats=validate_formats)
        built = self._validators.get(key)
        if built is None:
            built = self._validators[key] = jsonschema_rs.Draft202012Validator(
                schema, validate_formats=validate_formats)
        return built

    def boolean_validator(self, schema):
        """A validator of `schema` asked is_valid alone, never its errors: the validator of
        the schema's boolean form (compile.boolean_form: UUIDs by format, $refs inlined),
        shared with every schema of the same form (-3% of a 17.08 message's instructions)."""
        try:
            key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not plain JSON: as it is
            return self.validator(schema)
        built = self._boolean_validators.get(key)
        if built is None:
            built = self._boolean_validators[key] = self.validator(
                *boolean_form(schema, self.uuid_pattern))
        return built

    def _parse_target(self, text: str) -> tuple[int, int]:
        if not (isinstance(text, str) and len(text) == 5 and text[2] == "."
                and all(c in "0123456789" for c in text[:2] + text[3:])):
            raise VersionError(f"--wazo-version {text!r} is not a Wazo version like 17.08")
        first, last = self.catalogue.version_range
        version = parse_version(text)
        if not parse_version(first) <= version <= parse_version(last):
            raise VersionError(f"--wazo-version {text} is outside the catalogue's range "
                               f"{first}..{last}")
        return version

    def default_explainer(self, data_schema, validator=None):
        """`validator`: the schema's own jsonschema-rs validator, when already built."""
        return DataExplainer(data_schema, self.uuid_pattern, self.is_uuid, self.is_uuid_field,
                             validator, self.validator)

    def is_uuid_field(self, name: str) -> bool:
        """Does the catalogue say a field of this name carries a UUID (meta uuid_fields)?"""
        return self._uuid_field(name)

    def envelope_is_valid(self):
        """is_valid of the closed envelope with any data (every event's envelope_is_valid),
        built at its first use."""
        if self._envelope_is_valid is None:
            self._envelope_is_valid = self.boolean_validator(
                schema_with_defs(envelope_schema(True, closed=True), self.strict_defs)).is_valid
        return self._envelope_is_valid

    def lenient_validator(self, schema):
        """A jsonschema-rs validator on the catalogue's own definitions (errata covers),
        asked is_valid alone."""
        return self.boolean_validator(schema_with_defs(schema, self.catalogue.definitions))

    def resolve(self, name: str):
        """(compiled event, name values) for a documented name, else None."""
        hit = self._resolved.get(name, MISSING)
        if hit is not MISSING:
            return hit
        hit = self.by_name.get(name)
        if hit is not None:
            hit[0].ready()  # its validators, built at its first message (compile.py)
        else:
            for family in self.open_families:
                name_re, spec, (compiled,) = family
                if type(name_re) is str:  # compiled at the first name not documented
                    name_re = family[0] = re.compile(name_re)
                m = name_re.fullmatch(name)
                if m:
                    hit = (compiled.ready(), {ph: m.group(f"n{i}")
                                      for i, ph in enumerate(spec.name_placeholders)})
                    break
        if len(self._resolved) < _NAME_CACHE_LIMIT and len(name) <= _NAME_CACHE_MAX_CHARS:
            self._resolved[name] = hit
        return hit

    def _plan(self, name: str):
        """The plan of a name (routes.py), cached (bounded) like resolve's answers;
        _no_plan when its messages take the detailed route."""
        hit = self.resolve(name)
        plan = (undocumented_plan(self, name) if hit is None
                else documented_plan(self, hit[0], name, hit[1])) or _no_plan
        if len(self._plans) < _NAME_CACHE_LIMIT and len(name) <= _NAME_CACHE_MAX_CHARS:
            self._plans[name] = plan
        return plan

    # -- checking ------------------------------------------------------------------
    def check(self, routing_key: str | None, body: bytes, properties: dict | None = None
              ) -> MessageResult:
        return self.check_parsed(routing_key, body, properties)[0]

    def check_parsed(self, routing_key: str | None, body: bytes,
                     properties: dict | None = None, decoded: dict | None = None
                     ) -> tuple[MessageResult, object]:
        """(the result, the body as orjson decoded it, or MISSING): the run loop hands the
        decoded body on (the delivery simulation reads it), so it is parsed once.
        `decoded`: the body as orjson decoded it already (a capture's payload), or None."""
        if not self.fast:
            return self.detailed(routing_key, body, properties,
                                 MISSING if decoded is None else decoded), MISSING
        if decoded is None:
            try:
                msg = _loads(body)
            except _JSONDecodeError as exc:
                return self.detailed(routing_key, body, properties, MISSING, exc), MISSING
        else:
            msg = decoded
        if type(msg) is dict:
            name = msg.get("name")
            if type(name) is str:
                # A name's plan, or _no_plan (None: the detailed route), made at its first
                # message: a plan is never false.
                result = (self._plans.get(name) or self._plan(name))(msg, routing_key)
                if result is not None:
                    if properties is None or properties.get(
                            "content_type") == self.content_type:
                        return result, msg
                    return self._with_transport(result, properties, msg), msg
        return self.detailed(routing_key, body, properties, msg), msg

    def detailed(self, routing_key, body, properties=None, msg=MISSING,
                 parse_error=None) -> MessageResult:
        """Every finding of a message, step by step: the transport, the body, the envelope,
        then the documented event's name, routing key, ACL and data. `parse_error`: what
        orjson said of the body (not parsed again)."""
        found = Findings()
        add = found.add
        if properties is not None:
            content_type_findings(properties, self.content_type, add)
        if msg is MISSING:
            try:
                msg = orjson.loads(body) if parse_error is None else MISSING
            except orjson.JSONDecodeError as exc:
                parse_error = exc
            if parse_error is not None:
                body_findings(body, parse_error, add)
                return self.result_of(None, routing_key, found, None)
        if type(msg) is not dict:
            add("B102", "$", f"the body is a JSON {json_type(msg, integer=False)}, not an object")
            return self.result_of(None, routing_key, found, None)
        acl_type_ok = envelope_findings(msg, self.is_uuid, add)
        name = msg.get("name")
        event_name = name if type(name) is str else None
        hit = self.resolve(event_name) if event_name is not None else None
        if hit is None:
            if event_name is not None:
                self.undocumented(event_name, routing_key, msg, add)
            return self.result_of(event_name, routing_key, found, msg)
        compiled, name_values = hit
        if compiled.not_yet:
            add("V700", "$.name", f"{event_name} was introduced in {compiled.spec.since}, "
                f"after the target version {self.version_text}")
        if routing_key is not None:
            routing_key_findings(compiled, name_values, msg, routing_key, self.owner_of, add)
        if acl_type_ok:
            acl_findings(compiled, name_values, msg, msg.get("required_acl", MISSING), add)
        if "data" in msg and not compiled.data_is_valid(msg["data"]):
            compiled.explain_data(msg["data"], add)  # ~3x dearer than is_valid on valid data
        return self.result_of(event_name, routing_key, found, msg, True)

    def undocumented(self, name, routing_key, msg, add):
        add("N300", "$.name", f"{show_value(name)} is not a documented event")
        # The page promises nothing about such events: a warning, like N300.
        undocumented_uuids(msg.get("data"), self.is_uuid_field, self.is_uuid,
                           lambda *args: add(*args, severity=C.WARNING))
        if routing_key is not None:
            owner = self.owner_of(routing_key)
            if owner is not None:
                add("N301", "routing_key", f"routing key {show_value(routing_key)} is the key "
                    f"of {owner}, but the event is named {show_value(name)}")

    def undocumented_result(self, name, routing_key, msg) -> MessageResult:
        """An undocumented event's result when the key is another event's (N301), cached by
        name and key (bounded): its envelope and data have nothing to say
        (undocumented_is_valid)."""
        key = (name, routing_key)
        hit = self._undocumented_keyed.get(key)
        if hit is None:
            found = Findings()
            self.undocumented(name, routing_key, msg, found.add)
            result = self.result_of(name, routing_key, found, msg)
            hit = (result.verdict, result.findings)
            if (len(self._undocumented_keyed) < KEY_CACHE_LIMIT
                    and len(name) + len(routing_key) <= KEY_CACHE_MAX_CHARS):
                self._undocumented_keyed[key] = hit
        return MessageResult(name, routing_key, *hit)

    def keys_result(self, compiled, name, name_values, routing_key, msg,
                    data_valid=True, rk_right=False, acl_right=False) -> MessageResult:
        """The result of a message whose envelope is valid, its findings in its routing key
        and ACL, and in its data unless `data_valid` (what detailed() finds, without the
        envelope's checks; the data's as data_result finds them). `rk_right`, `acl_right`:
        the plan knows the key or the ACL to have no finding (their checks are skipped)."""
        found = Findings()
        add = found.add
        if routing_key is not None and not rk_right:
            routing_key_findings(compiled, name_values, msg, routing_key, self.owner_of, add)
        if not acl_right:
            acl_findings(compiled, name_values, msg, msg.get("required_acl", MISSING), add)
        keys = self.result_of(name, routing_key, found, msg, True)
        if data_valid:
            return keys
        # Errata, --select and --ignore take each finding alone: the two parts add up.
        findings = keys.findings + self.data_result(compiled, name, routing_key, msg,
                                                    True).findings
        return MessageResult(name, routing_key, verdict_of(findings), findings)

    def envelope_result(self, compiled, name, routing_key, msg) -> MessageResult:
        """The result of a message whose routing key and ACL are right (so they have no
        finding) and whose envelope is not: the envelope's findings, then the data's."""
        found = Findings()
        add = found.add
        envelope_findings(msg, self.is_uuid, add)
        if "data" in msg and not compiled.data_is_valid(msg["data"]):
            compiled.explain_data(msg["data"], add)
        return self.result_of(name, routing_key, found, msg, True)

    def _with_transport(self, result, properties, msg) -> MessageResult:
        """A route's result with the content type's findings first, as detailed() has them."""
        found = Findings()
        content_type_findings(properties, self.content_type, found.add)
        if not found.out:
            return result
        name = result.name
        head = self.result_of(name, result.routing_key, found, msg,
                              self.resolve(name) is not None)
        findings = head.findings + result.findings
        return MessageResult(name, result.routing_key, verdict_of(findings), findings)

    def data_result(self, compiled, name, routing_key, msg,
                    envelope_valid=False) -> MessageResult:
        """The result of a message whose routing key and ACL are right (they have no finding)
        and whose data or envelope is not: an erratum shape's (a shape passes only with a
        valid envelope), the data's alone, or the envelope's and the data's."""
        shapes = compiled.shapes
        if shapes is None:
            shapes = compiled.shapes = self.shape_builder.shapes(compiled)
        for i, shape in enumerate(shapes):
            if shape.is_valid(msg):
                if i:  # shapes exclude one another: the commonest drift to the front
                    shapes[i - 1], shapes[i] = shape, shapes[i - 1]
                if shape.order is not None:
                    return self._ordered_shape_result(shape, compiled, name, routing_key, msg)
                if shape.findings is not None:  # shared: findings are never changed
                    return MessageResult(name, routing_key, shape.verdict, shape.findings)
                result = self._data_result(compiled, name, routing_key, msg)
                shape.findings, shape.verdict = result.findings, result.verdict
                return result
        if not (envelope_valid or compiled.envelope_is_valid(msg)):
            return self.envelope_result(compiled, name, routing_key, msg)
        return self._data_result(compiled, name, routing_key, msg)

    def _ordered_shape_result(self, shape, compiled, name, routing_key, msg) -> MessageResult:
        """A shape of several wrong or extra fields: the findings known for their order in
        this message's data (at most n! orders of its n fields)."""
        data = msg["data"]
        if type(data) is not dict:
            return self._data_result(compiled, name, routing_key, msg)
        order = tuple(sorted(shape.order, key=list(data).index))
        known = shape.by_order.get(order)
        if known is not None:
            return MessageResult(name, routing_key, *known)
        result = self._data_result(compiled, name, routing_key, msg)
        shape.by_order[order] = (result.verdict, result.findings)
        return result

    def _data_result(self, compiled, name, routing_key, msg) -> MessageResult:
        found = Findings()
        compiled.explain_data(msg["data"], found.add)
        return self.result_of(name, routing_key, found, msg, True)

    def result_of(self, name, routing_key, found: Findings, msg, documented=False
                  ) -> MessageResult:
        """The result of the findings `found`: errata applied when the event is documented,
        then --select and --ignore."""
        errata = documented and msg is not None and name in self._errata_names
        if not (errata or self._filtered):
            findings = tuple(found.out)
            return MessageResult(name, routing_key, verdict_of(findings), findings)
        findings = []
        for finding, value in zip(found.out, found.values):
            if errata:
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
