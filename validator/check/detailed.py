"""The detailed path's checks outside the data: transport, body, envelope, routing key and
ACL. Each adds its findings through `add(code, path, message, value=MISSING)`."""

from __future__ import annotations

from ..catalogue import ENVELOPE_KEYS, REQUIRED_ENVELOPE_KEYS
from ..codes import BY_CODE
from ..findings import Finding, json_path, show_value
from ..jsonvalue import json_type
from .template import MISSING, get_path, render


_SEVERITY = {code: spec.severity for code, spec in BY_CODE.items()}  # Finding.of's, one lookup


class Findings:
    """The findings of one message (`out`) and the value each is about (`values`, which
    errata match on): two lists, so that a result takes the findings as they are."""

    __slots__ = ("out", "values")

    def __init__(self):
        self.out: list[Finding] = []
        self.values: list = []

    def add(self, code, path, message, value=MISSING, severity=None) -> None:
        self.out.append(Finding(code, _SEVERITY[code] if severity is None else severity,
                                path, message))
        self.values.append(value)


_NORMAL: dict[str, bool] = {}  # expected content type -> does normalising keep it?


def _normalised(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def content_type_findings(properties, expected: str, add) -> None:
    ct = properties.get("content_type")
    if ct == expected:
        normal = _NORMAL.get(expected)
        if normal is None:  # the catalogue's one content type: never grows
            normal = _NORMAL[expected] = _normalised(expected) == expected
        if normal:
            return  # what the normalising below would leave as it is
    if ct is None:
        add("B105", "properties.content_type", "the message has no content type")
    elif not isinstance(ct, str) or _normalised(ct) != expected:
        add("B104", "properties.content_type", f"content type {show_value(ct)} is not {expected}")


def body_findings(body, error, add) -> None:
    """Why a body orjson could not read (`error`, its JSONDecodeError) cannot be read."""
    text = str(error)
    if not isinstance(body, str):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError as uexc:
            add("B100", "$", f"the body is not UTF-8 (byte {uexc.start})")
            return
    if "depth limit" in text or "recursion" in text:
        add("B103", "$", "the body nests deeper than 1024 levels")
    elif not body:
        add("B101", "$", "the body is empty")
    else:
        add("B101", "$", f"the body is not JSON: {text}")


def envelope_findings(msg: dict, is_uuid, add) -> bool:
    """The envelope's findings; True when required_acl is absent, null or a string."""
    for key in REQUIRED_ENVELOPE_KEYS:
        if key not in msg:
            add("E200", f"$.{key}", f"the envelope has no {show_value(key)}")
    name = msg.get("name", MISSING)
    if name is not MISSING and type(name) is not str:
        add("E201", "$.name", f"name is a {json_type(name, integer=False)}, not a string")
    origin = msg.get("origin_uuid", MISSING)
    if origin is not MISSING and not is_uuid(origin):
        add("D605", "$.origin_uuid", f"origin_uuid {show_value(origin)} is not a UUID", origin)
    acl = msg.get("required_acl", MISSING)
    acl_type_ok = acl is MISSING or acl is None or type(acl) is str
    if not acl_type_ok:
        add("E201", "$.required_acl", f"required_acl is a {json_type(acl, integer=False)}, not a string or null")
    for key in msg:
        if key not in ENVELOPE_KEYS:
            add("E202", json_path([key]), f"the envelope key {show_value(key)} is not documented")
    return acl_type_ok


def routing_key_findings(compiled, name_values, msg, routing_key, owner_of, add) -> None:
    constant = compiled.rk.constant  # a key with no placeholder: no regex to compile
    m = (routing_key == constant if constant is not None
         else compiled.rk_regex.fullmatch(routing_key))
    if not m:
        owner = owner_of(routing_key)
        hint = f" (it is the key of {owner})" if owner else ""
        add("R400", "routing_key", f"routing key {show_value(routing_key)} does not match "
            f"{compiled.rk_shown}{hint}")
        return
    for group, ph, source, ref in compiled.rk_words:
        word = m.group(group)
        if source == "const":
            expected = name_values.get(ph)
        else:
            value = get_path(msg, ref)
            if value is MISSING:
                continue  # the missing field is reported by the data check
            expected = render(value)
        if word != expected:
            where = "the event name" if source == "const" else ".".join(str(p) for p in ref)
            add("R401", "routing_key", f"routing-key word {{{ph}}} is {show_value(word)} but "
                f"{where} is {show_value(expected)}")


def acl_findings(compiled, name_values, msg, acl, add) -> None:
    if compiled.acl is None:
        if acl is not MISSING:
            add("A503", "$.required_acl", f"required_acl {show_value(acl)} is given but the "
                "page documents none for this event", acl)
        return
    documented = compiled.acl_shown
    if acl is MISSING:
        add("A500", "$.required_acl", f"required_acl is missing; documented: {documented}")
    elif acl is None:
        add("A501", "$.required_acl", "required_acl is null (every websocket client receives "
            f"the event); documented: {documented}", acl)
    else:
        expected = compiled.acl.fill(msg, name_values)
        if expected is not MISSING and acl != expected:
            add("A502", "$.required_acl", f"required_acl is {show_value(acl)}, expected "
                f"{show_value(expected)} ({compiled.acl.text})", acl)
