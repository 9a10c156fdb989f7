"""The per-message checker: (routing key, body bytes, AMQP properties) -> MessageResult.

Everything is compiled once, when the Checker is built for a target Wazo version (see
compile.py). Per message there are two paths, both on jsonschema-rs:
- fast: orjson parse, a dict lookup of the name, one `is_valid` of the whole message, a
  routing-key match and an ACL comparison. A message that passes all of them has no finding.
- detailed: anything else is checked step by step: the envelope here, the data's errors
  explained from jsonschema-rs's own errors (explain.py), then errata applied.
The fast path's schemas are strict (`additionalProperties: false`) so that an extra field,
which is worth an info finding, also takes the detailed path. `Checker(fast=False)` sends
every message down the detailed path: the tests prove both give the same findings.
"""

from __future__ import annotations

import re

import jsonschema_rs
import orjson

from .. import codes as C
from ..catalogue import (
    ENVELOPE_KEYS,
    REQUIRED_ENVELOPE_KEYS,
    Catalogue,
    EventSpec,
    parse_version,
)
from ..findings import OK, Finding, MessageResult, json_path, show_value, verdict_of
from .compile import CompiledEvent, strict
from .errata import ErrataMatcher
from .explain import DataExplainer
from .template import MISSING, Template, get_path, render

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
        self._plans: dict = {}  # name -> its fast check (CompiledEvent.fast_plan), or None

        self.errata = ErrataMatcher(catalogue, self.lenient_validator)

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
        """The fast checks of a name, cached (bounded) like resolve's answers: None, or
        (compiled event, no finding at all?, findings in the data only?)."""
        hit = self.resolve(name)
        plan = None
        if hit is not None:
            compiled, name_values = hit
            ok = compiled.fast_plan(name_values)
            if ok is not None:
                plan = (compiled, ok, compiled.fast_plan(name_values, compiled.envelope_is_valid))
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
        if self.fast:
            try:
                msg = orjson.loads(body)
            except orjson.JSONDecodeError:
                msg = MISSING
            if type(msg) is dict:
                name = msg.get("name")
                if type(name) is str:
                    plan = self._plans.get(name, MISSING)
                    if plan is MISSING:
                        plan = self._plan(name)
                    if plan is not None and (properties is None or properties.get(
                            "content_type") == self.content_type):
                        compiled, ok, data_only = plan
                        if ok(msg, routing_key):
                            return MessageResult(name, routing_key, OK)
                        if data_only(msg, routing_key):
                            return self.data_result(compiled, name, routing_key, msg)
            return self.detailed(routing_key, body, properties, msg)
        return self.detailed(routing_key, body, properties)

    def detailed(self, routing_key, body, properties=None, msg=MISSING) -> MessageResult:
        out: list[tuple[Finding, object]] = []

        def add(code, path, message, value=MISSING):
            out.append((Finding.of(code, path, message), value))

        if properties is not None:
            ct = properties.get("content_type")
            if ct is None:
                add("B105", "properties.content_type", "the message has no content type")
            elif not isinstance(ct, str) or ct.split(";")[0].strip().lower() != self.content_type:
                add("B104", "properties.content_type",
                    f"content type {show_value(ct)} is not {self.content_type}")

        if msg is MISSING:
            msg = self._parse(body, add)
            if msg is MISSING:
                return self._result(None, routing_key, out, None)
        if type(msg) is not dict:
            add("B102", "$", f"the body is a JSON {_json_type(msg)}, not an object")
            return self._result(None, routing_key, out, None)

        name = msg.get("name", MISSING)
        for key in REQUIRED_ENVELOPE_KEYS:
            if key not in msg:
                add("E200", f"$.{key}", f"the envelope has no {show_value(key)}")
        if name is not MISSING and type(name) is not str:
            add("E201", "$.name", f"name is a {_json_type(name)}, not a string")
        origin = msg.get("origin_uuid", MISSING)
        if origin is not MISSING and not self.is_uuid(origin):
            add("D605", "$.origin_uuid", f"origin_uuid {show_value(origin)} is not a UUID", origin)
        acl = msg.get("required_acl", MISSING)
        acl_type_ok = acl is MISSING or acl is None or type(acl) is str
        if not acl_type_ok:
            add("E201", "$.required_acl",
                f"required_acl is a {_json_type(acl)}, not a string or null")
        for key in msg:
            if key not in ENVELOPE_KEYS:
                add("E202", json_path([key]), f"the envelope key {show_value(key)} is not documented")

        event_name = name if type(name) is str else None
        hit = self.resolve(name) if event_name is not None else None
        compiled = None
        name_values: dict = {}
        if hit is None:
            if event_name is not None:
                add("N300", "$.name", f"{show_value(event_name)} is not a documented event")
            if event_name is not None and routing_key is not None:
                owner = self.owner_of(routing_key)
                if owner is not None:
                    add("N301", "routing_key", f"routing key {show_value(routing_key)} is the key of "
                        f"{owner}, but the event is named {show_value(name)}")
        else:
            compiled, name_values = hit
            if compiled.not_yet:
                add("V700", "$.name", f"{event_name} was introduced in {compiled.spec.since}, "
                    f"after the target version {self.version_text}")
            if routing_key is not None:
                self._check_routing_key(compiled, name_values, msg, routing_key, add)
            if acl_type_ok:
                self._check_acl(compiled, name_values, msg, acl, add)
            if "data" in msg:
                compiled.explain_data(msg["data"], add)
        return self._result(event_name, routing_key, out, msg, compiled)

    def data_result(self, compiled, name, routing_key, msg) -> MessageResult:
        """The result of a message whose findings are all in its data (what detailed()
        would find, without its envelope, routing-key and ACL checks)."""
        out: list[tuple[Finding, object]] = []

        def add(code, path, message, value=MISSING):
            out.append((Finding.of(code, path, message), value))

        compiled.explain_data(msg["data"], add)
        return self._result(name, routing_key, out, msg, compiled)

    def _parse(self, body, add):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            text = str(exc)
            if not isinstance(body, str):
                try:
                    bytes(body).decode("utf-8")
                except UnicodeDecodeError as uexc:
                    add("B100", "$", f"the body is not UTF-8 (byte {uexc.start})")
                    return MISSING
            if "depth limit" in text or "recursion" in text:
                add("B103", "$", "the body nests deeper than 1024 levels")
            elif not body:
                add("B101", "$", "the body is empty")
            else:
                add("B101", "$", f"the body is not JSON: {text}")
            return MISSING

    def _check_routing_key(self, compiled: CompiledEvent, name_values, msg, routing_key, add):
        m = compiled.rk_regex.fullmatch(routing_key)
        if m is None:
            owner = self.owner_of(routing_key)
            hint = f" (it is the key of {owner})" if owner else ""
            add("R400", "routing_key", f"routing key {show_value(routing_key)} does not match "
                f"{show_value(compiled.rk.text)}{hint}")
            return
        for group, ph, source, ref in compiled.rk_words:
            word = m.group(group)
            if source == "const":
                expected = name_values.get(ph)
                where = "the event name"
            else:
                value = get_path(msg, ref)
                if value is MISSING:
                    continue  # the missing field is reported by the data check
                expected = render(value)
                where = "." .join(str(p) for p in ref)
            if word != expected:
                add("R401", "routing_key", f"routing-key word {{{ph}}} is {show_value(word)} but "
                    f"{where} is {show_value(expected)}")

    def _check_acl(self, compiled: CompiledEvent, name_values, msg, acl, add):
        if compiled.acl is None:
            if acl is not MISSING:
                add("A503", "$.required_acl", f"required_acl {show_value(acl)} is given but the "
                    "page documents none for this event", acl)
            return
        if acl is MISSING:
            add("A500", "$.required_acl", f"required_acl is missing; documented: "
                f"{show_value(compiled.acl.text)}")
        elif acl is None:
            add("A501", "$.required_acl", f"required_acl is null (every websocket client "
                f"receives the event); documented: {show_value(compiled.acl.text)}", acl)
        else:
            expected = compiled.acl.fill(msg, name_values)
            if expected is not MISSING and acl != expected:
                add("A502", "$.required_acl", f"required_acl is {show_value(acl)}, expected "
                    f"{show_value(expected)} ({compiled.acl.text})", acl)

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


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
