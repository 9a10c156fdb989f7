"""The one fault table: each kind of single fault, where the catalogue gives it a place, and
the finding codes it must produce. The table is the mutation tests' oracle: a mutant is
caught when the checker's blocking codes are exactly its kind's codes. A fault that an
erratum covers (the one ErrataMatcher says so) is a known deviation, not a fault: such a
place is skipped.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass

from ..check import MISSING, get_path, render
from ..findings import json_path
from .model import Example, Mutant
from .regex import regex_string
from .schemas import JSON_TYPES, GenerationError, del_path, set_path
from .values import uuid_value


@dataclass(frozen=True)
class Fault:
    kind: str
    codes: frozenset
    description: str


def _fault(kind, codes, description) -> tuple[str, Fault]:
    return kind, Fault(kind, frozenset(codes), description)


FAULTS: dict[str, Fault] = dict((
    _fault("drop_required", {"D600"}, "drop a required data field"),
    _fault("change_type", {"D601"}, "give a typed data value (no UUID, no set) another JSON type"),
    _fault("not_in_set", {"D602"}, "give a value of a closed set another value of its type"),
    _fault("out_of_range", {"D602"}, "give a bounded integer a value past its bound"),
    _fault("bad_format", {"D603"}, "give a patterned string (no UUID) a value off its pattern"),
    _fault("bad_uuid", {"D605"}, "give a data UUID a string that is not a UUID"),
    _fault("rk_placeholder", {"R401"},
           "change a routing-key word carried by the data or the name"),
    _fault("rk_literal", {"R400"}, "change a literal routing-key word"),
    _fault("acl_other", {"A502"}, "give the ACL another user, or another word"),
    _fault("acl_missing", {"A500"}, "drop the documented required_acl"),
    _fault("acl_null", {"A501"}, "set the documented required_acl to null"),
    _fault("acl_added", {"A503"}, "add a required_acl the page does not document"),
    _fault("rename", {"N300", "N301"}, "rename the event to an undocumented name"),
    _fault("origin_uuid", {"D605"}, "break origin_uuid"),
    _fault("no_origin", {"E200"}, "drop origin_uuid"),
    _fault("name_not_string", {"E201"}, "make the name a number"),
    _fault("truncate", {"B101"}, "truncate the body"),
    _fault("not_utf8", {"B100"}, "put a byte that is not UTF-8 in the body"),
    _fault("array_body", {"B102"}, "wrap the body in a JSON array"),
    _fault("text_plain", {"B104"}, "send the body as text/plain"),
))
MUTATIONS = {k: f"{f.description} ({', '.join(sorted(f.codes))})" for k, f in FAULTS.items()}
# Kinds that every message has a place for (the envelope and the body).
ANYWHERE = ("rename", "origin_uuid", "no_origin", "name_not_string", "truncate", "not_utf8",
            "array_body", "text_plain")


class FaultMaker:
    """The mutations, as methods of the Generator (`_mut_<kind>`)."""

    def mutation_kinds(self, target) -> list[str]:
        """The fault kinds meaningful for this event by its catalogue entry alone."""
        view = self.view(target.spec)
        has_acl = view["required_acl"] is not None
        out = ["drop_required"] if self._has_required(view["data"]) else []
        out += [k for k in ("change_type", "not_in_set", "out_of_range", "bad_format",
                            "bad_uuid") if self._field_places(k, view["data"])]
        if re.search(r"\{[^{}]+\}", view["routing_key"]):
            out.append("rk_placeholder")
        if self._literal_slots(view["routing_key"]):
            out.append("rk_literal")
        out += ["acl_other", "acl_missing", "acl_null"] if has_acl else ["acl_added"]
        return out + list(ANYWHERE)

    def _has_required(self, schema, depth=0) -> bool:
        schema, _ = self.schemas.resolve(schema)
        if not isinstance(schema, dict) or depth > 12:
            return False
        if schema.get("required"):
            return True
        subs = list((schema.get("properties") or {}).values())
        subs += list(schema.get("prefixItems") or [])
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                subs.append(schema[key])
        return any(self._has_required(s, depth + 1) for s in subs)

    @staticmethod
    def _literal_slots(text: str) -> list[int]:
        """The indices of a template's dot-delimited words that hold no placeholder."""
        return [i for i, word in enumerate(text.split("."))
                if word and "{" not in word and "}" not in word]

    def mutate(self, src, example: Example, kind: str, target) -> Mutant | None:
        """One fault of `kind` in a valid example, or None when it has no place for it."""
        method = getattr(self, f"_mut_{kind}", None)
        if method is None:
            raise GenerationError(f"unknown mutation {kind!r}")
        msg = copy.deepcopy(example.msg)
        compiled, name_values = self.compiled(example.name)
        return method(src, example, msg, compiled, name_values, target)

    def _rebuild(self, src, example, msg, compiled, name_values, *, rk=None, acl=MISSING,
                 keep_acl=True):
        """Routing key and ACL recomputed from the mutated data (so the fault stays single)."""
        if keep_acl and acl is MISSING and "required_acl" in example.msg:
            filled = compiled.acl.fill(msg, name_values) if compiled.acl is not None else MISSING
            acl = example.msg["required_acl"] if filled is MISSING else filled
        if rk is None:
            filled = compiled.rk.fill(msg, name_values)
            rk = example.routing_key if filled is MISSING else filled
        ordered = {"name": msg["name"], "origin_uuid": msg["origin_uuid"]}
        if acl is not MISSING:
            ordered["required_acl"] = acl
        ordered["data"] = msg["data"]
        return Example(msg["name"], example.event, rk, dict(example.properties),
                       self.dumps(src, ordered), ordered, dict(name_values))

    @staticmethod
    def _mutant(kind, new, example, detail):
        return Mutant(kind, new, example, FAULTS[kind].codes, detail)

    def _data_schema(self, example):
        compiled, _ = self.compiled(example.name)
        return self.view(compiled.spec)["data"]

    def _mut_drop_required(self, src, example, msg, compiled, name_values, target):
        schema = self._data_schema(example)
        candidates = []
        for path, node in self.schemas.nodes(schema, msg["data"], ("data",)):
            node, _ = self.schemas.resolve(node)
            value = get_path(msg, path)
            if isinstance(node, dict) and isinstance(value, dict):
                for k in node.get("required") or ():
                    if k in value:
                        candidates.append(path + (k,))
        candidates = [p for p in candidates if not self._drop_covered(example, msg, p)]
        if not candidates:
            return None
        path = src.choice(candidates)
        del_path(msg, path)
        new = self._rebuild(src, example, msg, compiled, name_values)
        return self._mutant("drop_required", new, example, f"dropped {json_path(path)}")

    def _drop_covered(self, example, msg, path):
        trial = copy.deepcopy(msg)
        del_path(trial, path)
        return self.covered(example.name, "D600", json_path(path), MISSING, trial)

    def _field_kind(self, kind, resolved, value=MISSING):
        """Whether a data node (its resolved schema) is a place for a field fault `kind`."""
        if not isinstance(resolved, dict):
            return False
        uuid = resolved.get("pattern") == self.checker.uuid_pattern
        closed = "enum" in resolved or "const" in resolved
        types = self.schemas.types(resolved)
        if kind == "change_type":
            return "type" in resolved and not uuid and not closed
        if kind == "not_in_set":
            return closed and value is not MISSING and type(value) in (str, int)
        if kind == "out_of_range":
            return (types == ("integer",) and not closed
                    and ("minimum" in resolved or "maximum" in resolved))
        if kind == "bad_format":
            return "pattern" in resolved and not uuid and not closed and types is not None \
                and "string" in types
        return uuid and not closed and types is not None and "string" in types

    def _field_places(self, kind, schema, depth=0) -> bool:
        """Whether the data schema has a place for `kind` that every message carries (a
        chain of required fields), so that each message of the event can take it."""
        schema, _ = self.schemas.resolve(schema)
        if not isinstance(schema, dict) or depth > 12:
            return False
        required = set(schema.get("required") or ())
        for k, sub in (schema.get("properties") or {}).items():
            if k not in required:
                continue
            resolved, _ = self.schemas.resolve(sub)
            probe = (resolved.get("const", (resolved.get("enum") or [MISSING])[0])
                     if isinstance(resolved, dict) else MISSING)
            if self._field_kind(kind, resolved, probe) or self._field_places(kind, sub,
                                                                             depth + 1):
                return True
        return False

    def _bad_value(self, src, kind, resolved, value):
        if kind == "change_type":
            allowed = self.schemas.types(resolved) or ()
            return self._value_of_type(src, src.choice(
                [t for t in JSON_TYPES if t not in allowed and t != "number"]))
        if kind == "not_in_set":
            values = resolved["enum"] if "enum" in resolved else [resolved["const"]]
            if type(value) is int:
                return max(v for v in values if type(v) is int) + 1
            return "x" + "".join(v for v in values if type(v) is str)[:12] + "x"
        if kind == "out_of_range":
            if "maximum" in resolved and (src.boolean() or "minimum" not in resolved):
                return int(resolved["maximum"]) + 1
            return int(-(-resolved["minimum"] // 1)) - 1
        if kind == "bad_format":
            for text in ("bad value!", "x", "", "?"):
                if not re.search(resolved["pattern"], text):
                    return text
            return MISSING
        good = uuid_value(src)
        return src.choice((good[:-1], good.replace("-", ""), "not-a-uuid", "", good + "0"))

    def _mut_field(self, kind, src, example, msg, compiled, name_values):
        """One field fault (change_type, not_in_set, out_of_range, bad_format, bad_uuid)."""
        schema = self._data_schema(example)
        options = []
        for path, node in self.schemas.nodes(schema, msg["data"], ("data",)):
            resolved, _ = self.schemas.resolve(node)
            if len(path) > 1 and self._field_kind(kind, resolved, get_path(msg, path)):
                options.append((path, resolved))
        for _ in range(10):
            if not options:
                return None
            path, resolved = src.choice(options)
            value = self._bad_value(src, kind, resolved, get_path(msg, path))
            if value is MISSING or self.schemas.is_valid(resolved, value):
                options.remove((path, resolved))
                continue
            trial = copy.deepcopy(msg)
            set_path(trial, path, value)
            new = self._rebuild(src, example, trial, compiled, name_values)
            code = next(iter(FAULTS[kind].codes))
            if self.covered(example.name, code, json_path(path), value, new.msg):
                options.remove((path, resolved))
                continue
            return self._mutant(kind, new, example, f"{json_path(path)} is {value!r}")
        return None

    def _mut_change_type(self, src, example, msg, compiled, name_values, target):
        return self._mut_field("change_type", src, example, msg, compiled, name_values)

    def _mut_not_in_set(self, src, example, msg, compiled, name_values, target):
        return self._mut_field("not_in_set", src, example, msg, compiled, name_values)

    def _mut_out_of_range(self, src, example, msg, compiled, name_values, target):
        return self._mut_field("out_of_range", src, example, msg, compiled, name_values)

    def _mut_bad_format(self, src, example, msg, compiled, name_values, target):
        return self._mut_field("bad_format", src, example, msg, compiled, name_values)

    def _mut_bad_uuid(self, src, example, msg, compiled, name_values, target):
        return self._mut_field("bad_uuid", src, example, msg, compiled, name_values)

    @staticmethod
    def _value_of_type(src, t):
        if t == "integer":
            return src.integer(0, 1000)
        if t == "string":
            return src.choice(("x", "none", "1001", "not-a-uuid", ""))
        if t == "boolean":
            return src.boolean()
        if t == "array":
            return src.choice(([], ["x"]))
        if t == "object":
            return src.choice(({}, {"x": 1}))
        return None

    def _placeholder_value(self, src, compiled, name_values, msg, part):
        """Another value for a template placeholder (same shape, different, dot-free)."""
        kind, ph, ref = part
        current = name_values.get(ph) if kind == "const" else render(get_path(msg, ref))
        spec = compiled.spec
        for _ in range(20):
            if kind == "const":
                holder = spec.name_placeholders[ph]
                if holder.values is not None:
                    others = [v for v in holder.values if v != current]
                    value = src.choice(others) if others else current + "x"
                else:
                    value = regex_string(src, f"^(?:{holder.pattern})$", ".")
            else:
                node = self.schemas.at(self.view(spec)["data"], ref[1:]) if ref[0] == "data" \
                    else self.catalogue.definitions["uuid"]
                value = render(self.walker.gen(src, node if node is not None else {},
                                               ("other",), ref[1:], frozenset({ref[1:]})))
            if value != current and "." not in value:
                return value
        return None

    def _render_parts(self, template, msg, name_values, override: dict) -> str:
        out = []
        for i, part in enumerate(template.parts):
            if i in override:
                out.append(override[i])
            elif type(part) is str:
                out.append(part)
            elif part[0] == "const":
                out.append(name_values.get(part[1], part[2]))
            else:
                out.append(render(get_path(msg, part[2])))
        return "".join(out)

    def _mut_rk_placeholder(self, src, example, msg, compiled, name_values, target):
        slots = [i for i, p in enumerate(compiled.rk.parts) if type(p) is not str]
        if not slots:
            return None
        i = src.choice(slots)
        value = self._placeholder_value(src, compiled, name_values, msg, compiled.rk.parts[i])
        if value is None:
            return None
        rk = self._render_parts(compiled.rk, msg, name_values, {i: value})
        new = self._rebuild(src, example, msg, compiled, name_values, rk=rk)
        return self._mutant("rk_placeholder", new, example,
                            f"routing-key word {{{compiled.rk.parts[i][1]}}} is {value!r}")

    def _swap_word(self, src, text, template_text):
        """`text` (a filled template) with one of its template's literal words replaced: by
        another literal word of the catalogue's keys and ACLs, or by a made-up one."""
        slots = self._literal_slots(template_text)
        words = text.split(".")
        if not slots or len(words) != len(template_text.split(".")):
            return None
        index = src.choice(slots)
        old = words[index]
        others = [w for w in self.literal_words if w != old]
        new_word = src.choice(others) if others and src.boolean() else old[::-1] + "x"
        words[index] = new_word
        return ".".join(words), old, new_word

    def _mut_rk_literal(self, src, example, msg, compiled, name_values, target):
        swapped = self._swap_word(src, example.routing_key, compiled.rk.text)
        if swapped is None:
            return None
        rk, old, new_word = swapped
        new = self._rebuild(src, example, msg, compiled, name_values, rk=rk)
        return self._mutant("rk_literal", new, example,
                            f"routing-key word {old!r} became {new_word!r}")

    def _mut_acl_other(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is None:
            return None
        slots = [i for i, p in enumerate(compiled.acl.parts) if type(p) is not str]
        acl = None
        if slots:
            # Another user: prefer the placeholders the data carries.
            data_slots = [i for i in slots if compiled.acl.parts[i][0] == "path"] or slots
            i = src.choice(data_slots)
            value = self._placeholder_value(src, compiled, name_values, msg,
                                            compiled.acl.parts[i])
            if value is not None:
                acl = self._render_parts(compiled.acl, msg, name_values, {i: value})
                detail = f"ACL word {{{compiled.acl.parts[i][1]}}} is {value!r}"
        if acl is None:
            swapped = self._swap_word(src, example.msg["required_acl"], compiled.acl.text)
            if swapped is None:
                return None
            acl, old, new_word = swapped
            detail = f"ACL word {old!r} became {new_word!r}"
        new = self._rebuild(src, example, msg, compiled, name_values, acl=acl)
        if self.covered(example.name, "A502", "$.required_acl", acl, new.msg):
            return None
        return self._mutant("acl_other", new, example, detail)

    def _mut_acl_missing(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is None:
            return None
        msg.pop("required_acl", None)
        new = self._rebuild(src, example, msg, compiled, name_values, keep_acl=False)
        if self.covered(example.name, "A500", "$.required_acl", MISSING, new.msg):
            return None
        return self._mutant("acl_missing", new, example, "required_acl dropped")

    def _mut_acl_null(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is None:
            return None
        new = self._rebuild(src, example, msg, compiled, name_values, acl=None)
        if self.covered(example.name, "A501", "$.required_acl", None, new.msg):
            return None
        return self._mutant("acl_null", new, example, "required_acl is null")

    def _mut_acl_added(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is not None:
            return None
        candidates = ["events." + example.routing_key, "events.#", None,
                      "events.users." + uuid_value(src)]
        start = src.integer(0, len(candidates) - 1)
        for acl in candidates[start:] + candidates[:start]:
            new = self._rebuild(src, example, msg, compiled, name_values, acl=acl)
            if not self.covered(example.name, "A503", "$.required_acl", acl, new.msg):
                return self._mutant("acl_added", new, example,
                                    f"required_acl {acl!r} added")
        return None

    def _mut_rename(self, src, example, msg, compiled, name_values, target):
        old = example.name
        candidates = [f"{old}_renamed", f"renamed_{old}", f"x{old.lower()}", f"{old}s", f"_{old}"]
        start = src.integer(0, len(candidates) - 1)
        for new_name in candidates[start:] + candidates[:start]:
            if self.checker.resolve(new_name) is None:
                msg["name"] = new_name
                ordered = {"name": new_name, "origin_uuid": msg["origin_uuid"]}
                if "required_acl" in msg:
                    ordered["required_acl"] = msg["required_acl"]
                ordered["data"] = msg["data"]
                new = Example(new_name, example.event, example.routing_key,
                              dict(example.properties), self.dumps(src, ordered), ordered, {})
                return self._mutant("rename", new, example,
                                    f"renamed {old!r} to {new_name!r}")
        return None

    def _mut_origin_uuid(self, src, example, msg, compiled, name_values, target):
        good = msg["origin_uuid"]
        bad = src.choice((good[:-1], good[:-1] + "g", good.replace("-", ""), 42, None, "",
                          good + "\n", "{" + good + "}"))
        msg["origin_uuid"] = bad
        new = self._rebuild(src, example, msg, compiled, name_values, rk=example.routing_key,
                            acl=example.msg.get("required_acl", MISSING))
        if self.covered(example.name, "D605", "$.origin_uuid", bad, new.msg):
            return None
        return self._mutant("origin_uuid", new, example, f"origin_uuid is {bad!r}")

    def _mut_truncate(self, src, example, msg, compiled, name_values, target):
        text = example.body.decode("utf-8")
        cut = src.integer(0, len(text) - 1)
        body = text[:cut].encode("utf-8")  # at a character boundary: still UTF-8
        new = Example(example.name, example.event, example.routing_key, dict(example.properties),
                      body, None, dict(example.name_values))
        return self._mutant("truncate", new, example, f"body cut to {len(body)} bytes")

    def _mut_no_origin(self, src, example, msg, compiled, name_values, target):
        del msg["origin_uuid"]
        body = json.dumps(msg, ensure_ascii=src.boolean()).encode("utf-8")
        new = Example(example.name, example.event, example.routing_key,
                      dict(example.properties), body, msg, dict(name_values))
        return self._mutant("no_origin", new, example, "origin_uuid dropped")

    def _mut_name_not_string(self, src, example, msg, compiled, name_values, target):
        msg["name"] = src.integer(0, 1000)
        body = json.dumps(msg, ensure_ascii=src.boolean()).encode("utf-8")
        new = Example(example.name, example.event, example.routing_key,
                      dict(example.properties), body, msg, dict(name_values))
        return self._mutant("name_not_string", new, example, f"name is {msg['name']}")

    def _with_body(self, kind, example, body, detail, properties=None, msg=None):
        new = Example(example.name, example.event, example.routing_key,
                      dict(properties or example.properties), body, msg,
                      dict(example.name_values))
        return self._mutant(kind, new, example, detail)

    def _mut_not_utf8(self, src, example, msg, compiled, name_values, target):
        body = example.body
        at = body.index(b'"data"') if b'"data"' in body else 1
        return self._with_body("not_utf8", example, body[:at] + b"\xff" + body[at:],
                               f"byte 0xff at offset {at}")

    def _mut_array_body(self, src, example, msg, compiled, name_values, target):
        return self._with_body("array_body", example, b"[" + example.body + b"]",
                               "the body is a JSON array", msg=[msg])

    def _mut_text_plain(self, src, example, msg, compiled, name_values, target):
        return self._with_body("text_plain", example, example.body, "content type text/plain",
                               {"content_type": "text/plain"}, msg)
