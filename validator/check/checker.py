"""The per-message checker: (routing key, body bytes, AMQP properties) -> MessageResult.

Everything is compiled once, when the Checker is built for a target Wazo version:
one compiled event per documented name (closed families are expanded), routing-key regexes,
ACL renderers, a jsonschema-rs validator of the whole message for the fast path, a Python
jsonschema validator of the data for the detailed path, and the errata covers.

Per message there are two paths:
- fast: orjson parse, a dict lookup of the name, one jsonschema-rs `is_valid`, a routing-key
  match and an ACL comparison. A message that passes all of them has no finding at all.
- detailed: anything else is checked again step by step with the Python jsonschema engine,
  whose errors carry the path, keyword and plain message, and errata are applied.
The schemas the fast path uses are strict (`additionalProperties: false`) so that an extra
field, which is worth an info finding, also takes the detailed path. `Checker(fast=False)`
sends every message down the detailed path: the tests prove both give the same findings.
"""

from __future__ import annotations

import re
import jsonschema
import jsonschema_rs
import orjson

from .. import codes as C
from ..catalogue import (ENVELOPE_KEYS, REQUIRED_ENVELOPE_KEYS, Catalogue, EventSpec,
                         envelope_schema, parse_version)
from ..findings import OK, Finding, MessageResult, json_path, verdict_of
from .errata import ErrataMatcher
from .template import MISSING, Template, get_path, render

_NAME_CACHE_LIMIT = 10_000  # a hostile stream of random names must not grow memory
_NAME_CACHE_MAX_CHARS = 256  # ... nor a few very long ones


class VersionError(ValueError):
    """The target version is malformed or outside the catalogue's range (a usage error)."""


class CompiledEvent:
    def __init__(self, checker: "Checker", spec: EventSpec, name: str | None,
                 name_values: dict[str, str]):
        version = checker.version
        view = spec.at_version(version)
        self.spec = spec
        self.name = name
        self.name_values = name_values
        self.not_yet = spec.introduced_after(version)
        open_patterns = {k: p.pattern for k, p in spec.name_placeholders.items() if p.values is None}
        name_vars = tuple(spec.name_placeholders)
        self.rk = Template(view["routing_key"], view["bindings"], name_values, name_vars)
        self.rk_regex = re.compile(self.rk.regex(open_patterns))
        self.acl = (Template(view["required_acl"], view["bindings"], name_values, name_vars)
                    if view["required_acl"] is not None else None)
        strict_data = _strict(view["data"])
        self.data_validator = checker.py_validator(strict_data)
        if checker.fast and isinstance(strict_data, dict):
            self.data_validator = _Prechecked(
                self.data_validator, jsonschema_rs.Draft202012Validator(
                    dict(strict_data, **{"$defs": checker.strict_defs})))
        self.fast_validator = jsonschema_rs.Draft202012Validator(
            dict(envelope_schema(strict_data, closed=True), **{"$defs": checker.strict_defs}))
        self.is_valid = self.fast_validator.is_valid
        # Placeholders of the routing key, with where their expected word comes from.
        self.rk_words = tuple(
            (f"p{i}", part[1], part[0], part[2])
            for i, part in enumerate(p for p in self.rk.parts if type(p) is not str)
        )

    def fast_ok(self, msg: dict, routing_key, name_values) -> bool:
        """True when the message has no finding at all (fast_plan's general case)."""
        if self.not_yet or not self.is_valid(msg):
            return False
        if routing_key is not None and not self._rk_ok(msg, routing_key, name_values):
            return False
        if self.acl is None:
            return "required_acl" not in msg
        acl = msg.get("required_acl")
        return type(acl) is str and acl == self.acl.fill(msg, name_values)

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

    def fast_plan(self, name_values):
        """fast_ok specialised for one name, built at its first sighting: ok(msg, rk) -> bool,
        or None when the name always takes the detailed path.

        When the name alone decides the routing key (every AMI name; every event whose key has
        no data placeholder) the key is rendered once here, and so is the ACL when it has no
        data placeholder: a message then costs one or two string compares before the
        jsonschema-rs call (measured: the regex match, its groups and the ACL join were a
        third of the fast path). fast_ok(msg, rk) holds exactly when ok(msg, rk) does: a key
        that passes the regex check is its literals joined with its words, i.e. the rendered
        key, and the rendered key is checked to pass it once, here."""
        if self.not_yet:
            return None
        is_valid = self.is_valid
        fast_ok = self.fast_ok

        def general(msg, routing_key):
            return fast_ok(msg, routing_key, name_values)

        def from_data(template):
            return any(type(p) is not str and p[0] == "path" for p in template.parts)

        if from_data(self.rk):
            return general
        try:
            expected_rk = self.rk.fill(None, name_values)
            expected_acl = (None if self.acl is None or from_data(self.acl)
                            else self.acl.fill(None, name_values))
        except (KeyError, TypeError):
            return general
        if type(expected_rk) is not str or not self._rk_ok(None, expected_rk, name_values):
            return general
        if self.acl is None:
            def ok(msg, routing_key):
                return ((routing_key is None or routing_key == expected_rk)
                        and "required_acl" not in msg and is_valid(msg))
        elif type(expected_acl) is str:
            def ok(msg, routing_key):
                # JSON has no other value equal to a string: == also checks the type.
                return ((routing_key is None or routing_key == expected_rk)
                        and msg.get("required_acl") == expected_acl and is_valid(msg))
        else:
            acl_fill = self.acl.fill

            def ok(msg, routing_key):
                if routing_key is not None and routing_key != expected_rk:
                    return False
                acl = msg.get("required_acl")
                return type(acl) is str and acl == acl_fill(msg, name_values) and is_valid(msg)
        return ok


