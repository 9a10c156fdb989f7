"""The page's Events section rendered from the catalogue, so the docs and the validator
cannot drift: per event its name, description, routing key, required ACL, data fields
(type and description from the schema) and an example (the page's own when it is valid
JSON and passes the check, else a generated one), then the errata as "Known deviations".

The RST follows the Wazo page: a section per event (title and underline), `* routing key:`
and `* required ACL:` bullets, then `Example::` and the JSON indented by 4 spaces.
"""

from __future__ import annotations

import json
import re

import orjson

from .catalogue import Catalogue, EventSpec
from .check import Checker
from .findings import FAIL
from .pages import example_routing_key
from .generate import Example, Generator, RandomSource, Schemas

INDENT = "    "


def placeholder_text(template: str | None, name_values: dict | None = None) -> str | None:
    """'config.users.{user_uuid}.forwards.{forward_name}' -> '...<user_uuid>...busy...'."""
    if template is None:
        return None
    values = name_values or {}
    return re.sub(r"\{([^{}]+)\}",
                  lambda m: values.get(m.group(1), f"<{m.group(1)}>"), template)


def heading(title: str, char: str) -> list[str]:
    return [title, char * max(len(title), 3), ""]


def literal_block(text: str, intro: str = "Example::") -> list[str]:
    lines = [intro, ""]
    lines += [(INDENT + line) if line.strip() else "" for line in text.rstrip("\n").split("\n")]
    lines.append("")
    return lines


def example_json(msg) -> str:
    return json.dumps(msg, indent=4, ensure_ascii=False)


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")


def event_title(spec: EventSpec, name: str | None = None) -> str:
    if name:
        return name
    return spec.title or placeholder_text(spec.name_template)


def routing_lines(spec: EventSpec, name_values: dict | None = None,
                  version: tuple | None = None) -> list[str]:
    view = spec.at_version(version) if version else {
        "routing_key": spec.routing_key, "required_acl": spec.required_acl}
    acl = placeholder_text(view["required_acl"], name_values)
    return [f"* routing key: {placeholder_text(view['routing_key'], name_values)}",
            f"* required ACL: {acl if acl is not None else 'none (no required_acl key)'}"]


def examples_rst(sections: list[tuple[str, EventSpec, dict, list[Example]]],
                 version: tuple | None = None) -> str:
    """`examples --format rst`: a page-like section per event with its examples."""
    lines: list[str] = []
    for title, spec, name_values, examples in sections:
        lines += [f".. _bus-{_label(title)}:", ""]
        lines += heading(title, "-")
        lines += [spec.description, ""]
        lines += routing_lines(spec, name_values, version) + [""]
        order = page_key_order((spec.example or {}).get("body"))
        for ex in examples:
            lines += literal_block(example_json(in_page_order(ex.msg, order)))
    return _collapse_blank_lines(lines)


# -- data fields ---------------------------------------------------------------------------------

class FieldRenderer:
    def __init__(self, catalogue: Catalogue):
        self.schemas = Schemas(catalogue.definitions)

    def type_text(self, schema) -> str:
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        ref_name = ref[len("#/$defs/"):] if isinstance(ref, str) else None
        s, _ = self.schemas.resolve(schema)
        if not isinstance(s, dict):
            return "anything" if s is not False else "nothing"
        if "const" in s:
            return f"the constant ``{json.dumps(s['const'], ensure_ascii=False)}``"
        t = s.get("type")
        types = [t] if isinstance(t, str) else list(t or [])
        if not types and "enum" in s:
            types = list(dict.fromkeys(type(v).__name__ for v in s["enum"]))
        base = " or ".join(types) if types else "any JSON value"
        if "array" in types:
            prefix = s.get("prefixItems")
            items = s.get("items")
            if prefix:
                base = base.replace("array", "array [" + ", ".join(
                    self.type_text(p) for p in prefix) + "]")
            elif isinstance(items, dict):
                base = base.replace("array", f"array of {self.type_text(items)}")
        if "object" in types and not s.get("properties") and isinstance(
                s.get("additionalProperties"), dict):
            base = base.replace("object", "object of " + self.type_text(
                s["additionalProperties"]) + " values")
        extras = []
        if ref_name:
            extras.append(ref_name.replace("_", " "))
        if "enum" in s:
            extras.append("one of " + ", ".join(f"``{v}``" for v in s["enum"]))
        if "minimum" in s and "maximum" in s:
            extras.append(f"from {s['minimum']} to {s['maximum']}")
        elif "minimum" in s:
            extras.append(f"at least {s['minimum']}")
        elif "maximum" in s:
            extras.append(f"at most {s['maximum']}")
        if "pattern" in s and not ref_name:
            extras.append(f"matching ``{s['pattern']}``")
        return base + (f" ({'; '.join(extras)})" if extras else "")

    def description(self, schema) -> str:
        if isinstance(schema, dict) and schema.get("description"):
            return " ".join(schema["description"].split())
        s, _ = self.schemas.resolve(schema)
        if isinstance(s, dict) and s.get("description"):
            return " ".join(s["description"].split())
        return ""

    def fields(self, schema, indent: str = "", depth: int = 0) -> list[str]:
        """A bullet per documented field, nested for objects with fields."""
        s, _ = self.schemas.resolve(schema)
        if not isinstance(s, dict) or depth > 6:
            return []
        lines: list[str] = []
        props = s.get("properties") or {}
        required = set(s.get("required") or ())
        for key, sub in props.items():
            need = "required" if key in required else "optional"
            desc = self.description(sub)
            lines.append(f"{indent}* ``{key}`` ({self.type_text(sub)}, {need})"
                         + (f": {desc}" if desc else ""))
            nested = self.fields(sub, indent + "  ", depth + 1)
            if nested:
                lines += [""] + nested + [""]
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and props:
            lines.append(f"{indent}* any other key: {self.type_text(extra)}")
        return lines


# -- the Events section --------------------------------------------------------------------------

def page_example_usable(checker: Checker, spec: EventSpec) -> tuple[bool, str]:
    """Whether the page's own example is valid JSON and passes the check (and why not)."""
    example = spec.example
    if not example:
        return False, "the page gives no example for this event"
    try:
        orjson.loads(example["body"])
    except orjson.JSONDecodeError:
        why = (example.get("expect") or {}).get("why")
        return False, why or "the page's example is not valid JSON"
    result = checker.check(example_routing_key(checker, example), example["body"].encode(),
                           {"content_type": checker.content_type})
    if result.verdict == FAIL:
        why = (example.get("expect") or {}).get("why")
        codes = ", ".join(sorted({f.code for f in result.findings if f.severity == "error"}))
        return False, why or f"the page's example does not pass the check ({codes})"
    return True, ""


def docs_seed(label: str) -> str:
    return f"wazo-bus-validator docs:{label}"


def render_events(catalogue: Catalogue, gen: Generator | None = None) -> str:
    gen = gen or Generator(catalogue)
    fields = FieldRenderer(catalogue)
    ct = catalogue.meta["content_type"]
    lines: list[str] = [".. _bus-events:", ""]
    lines += heading("Events", "=")
    lines += [
        "Events that are sent to the bus use a JSON serialization format with the "
        f"content-type ``{ct}``. All events have the same basic structure, namely, a JSON "
        "object with 4 keys:",
        "",
        "name",
        f"{INDENT}A string representing the name of the event. Each event type has a unique name.",
        "required_acl (optional)",
        f"{INDENT}Either a string or null. Used by xivo-websocketd to determine if a client can "
        "receive the event or not: absent, never; null, every client; a string, the clients "
        "holding a matching ACL.",
        "origin_uuid",
        f"{INDENT}The uuid to identify the message producer.",
        "data",
        f"{INDENT}The data specific part of the event, documented per event type.",
        "",
        f"This section is generated from the catalogue of wazo-bus-validator (Wazo "
        f"{catalogue.contract_version} contract, versions {catalogue.version_range[0]} to "
        f"{catalogue.version_range[1]}).",
        "",
    ]
    for spec in catalogue.events:
        lines += _event_section(spec, gen, fields)
    lines += _errata_section(catalogue, gen)
    return _collapse_blank_lines(lines)