class _Prechecked:
    """The detailed data validator, asking jsonschema-rs first: data it finds valid has no
    error to explain, so the Python engine (about 10 us per value) is skipped. The fast path
    already relies on the two engines agreeing; Checker(fast=False) does not use this, so the
    tests that compare the two paths still compare the engines. Measured: a message broken
    outside its data (envelope, routing key, ACL, content type) took 150-500 us in the Python
    engine, the bulk of the checker's time at 3% broken traffic."""

    __slots__ = ("py", "rs_is_valid")

    def __init__(self, py, rs):
        self.py = py
        self.rs_is_valid = rs.is_valid

    def iter_errors(self, instance):
        if self.rs_is_valid(instance):
            return iter(())
        return self.py.iter_errors(instance)

    def __getattr__(self, attr):
        return getattr(self.py, attr)


def _strict(schema):
    """additionalProperties: false wherever an object schema declares its properties."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) if k not in ("enum", "const", "required") else v
           for k, v in schema.items()}
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        out.setdefault("additionalProperties", False)
    return out


def _ecma_pattern(validator, pattern, instance, schema):
    # JSON Schema patterns are ECMA-262 regexes, where `$` is the end of the input; in
    # Python `$` also matches before a final newline. Anchor on \Z so that this engine
    # and jsonschema-rs agree on "8e58...c2\n".
    if not validator.is_type(instance, "string"):
        return
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        text = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$") else pattern
        compiled = _PATTERNS[pattern] = re.compile(text)
    if not compiled.search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


_PATTERNS: dict[str, re.Pattern] = {}
DetailedValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})


class Checker:
    """Checks messages against the catalogue for one target Wazo version."""

    def __init__(self, catalogue: Catalogue, wazo_version: str | None = None, *,
                 fast: bool = True, select=None, ignore=None):
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
        self.uuid_re = re.compile(self.uuid_pattern.rstrip("$").lstrip("^"))
        self.strict_defs = {k: _strict(v) for k, v in catalogue.definitions.items()}
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

        self.errata = ErrataMatcher(
            catalogue, lambda schema: self.py_validator(schema, strict=False))

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

    def py_validator(self, schema, strict: bool = True):
        """A Python jsonschema validator; strict for event data, lenient for errata covers."""
        if isinstance(schema, dict):
            schema = dict(schema, **{"$defs": self.strict_defs if strict
                                     else self.catalogue.definitions})
        return DetailedValidator(schema)

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
        """The fast check of a name, cached (bounded) like resolve's answers."""
        hit = self.resolve(name)
        plan = None if hit is None else hit[0].fast_plan(hit[1])
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
                    ok = self._plans.get(name, MISSING)
                    if ok is MISSING:
                        ok = self._plan(name)
                    if ok is not None and ok(msg, routing_key) and (
                            properties is None
                            or properties.get("content_type") == self.content_type):
                        return MessageResult(name, routing_key, OK)
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
                    f"content type {_clip(ct)!r} is not {self.content_type}")

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
                add("E200", f"$.{key}", f"the envelope has no {key!r}")
        if name is not MISSING and type(name) is not str:
            add("E201", "$.name", f"name is a {_json_type(name)}, not a string")
        origin = msg.get("origin_uuid", MISSING)
        if origin is not MISSING and not (type(origin) is str and self.uuid_re.fullmatch(origin)):
            add("D605", "$.origin_uuid", f"origin_uuid {_clip(origin)!r} is not a UUID", origin)
        acl = msg.get("required_acl", MISSING)
        acl_type_ok = acl is MISSING or acl is None or type(acl) is str
        if not acl_type_ok:
            add("E201", "$.required_acl",
                f"required_acl is a {_json_type(acl)}, not a string or null")
        for key in msg:
            if key not in ENVELOPE_KEYS:
                add("E202", json_path([key]), f"the envelope key {key!r} is not documented")

        event_name = name if type(name) is str else None
        hit = self.resolve(name) if event_name is not None else None
        compiled = None
        name_values: dict = {}
        if hit is None:
            if event_name is not None:
                add("N300", "$.name", f"{_clip(event_name)!r} is not a documented event")
            if event_name is not None and routing_key is not None:
                owner = self.owner_of(routing_key)
                if owner is not None:
                    add("N301", "routing_key", f"routing key {routing_key!r} is the key of "
                        f"{owner}, but the event is named {_clip(name)!r}")
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
                self._check_data(compiled, msg["data"], add)
        return self._result(event_name, routing_key, out, msg, compiled)

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
            add("R400", "routing_key", f"routing key {_clip(routing_key)!r} does not match "
                f"{compiled.rk.text!r}{hint}")
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
                add("R401", "routing_key", f"routing-key word {{{ph}}} is {_clip(word)!r} but "
                    f"{where} is {_clip(expected)!r}")

    def _check_acl(self, compiled: CompiledEvent, name_values, msg, acl, add):
        if compiled.acl is None:
            if acl is not MISSING:
                add("A503", "$.required_acl", f"required_acl {_clip(acl)!r} is given but the "
                    "page documents none for this event", acl)
            return
        if acl is MISSING:
            add("A500", "$.required_acl", f"required_acl is missing; documented: "
                f"{compiled.acl.text!r}")
        elif acl is None:
            add("A501", "$.required_acl", f"required_acl is null (every websocket client "
                f"receives the event); documented: {compiled.acl.text!r}", acl)
        else:
            expected = compiled.acl.fill(msg, name_values)
            if expected is not MISSING and acl != expected:
                add("A502", "$.required_acl", f"required_acl is {_clip(acl)!r}, expected "
                    f"{_clip(expected)!r} ({compiled.acl.text})", acl)

    def _check_data(self, compiled: CompiledEvent, data, add):
        seen_required: set = set()
        for error in compiled.data_validator.iter_errors(data):
            parts = ("data",) + tuple(error.absolute_path)
            keyword = error.validator
            if keyword == "required":
                key = (parts, id(error.schema))
                if key in seen_required:
                    continue
                seen_required.add(key)
                for prop in error.validator_value:
                    if isinstance(error.instance, dict) and prop not in error.instance:
                        add("D600", json_path(parts + (prop,)), f"{prop!r} is a required property")
            elif keyword == "additionalProperties" and isinstance(error.instance, dict):
                declared = error.schema.get("properties", {})
                patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
                for prop, value in error.instance.items():
                    if prop in declared or any(p.search(prop) for p in patterns):
                        continue
                    path = json_path(parts + (prop,))
                    add("D604", path, f"{prop!r} is not a documented field", value)
                    if (prop == "uuid" or prop.endswith("_uuid")) and value is not None and not (
                            type(value) is str and self.uuid_re.fullmatch(value)):
                        add("D605", path, f"{prop} {_clip(value)!r} is not a UUID", value)
            else:
                is_uuid = isinstance(error.schema, dict) and \
                    error.schema.get("pattern") == self.uuid_pattern
                if keyword in ("type", "pattern") and is_uuid:
                    code = "D605"
                elif keyword == "type":
                    code = "D601"
                elif keyword == "pattern":
                    code = "D603"
                elif keyword in ("enum", "const", "minimum", "maximum", "exclusiveMinimum",
                                 "exclusiveMaximum", "multipleOf"):
                    code = "D602"
                else:
                    code = "D609"
                add(code, json_path(parts), _clip(error.message, 200), error.instance)

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


def _clip(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