def _collapse_blank_lines(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    return "\n".join(out).rstrip("\n") + "\n"


def _event_section(spec: EventSpec, gen: Generator, fields: FieldRenderer) -> list[str]:
    title = event_title(spec, spec.name)
    lines = [f".. _bus-{_label(spec.name or spec.title or spec.key)}:", ""]
    lines += heading(title, "-")
    lines += [spec.description, ""]
    names = spec.concrete_names()
    if spec.is_open_family:
        for ph in spec.name_placeholders.values():
            desc = f": {ph.description}" if ph.description else ""
            if ph.values is None:
                lines.append(f"* name: any ``<{ph.name}>`` matching ``{ph.pattern}``{desc}")
            else:
                lines.append(f"* ``<{ph.name}>``: one of "
                             + ", ".join(f"``{v}``" for v in ph.values) + desc)
    elif spec.is_family:
        lines.append("* names: " + ", ".join(f"``{n}``" for n, _ in names))
        for ph in spec.name_placeholders.values():
            lines.append(f"* ``<{ph.name}>``: one of " + ", ".join(f"``{v}``" for v in ph.values)
                         + (f": {ph.description}" if ph.description else ""))
    lines += routing_lines(spec)
    if spec.since:
        lines.append(f"* since: {spec.since}")
    data_desc = fields.description(spec.data)
    lines.append("* event specific data: " + (data_desc or fields.type_text(spec.data)))
    nested = fields.fields(spec.data, "  ")
    if nested:
        lines += [""] + nested + [""]
    for change in spec.changes:
        lines.append(f"* changed in {change['version']}: {' '.join(change['text'].split())}")
        before = change["before"]
        if "data" in before:
            old = fields.fields(before["data"], "    ")
            if old:
                lines += ["", f"  before {change['version']}, the event specific data were:", ""]
                lines += old + [""]
        for key in ("routing_key", "required_acl"):
            if key in before:
                lines.append(f"  before {change['version']}, the {key.replace('_', ' ')} was "
                             f"{placeholder_text(before[key]) or 'none'}")
    lines.append("")
    usable, why = page_example_usable(gen.checker, spec)
    if usable:
        lines += literal_block(spec.example["body"].strip("\n"))
        return lines
    target = gen.target(spec.name or spec.key) if (spec.name or spec.is_open_family) \
        else gen.target(names[0][0])
    if not gen.exists(target):
        target_gen = Generator(gen.catalogue, spec.since)
    else:
        target_gen = gen
    example = target_gen.valid(RandomSource(docs_seed(target.label)), target)
    order = page_key_order(page_body_for(gen.catalogue, spec))
    lines += [f"This example is generated: {_sentence(why)}.", ""]
    lines += literal_block(example_json(in_page_order(example.msg, order)))
    return lines


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|[{}\[\]]')


def page_key_order(body: str | None) -> dict:
    """{object path: {key: rank}} of the page's example text: each object's keys in the
    order the page writes them. Scanned, not parsed: the page's examples that are not valid
    JSON (a missing comma) are read too."""
    order: dict = {}
    stack: list[tuple] = []  # the path of each open container
    last_key = None
    for m in _TOKEN.finditer(body or ""):
        token = m.group(0)
        if token in "{[":
            parent = stack[-1] if stack else None
            here = () if parent is None else parent + (
                last_key if last_key is not None else "[]",)
            stack.append(here)
            last_key = None
        elif token in "}]":
            if stack:
                stack.pop()
            last_key = None
        elif m.group(2) and stack:  # a key
            last_key = m.group(1)
            keys = order.setdefault(stack[-1], {})
            keys.setdefault(last_key, len(keys))
        else:
            last_key = None
    return order


def in_page_order(value, order: dict, path: tuple = ()):
    """The value with every object's keys in the order the page's example writes them at the
    same place (keys the page does not show follow the key before them)."""
    if isinstance(value, list):
        return [in_page_order(v, order, path + ("[]",)) for v in value]
    if not isinstance(value, dict):
        return value
    here = order.get(path, {})
    ranks, last = {}, (-1, 0)
    for i, k in enumerate(value):
        last = (here[k], 0) if k in here else (last[0], i + 1)
        ranks[k] = last
    return {k: in_page_order(value[k], order, path + (k,))
            for k in sorted(value, key=ranks.__getitem__)}


def page_body_for(catalogue: Catalogue, spec: EventSpec) -> str | None:
    """The page's example text for this event, else that of an event of the same data."""
    if spec.example:
        return spec.example["body"]
    def ref(data):
        return data.get("$ref", data) if isinstance(data, dict) else data
    same = [s for s in catalogue.events if s.example and ref(s.data) == ref(spec.data)]
    return same[0].example["body"] if same else None


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]


def _cover_text(cover, fields: FieldRenderer) -> str:
    from .codes import BY_CODE
    parts = [f"{cover.code} ({BY_CODE[cover.code].slug})"]
    if cover.path:
        parts.append(f"at ``{cover.path}``")
    if cover.value is not None:
        parts.append(f"when the value is {fields.type_text(cover.value)}")
    if cover.acl is not None:
        parts.append("with required_acl " + " or ".join(
            f"``{a}``" if a is not None else "null" for a in cover.acl))
    if cover.when is not None:
        parts.append(f"if the message matches ``{json.dumps(cover.when)}``")
    if cover.events:
        parts.append("for " + ", ".join(cover.events))
    return " ".join(parts)


def _errata_section(catalogue: Catalogue, gen: Generator) -> list[str]:
    fields = FieldRenderer(catalogue)
    if not catalogue.errata:
        return []
    lines = [".. _bus-known-deviations:", ""]
    lines += heading(f"Known deviations of the {catalogue.contract_version} code", "=")
    lines += [
        f"Where the shipped {catalogue.contract_version} code departs from this page. The "
        "validator reports these findings as warnings carrying the erratum id, never as "
        "errors: a release gate stays green on them and turns red on anything new.",
        "",
    ]
    for erratum in catalogue.errata:
        lines += [f".. _bus-erratum-{erratum.id}:", ""]
        lines += heading(f"{erratum.id}: {erratum.title}", "-")
        lines += [erratum.description, ""]
        lines.append("* events: " + ", ".join(f"``{e}``" for e in erratum.events))
        lines.append(f"* evidence: {erratum.evidence}")
        lines.append("* known findings:")
        lines.append("")
        lines += [f"  * {_cover_text(c, fields)}" for c in erratum.covers]
        lines.append("")
        example = _erratum_example(gen, erratum)
        if example is not None:
            spec = gen.target(example.name).spec
            order = page_key_order(page_body_for(gen.catalogue, spec))
            lines += literal_block(example_json(in_page_order(example.msg, order)))
    return lines


def _erratum_example(gen: Generator, erratum) -> Example | None:
    for name in erratum.events:
        target = gen.target(name)
        if not gen.exists(target):
            continue
        src = RandomSource(docs_seed(f"{erratum.id}:{name}"))
        # Every data cover at once: the fullest picture of the deviation.
        return gen.erratum_variant(src, target, erratum, full=True)
    return None
