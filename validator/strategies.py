"""Schema-valid bus messages generated from the catalogue, for hypothesis and for seeds.

Everything here is driven by specs/events.yaml: no event is named in this module. One
walker interprets the (small) JSON Schema subset the catalogue uses and asks a *source*
for every choice it makes. Two sources exist:

- HypothesisSource wraps a hypothesis `draw`, so the strategies below shrink to minimal
  messages (`messages()`, `examples()`, `erratum_examples()`, `mutants()`);
- RandomSource wraps a `random.Random`, so a seed gives byte-identical output in any
  process (`examples`, `docs` and `publish` use it: hypothesis' `.example()` is not seedable).

On top of the walker:

- `Generator.valid()`: a documented message for a target version, routing key and
  required_acl filled by the checker's own compiled templates from the same values;
- `Generator.erratum_variant()`: the shape an erratum documents, built from its covers
  (D600 drops the path, D601/D605/D604 set it to a value of the cover's `value` schema,
  A-codes set the ACL from the cover's templates), with the covers' `when` conditions met;
- `Generator.mutate()`: one catalogue-driven fault and the finding codes it must raise.

Realistic values come from three places, all data: the formats of the catalogue's
patterns (UUIDs, Asterisk channel ids, creation times, voicemail message ids, recognised by
their pattern text; any other pattern is generated from the regex itself), the page's own
examples (harvested per schema location: caller names, service names, AMI headers...), and
small vocabularies below (AMI event names, header-like keys, words).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import random
import re
import re._constants as _sre
import re._parser as _sre_parse
import uuid as _uuid
from dataclasses import dataclass, field

import jsonschema
import orjson

from .catalogue import Catalogue, EventSpec, Erratum, parse_version, split_path
from .check import MISSING, Checker, Template, get_path, render
from .findings import json_path

__all__ = [
    "Example", "Generator", "GenerationError", "HypothesisSource", "MUTATIONS", "Mutant",
    "RandomSource", "Target", "erratum_examples", "examples", "generator", "messages",
    "mutants", "parse_json_path", "representative_versions",
]


class GenerationError(Exception):
    """The catalogue asks for something this generator cannot build (named precisely)."""


# -- sources of choices -------------------------------------------------------------------

class RandomSource:
    """Choices from a random.Random: the same seed, the same bytes, in any process."""

    def __init__(self, seed=0):
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def choice(self, seq):
        seq = list(seq)
        return seq[self.rng.randrange(len(seq))]

    def text(self, alphabet: str, lo: int, hi: int) -> str:
        n = self.rng.randint(lo, hi)
        return "".join(alphabet[self.rng.randrange(len(alphabet))] for _ in range(n))

    def bits(self, n: int) -> int:
        return self.rng.getrandbits(n)


def _st():
    # hypothesis is imported only by the strategies: the CLI's generators do not need it.
    from hypothesis import strategies
    return strategies


class HypothesisSource:
    """Choices drawn by hypothesis: the messages shrink."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(_st().integers(lo, hi))

    def boolean(self) -> bool:
        return self.draw(_st().booleans())

    def choice(self, seq):
        return self.draw(_st().sampled_from(list(seq)))

    def text(self, alphabet: str, lo: int, hi: int) -> str:
        return self.draw(_st().text(alphabet=alphabet, min_size=lo, max_size=hi))

    def bits(self, n: int) -> int:
        return self.draw(_st().integers(0, 2 ** n - 1))


# -- realistic values ------------------------------------------------------------------------

EPOCH_RANGE = (1420070400, 1514764799)  # 2015-01-01 .. 2017-12-31, the versions' years
UTC_OFFSETS = (-300, -240, 0, 60, 120, -420, 330, 0)  # minutes
# Mostly plain text; now and then the characters real names and tags carry.
PLAIN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_"
ALPHABET = PLAIN_ALPHABET + ".,:/@'éèàçüöÉßñ北京€😀"
BOUND_ALPHABET = ALPHABET.replace(".", "")  # a routing-key word holds no dot
# Integers with no bounds: mostly small ids and counts, sometimes anything 32 bits hold.
INTEGER_RANGES = ((0, 100), (0, 100), (0, 100_000), (0, 100), (-100, 100), (0, 100_000),
                  (-2 ** 31, 2 ** 31 - 1), (0, 2 ** 31 - 1))
WORDS = ("Alice", "Bob", "Some One", "1001", "1002", "Zoë", "Québec", "inbox", "internal",
         "personal", "xivo-ctid", "xivo-ctid-ng", "default", "sip/m3ylhs", "Hi!", "bonjour",
         "available", "away", "busy", "John", "Doe", "café", "北京", "")
KEY_WORDS = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
             "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
             "Exten", "Priority", "Uniqueid", "Linkedid", "Variable", "Value", "Cause",
             "firstname", "lastname", "phone", "company")
# Real AMI events: the vocabulary for a name placeholder given by a pattern.
NAME_WORDS = ("QueueMemberStatus", "Newchannel", "Newstate", "Hangup", "HangupRequest",
              "DialBegin", "DialEnd", "BridgeCreate", "BridgeEnter", "BridgeLeave", "VarSet",
              "NewCallerid", "NewConnectedLine", "Newexten", "AgentConnect", "AgentCalled",
              "AgentComplete", "QueueCallerJoin", "QueueCallerLeave", "PeerStatus", "Registry",
              "Hold", "Unhold", "MusicOnHoldStart", "MusicOnHoldStop", "UserEvent",
              "DeviceStateChange", "ExtensionStatus", "FullyBooted", "Cdr", "CEL",
              "MessageWaiting", "AttendedTransfer", "BlindTransfer", "LocalBridge",
              "ConfbridgeJoin", "ConfbridgeLeave", "DTMFBegin", "DTMFEnd", "RTCPSent")


def _uuid_value(src) -> str:
    return str(_uuid.UUID(int=src.bits(128), version=4))


def _epoch(src) -> int:
    return src.integer(*EPOCH_RANGE)


def _channel_id(src) -> str:
    return f"{_epoch(src)}.{src.integer(0, 400)}"


def _voicemail_id(src) -> str:
    return f"{_epoch(src)}-{src.integer(0, 99):08d}"


def _creation_time(src) -> str:
    offset = src.choice(UTC_OFFSETS)
    tz = _dt.timezone(_dt.timedelta(minutes=offset))
    when = _dt.datetime.fromtimestamp(_epoch(src), tz)
    sign = "-" if offset < 0 else "+"
    return (when.strftime("%Y-%m-%dT%H:%M:%S") + f".{src.integer(0, 999):03d}"
            + f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}")


# Formats recognised by the exact text of a catalogue pattern. A pattern not listed here is
# generated from the regex itself, so a new pattern needs no Python; a test checks that each
# of these produces strings its pattern accepts.
REALISTIC_PATTERNS = {
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$": _uuid_value,
    "^[0-9]+\\.[0-9]+$": _channel_id,
    "^[0-9]+-[0-9]{8}$": _voicemail_id,
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?[+-][0-9]{4}$":
        _creation_time,
}


# -- strings from a regex ----------------------------------------------------------------------

_CATEGORY_CHARS = {
    _sre.CATEGORY_DIGIT: "0123456789",
    _sre.CATEGORY_SPACE: " \t",
    _sre.CATEGORY_WORD: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
}
_NOT_CATEGORY = {
    _sre.CATEGORY_NOT_DIGIT: _sre.CATEGORY_DIGIT,
    _sre.CATEGORY_NOT_SPACE: _sre.CATEGORY_SPACE,
    _sre.CATEGORY_NOT_WORD: _sre.CATEGORY_WORD,
}
_REGEX_ALPHABET = "".join(dict.fromkeys(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/@é"))
_PARSED: dict[str, object] = {}


def regex_string(src, pattern: str, exclude: str = "") -> str:
    """A string that `re.search(pattern)` accepts (and fullmatches the unanchored pattern)."""
    parsed = _PARSED.get(pattern)
    if parsed is None:
        parsed = _PARSED[pattern] = _sre_parse.parse(pattern)
    groups: dict = {}
    text = "".join(_emit(src, parsed, groups, exclude))
    if not re.search(pattern, text):
        raise GenerationError(f"pattern {pattern!r}: cannot generate a matching string "
                              "(lookarounds and backreferences are not supported)")
    return text


def _class_chars(items, exclude: str) -> tuple[str, bool]:
    """The characters of a [...] class (from the generation alphabet when negated)."""
    negate = False
    chars: list[str] = []
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            chars.append(chr(av))
        elif op is _sre.RANGE:
            lo, hi = av
            chars.extend(chr(c) for c in range(lo, min(hi, lo + 200) + 1))
        elif op is _sre.CATEGORY:
            if av in _CATEGORY_CHARS:
                chars.extend(_CATEGORY_CHARS[av])
            elif av in _NOT_CATEGORY:
                base = _CATEGORY_CHARS[_NOT_CATEGORY[av]]
                chars.extend(c for c in _REGEX_ALPHABET if c not in base)
        else:
            raise GenerationError(f"regex class item {op} is not supported")
    if negate:
        chars = [c for c in _REGEX_ALPHABET if c not in chars]
    chars = [c for c in dict.fromkeys(chars) if c not in exclude]
    if not chars:
        raise GenerationError("a regex character class with no usable character")
    return "".join(chars), negate


def _emit(src, parsed, groups, exclude):
    for op, av in parsed:
        if op is _sre.LITERAL:
            yield chr(av)
        elif op is _sre.NOT_LITERAL:
            yield src.choice([c for c in _REGEX_ALPHABET if ord(c) != av and c not in exclude])
        elif op is _sre.ANY:
            yield src.choice([c for c in _REGEX_ALPHABET if c not in exclude])
        elif op is _sre.IN:
            chars, _ = _class_chars(av, exclude)
            yield src.choice(chars)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + 6 if hi is _sre.MAXREPEAT or hi > lo + 6 else hi
            for _ in range(src.integer(lo, hi)):
                yield from _emit(src, sub, groups, exclude)
        elif op is _sre.SUBPATTERN:
            group, _add, _del, sub = av
            text = "".join(_emit(src, sub, groups, exclude))
            if group is not None:
                groups[group] = text
            yield text
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            yield from _emit(src, av, groups, exclude)
        elif op is _sre.BRANCH:
            _, branches = av
            yield from _emit(src, src.choice(branches), groups, exclude)
        elif op is _sre.AT:
            continue
        elif op is _sre.GROUPREF:
            yield groups.get(av, "")
        else:
            raise GenerationError(f"regex operator {op} is not supported")


# -- JSON Schema helpers -----------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def parse_json_path(path: str) -> tuple:
    """'$.data.to[1]' -> ('data', 'to', 1): the inverse of findings.json_path."""
    if not path.startswith("$"):
        raise GenerationError(f"{path!r} is not a JSON path")
    out: list = []
    pos = 1
    while pos < len(path):
        m = _PATH_TOKEN.match(path, pos)
        if not m:
            raise GenerationError(f"{path!r} is not a JSON path this generator reads")
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(re.sub(r"\\(.)", r"\1", m.group(3)))
        pos = m.end()
    return tuple(out)


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


JSON_TYPES = ("integer", "string", "boolean", "array", "object", "null", "number")


def set_path(msg, path: tuple, value) -> None:
    node = msg
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, list):
        while len(node) <= path[-1]:
            node.append(None)
    node[path[-1]] = value


def del_path(msg, path: tuple) -> bool:
    node = get_path(msg, path[:-1])
    if type(node) is dict and path[-1] in node:
        del node[path[-1]]
        return True
    return False


class Schemas:
    """Reference resolution and navigation over the catalogue's schemas."""

    def __init__(self, definitions: dict):
        self.definitions = definitions
        self._validators: dict[str, object] = {}

    def resolve(self, schema, loc: tuple = ()):
        """(schema with its $ref merged in, location of the resolved node)."""
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/$defs/") or ref[8:] not in self.definitions:
                raise GenerationError(f"$ref {ref} names no definition")
            target = self.definitions[ref[8:]]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = dict(target, **{k: v for k, v in siblings.items() if k != "description"})
            if "description" not in target and "description" in siblings:
                schema["description"] = siblings["description"]
            loc = ("$defs", ref[8:])
            seen += 1
            if seen > 50:
                raise GenerationError(f"$ref {ref} loops")
        return schema, loc

    def child(self, schema, part):
        """The schema of `part` (a key or an index) inside an instance of `schema`."""
        schema, _ = self.resolve(schema)
        if not isinstance(schema, dict):
            return {} if schema is not False else None
        if isinstance(part, int):
            prefix = schema.get("prefixItems") or []
            if part < len(prefix):
                return prefix[part]
            items = schema.get("items")
            return {} if items is None or items is True else items
        props = schema.get("properties") or {}
        if part in props:
            return props[part]
        extra = schema.get("additionalProperties")
        return {} if extra is None or extra is True else extra

    def at(self, schema, path: tuple):
        for part in path:
            if schema is None or schema is False:
                return None
            schema = self.child(schema, part)
        return schema

    def types(self, schema) -> tuple[str, ...] | None:
        """The JSON types a schema allows, or None when it does not restrict them."""
        schema, _ = self.resolve(schema)
        if not isinstance(schema, dict):
            return None
        if "const" in schema:
            return (json_type(schema["const"]),)
        if "enum" in schema:
            return tuple(dict.fromkeys(json_type(v) for v in schema["enum"]))
        t = schema.get("type")
        if t is None:
            return None
        t = (t,) if isinstance(t, str) else tuple(t)
        return t + ("integer",) if "number" in t and "integer" not in t else t

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            full = (dict(schema, **{"$defs": self.definitions}) if isinstance(schema, dict)
                    else schema)
            v = self._validators[key] = jsonschema.Draft202012Validator(full)
        return v

    def is_valid(self, schema, value) -> bool:
        return self.validator(schema).is_valid(value)

    def nodes(self, schema, value, path: tuple = ()):
        """(path, schema) of every value inside `value`, itself first."""
        yield path, schema
        if isinstance(value, dict):
            for k, v in value.items():
                sub = self.child(schema, k)
                if sub is not None:
                    yield from self.nodes(sub, v, path + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                sub = self.child(schema, i)
                if sub is not None:
                    yield from self.nodes(sub, v, path + (i,))

    def merge(self, base, extra):
        """A schema for values valid against both (the simple keywords errata conditions use)."""
        base, _ = self.resolve(base)
        extra, _ = self.resolve(extra)
        if not isinstance(extra, dict) or not extra:
            return base
        if not isinstance(base, dict):
            return extra
        out = dict(base)
        if "const" in extra:
            return {"const": extra["const"]}
        if "enum" in extra:
            out["enum"] = [v for v in extra["enum"] if self.is_valid(base, v)] or extra["enum"]
        if "type" in extra:
            mine = self.types(base)
            theirs = (extra["type"],) if isinstance(extra["type"], str) else tuple(extra["type"])
            out["type"] = [t for t in theirs if mine is None or t in mine] or list(theirs)
        for k, v in extra.items():
            if k not in ("const", "enum", "type", "description") and k not in out:
                out[k] = v
        return out


# -- the walker ------------------------------------------------------------------------------

class Walker:
    """Values of a schema, every choice asked of a source."""

    def __init__(self, schemas: Schemas, samples: dict):
        self.schemas = schemas
        self.samples = samples

    def gen(self, src, schema, loc: tuple = (), path: tuple = (), bound: frozenset = frozenset(),
            depth: int = 0):
        if depth > 12:
            raise GenerationError(f"schema at {loc} nests deeper than 12 levels")
        if schema is True or schema is None:
            schema = {}
        if schema is False:
            raise GenerationError(f"schema at {loc} accepts nothing")
        schema, loc = self.schemas.resolve(schema, loc)
        for key in ("allOf", "not", "if", "dependentSchemas", "dependentRequired",
                    "patternProperties", "propertyNames", "contains", "unevaluatedProperties",
                    "unevaluatedItems"):
            if key in schema:
                raise GenerationError(f"schema keyword {key!r} (at {'/'.join(map(str, loc))}) "
                                      "is not supported by the generator")
        is_bound = path in bound
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            values = [v for v in schema["enum"] if not is_bound or "." not in render(v)]
            return copy.deepcopy(src.choice(values or schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branch = src.choice(schema[key])
                rest = {k: v for k, v in schema.items() if k != key}
                return self.gen(src, self.schemas.merge(rest, branch) if rest else branch,
                                loc + (key,), path, bound, depth + 1)
        types = self.schemas.types(schema)
        if types is None:
            types = self._implied_types(schema)
        kind = src.choice(types) if len(types) > 1 else types[0]
        if kind == "null":
            return None
        if kind == "boolean":
            return src.boolean()
        if kind == "integer":
            return self._integer(src, schema, loc)
        if kind == "number":
            whole = self._integer(src, schema, loc)
            value = whole + src.integer(0, 99) / 100
            hi = schema.get("maximum")
            return value if hi is None or value <= hi else whole
        if kind == "string":
            return self._string(src, schema, loc, is_bound)
        if kind == "array":
            return self._array(src, schema, loc, path, bound, depth)
        if kind == "object":
            return self._object(src, schema, loc, path, bound, depth)
        raise GenerationError(f"type {kind!r} at {loc} is not a JSON type")

    @staticmethod
    def _implied_types(schema) -> tuple[str, ...]:
        if any(k in schema for k in ("properties", "required", "additionalProperties",
                                     "minProperties", "maxProperties")):
            return ("object",)
        if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
            return ("array",)
        if any(k in schema for k in ("pattern", "minLength", "maxLength", "format")):
            return ("string",)
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum",
                                     "exclusiveMaximum", "multipleOf")):
            return ("integer",)
        return ("string", "integer", "boolean")

    def _sample(self, src, loc, accept=lambda v: True):
        pool = [v for v in self.samples.get(loc, ()) if accept(v)]
        if pool and src.integer(0, 2) == 0:
            return True, copy.deepcopy(src.choice(pool))
        return False, None

    def _integer(self, src, schema, loc) -> int:
        lo = schema.get("minimum")
        hi = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            lo = max(lo if lo is not None else -2 ** 62, schema["exclusiveMinimum"] + 1)
        if "exclusiveMaximum" in schema:
            hi = min(hi if hi is not None else 2 ** 62, schema["exclusiveMaximum"] - 1)
        lo = None if lo is None else int(-(-lo // 1))
        hi = None if hi is None else int(hi // 1)
        hit, value = self._sample(src, loc, lambda v: type(v) is int and (lo is None or v >= lo)
                                  and (hi is None or v <= hi))
        if hit:
            return value
        if lo is None and hi is None:
            lo, hi = src.choice(INTEGER_RANGES)
        elif lo is None:
            lo = hi - src.choice((100, 100_000))
        elif hi is None:
            hi = lo + src.choice((100, 100_000))
        if lo > hi:
            raise GenerationError(f"integer at {loc}: minimum above maximum")
        value = src.integer(lo, hi)
        m = schema.get("multipleOf")
        if m:
            value = (value // m) * m
            if value < lo:
                value += m
        return value

    def _string(self, src, schema, loc, is_bound: bool) -> str:
        lo = schema.get("minLength", 0)
        hi = schema.get("maxLength", 10_000 if "pattern" in schema else max(lo, 24))
        exclude = "." if is_bound else ""
        pattern = schema.get("pattern")
        if pattern is not None:
            maker = REALISTIC_PATTERNS.get(pattern)
            for _ in range(20):
                text = maker(src) if maker else regex_string(src, pattern, exclude)
                if lo <= len(text) <= hi and not (is_bound and "." in text):
                    return text
            raise GenerationError(f"pattern {pattern!r} at {loc}: no string of length "
                                  f"{lo}..{hi}" + (" without a dot" if is_bound else ""))

        def fits(v):
            return (type(v) is str and lo <= len(v) <= hi
                    and not (is_bound and ("." in v or not v)))
        hit, value = self._sample(src, loc, fits)
        if hit:
            return value
        if src.boolean():
            words = [w for w in WORDS if fits(w)]
            if words:
                return src.choice(words)
        if src.integer(0, 3):
            alphabet = PLAIN_ALPHABET
        else:
            alphabet = BOUND_ALPHABET if is_bound else ALPHABET
        # A routing-key word is never empty in real traffic.
        lo = max(lo, 1) if is_bound else lo
        return src.text(alphabet, lo, max(lo, min(hi, lo + 24)))

    def _array(self, src, schema, loc, path, bound, depth) -> list:
        prefix = schema.get("prefixItems") or []
        items = schema.get("items")
        lo = max(schema.get("minItems", 0), 0)
        hi = schema.get("maxItems")
        depth_here = len(path)
        needed = max((p[depth_here] + 1 for p in bound if len(p) > depth_here
                      and p[:depth_here] == path and isinstance(p[depth_here], int)), default=0)
        if items is False:
            hi = min(hi, len(prefix)) if hi is not None else len(prefix)
        if hi is None:
            hi = max(lo, len(prefix)) + (0 if prefix else 3)
        lo = max(lo, needed, len(prefix) if hi >= len(prefix) else 0)
        if lo > hi:
            raise GenerationError(f"array at {loc}: minItems above maxItems")
        n = src.integer(lo, hi)
        out = []
        for i in range(n):
            if i < len(prefix):
                sub, sub_loc = prefix[i], loc + (i,)
            else:
                sub, sub_loc = (items if isinstance(items, (dict, bool)) else {}), loc + ("[]",)
            out.append(self.gen(src, sub, sub_loc, path + (i,), bound, depth + 1))
        if schema.get("uniqueItems"):
            seen, unique = set(), []
            for v in out:
                key = orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
                if key not in seen:
                    seen.add(key)
                    unique.append(v)
            if len(unique) < lo:
                raise GenerationError(f"array at {loc}: could not make {lo} unique items")
            out = unique
        return out

    def _object(self, src, schema, loc, path, bound, depth) -> dict:
        props = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        extra = schema.get("additionalProperties")
        bound_here = {p[len(path)] for p in bound if len(p) > len(path) and p[:len(path)] == path}
        out: dict = {}
        for k, sub in props.items():
            if k in required or k in bound_here or src.boolean():
                out[k] = self.gen(src, sub, loc + (k,), path + (k,), bound, depth + 1)
        for k in required:
            if k not in out:
                sub = extra if isinstance(extra, dict) else {"type": "string"}
                out[k] = self.gen(src, sub, loc + ("*",), path + (k,), bound, depth + 1)
        if extra is False:
            return out
        if props and not isinstance(extra, dict):
            return out  # documented fields only: an extra is worth a D604 finding
        lo = max(schema.get("minProperties", 0) - len(out), 0)
        hi = min(schema.get("maxProperties", len(out) + 6) - len(out), 6)
        if hi < lo:
            hi = lo
        n = src.integer(lo, hi) if not props else src.integer(lo, min(hi, 2))
        value_schema = extra if isinstance(extra, dict) else None
        key_pool = list(dict.fromkeys(list(self.samples.get(loc + ("*key",), ()))
                                      + list(KEY_WORDS)))
        for _ in range(n):
            if src.integer(0, 3):
                key = src.choice(key_pool)
            else:
                key = src.text(BOUND_ALPHABET, 1, 12)
            if key in out or key in props:
                continue
            if value_schema is None:
                hit, value = self._sample(src, loc + ("*",))
                out[key] = value if hit else self.gen(
                    src, {"type": src.choice(("string", "string", "integer", "boolean"))},
                    loc + ("*",), path + (key,), bound, depth + 1)
            else:
                out[key] = self.gen(src, value_schema, loc + ("*",), path + (key,), bound,
                                    depth + 1)
        if len(out) < schema.get("minProperties", 0):
            raise GenerationError(f"object at {loc}: could not reach minProperties")
        return out


def harvest(catalogue: Catalogue, schemas: Schemas) -> dict:
    """Values of the page's own examples, per schema location: realistic samples."""
    samples: dict[tuple, list] = {}

    def add(loc, value):
        pool = samples.setdefault(loc, [])
        if value not in pool:
            pool.append(value)

    def walk(schema, value, loc):
        if schema is None or schema is False:
            return
        schema, loc = schemas.resolve(schema if schema is not True else {}, loc)
        if not isinstance(schema, dict) or "const" in schema or "enum" in schema:
            return
        if not schemas.is_valid(schema, value):
            return
        if isinstance(value, dict):
            props = schema.get("properties") or {}
            for k, v in value.items():
                if k in props:
                    walk(props[k], v, loc + (k,))
                else:
                    add(loc + ("*key",), k)
                    extra = schema.get("additionalProperties")
                    if isinstance(extra, dict):
                        walk(extra, v, loc + ("*",))
                    elif not isinstance(v, (dict, list)):
                        add(loc + ("*",), v)
        elif isinstance(value, list):
            prefix = schema.get("prefixItems") or []
            for i, v in enumerate(value):
                if i < len(prefix):
                    walk(prefix[i], v, loc + (i,))
                elif isinstance(schema.get("items"), dict):
                    walk(schema["items"], v, loc + ("[]",))
        elif isinstance(value, str) and "pattern" not in schema:
            add(loc, value)
        elif type(value) is int:
            add(loc, value)

    for spec in catalogue.events:
        if not spec.example:
            continue
        try:
            msg = orjson.loads(spec.example["body"])
        except orjson.JSONDecodeError:
            continue
        if not isinstance(msg, dict):
            continue
        walk(spec.data, msg.get("data"), (spec.key, "data"))
        name = msg.get("name")
        if spec.is_open_family and isinstance(name, str):
            for ph in spec.name_placeholders.values():
                if ph.values is None and re.fullmatch(ph.pattern, name):
                    add(("name", spec.key, ph.name), name)
    return samples


# -- messages ------------------------------------------------------------------------------------

@dataclass
class Target:
    """One generatable event: a concrete name, or an open family (name drawn per message)."""

    spec: EventSpec
    name: str | None
    name_values: dict

    @property
    def label(self) -> str:
        return self.name or self.spec.key


@dataclass
class Example:
    name: str | None           # the name the message carries
    event: str                 # what it was generated for (a name, or an open family's key)
    routing_key: str
    properties: dict
    body: bytes
    msg: object = None         # the message object the body is the JSON of (None if it is not)
    name_values: dict = field(default_factory=dict)
    erratum: str | None = None

    def as_tuple(self) -> tuple:
        return self.routing_key, self.properties, self.body


@dataclass
class Mutant:
    kind: str
    example: Example
    original: Example
    expected: frozenset
    detail: str


# Single faults, each applied where the catalogue makes it meaningful for an event.
MUTATIONS = {
    "drop_required": "drop a required data field (D600)",
    "change_type": "give a data value another JSON type (D601, D605 for UUIDs, plus D602 "
                   "where an enum no longer holds)",
    "rk_placeholder": "change a routing-key word carried by the data or the name (R401)",
    "rk_literal": "change a literal routing-key word (R400)",
    "acl_other": "give the ACL another user, or another word (A502)",
    "acl_missing": "drop the documented required_acl (A500)",
    "acl_null": "set the documented required_acl to null (A501)",
    "acl_added": "add a required_acl the page does not document (A503)",
    "rename": "rename the event to an undocumented name (N300 + N301)",
    "origin_uuid": "break origin_uuid (D605)",
    "truncate": "truncate the body (B101)",
}


class Generator:
    """Everything the generators need for one catalogue and one target version."""

    def __init__(self, catalogue: Catalogue, wazo_version: str | None = None):
        self.catalogue = catalogue
        self.checker = Checker(catalogue, wazo_version)
        self.version = self.checker.version
        self.errata = self.checker.errata
        self.version_text = self.checker.version_text
        self.schemas = Schemas(catalogue.definitions)
        self.samples = harvest(catalogue, self.schemas)
        self.walker = Walker(self.schemas, self.samples)
        self.properties = {"content_type": catalogue.meta["content_type"]}
        self.all_targets: list[Target] = []
        for spec in catalogue.events:
            if spec.is_open_family:
                self.all_targets.append(Target(spec, None, {}))
            else:
                for name, values in spec.concrete_names():
                    self.all_targets.append(Target(spec, name, values))
        self.targets = [t for t in self.all_targets if not t.spec.introduced_after(self.version)]
        self._views = {}
        literal_words = []
        for spec in catalogue.events:
            for text in (spec.routing_key, spec.required_acl or ""):
                for word in re.sub(r"\{[^{}]*\}", ".", text).split("."):
                    if word and word not in literal_words:
                        literal_words.append(word)
        self.literal_words = literal_words

    # -- targets
    def target(self, name: str) -> Target:
        """A target by concrete name, family key or title, or any name of an open family."""
        for t in self.all_targets:
            if name in (t.name, t.spec.key if t.name is None else None,
                        t.spec.title if t.name is None else None):
                return t
        hit = self.checker.resolve(name)
        if hit is not None:
            compiled, values = hit
            return Target(compiled.spec, name, dict(values))
        raise KeyError(name)

    def exists(self, target: Target) -> bool:
        return not target.spec.introduced_after(self.version)

    def view(self, spec: EventSpec) -> dict:
        v = self._views.get(spec.index)
        if v is None:
            v = self._views[spec.index] = spec.at_version(self.version)
        return v

    def bound_paths(self, spec: EventSpec) -> frozenset:
        view = self.view(spec)
        used = set()
        for text in (view["routing_key"], view["required_acl"]):
            used.update(re.findall(r"\{([^{}]+)\}", text or ""))
        out = set()
        for ph, path in view["bindings"].items():
            parts = split_path(path)
            if ph in used and parts[0] == "data":
                out.add(parts[1:])
        return frozenset(out)

    def _name_for(self, src, target: Target) -> tuple[str, dict]:
        if target.name is not None:
            return target.name, dict(target.name_values)
        for _ in range(20):
            name, values = self._draw_name(src, target.spec)
            hit = self.checker.resolve(name)
            if hit is not None and hit[0].spec is target.spec:
                return name, values
        raise GenerationError(f"{target.spec.key}: the names drawn resolve to another entry "
                              "of the catalogue (do two families' name patterns overlap?)")

    def _draw_name(self, src, spec: EventSpec) -> tuple[str, dict]:
        values = {}
        for ph in spec.name_placeholders.values():
            if ph.values is not None:
                values[ph.name] = src.choice(ph.values)
                continue
            pool = list(dict.fromkeys(
                list(self.samples.get(("name", spec.key, ph.name), ()))
                + [w for w in NAME_WORDS if re.fullmatch(ph.pattern, w)]))
            if pool and src.integer(0, 4):
                values[ph.name] = src.choice(pool)
            else:
                values[ph.name] = regex_string(src, f"^(?:{ph.pattern})$", ".")
        return spec.name_template.format(**values), values

    def compiled(self, name: str):
        hit = self.checker.resolve(name)
        if hit is None:
            raise GenerationError(f"{name!r} does not resolve to a catalogue event")
        return hit

    # -- valid messages
    def valid(self, src, target: Target) -> Example:
        name, _ = self._name_for(src, target)
        compiled, name_values = self.compiled(name)
        spec = target.spec
        data = self.walker.gen(src, self.view(spec)["data"], (spec.key, "data"), (),
                               self.bound_paths(spec))
        msg = {"name": name, "origin_uuid": _uuid_value(src), "data": data}
        return self._finish(src, target, msg, name_values, compiled)

    def _finish(self, src, target, msg, name_values, compiled, *, acl=MISSING, rk=None,
                erratum=None) -> Example:
        """Fill the ACL and routing key from the templates; serialize like a publisher."""
        if acl is MISSING:
            acl = compiled.acl.fill(msg, name_values) if compiled.acl is not None else MISSING
        ordered = {"name": msg["name"], "origin_uuid": msg["origin_uuid"]}
        if acl is not MISSING:
            ordered["required_acl"] = acl
        ordered["data"] = msg["data"]
        if rk is None:
            rk = compiled.rk.fill(ordered, name_values)
            if rk is MISSING:
                raise GenerationError(f"{msg['name']}: the routing key's bound values are missing")
        return Example(msg["name"], target.label, rk, dict(self.properties),
                       self.dumps(src, ordered), ordered, dict(name_values), erratum)

    @staticmethod
    def dumps(src, msg) -> bytes:
        # As the Python publishers do (json.dumps), ASCII-escaped or not.
        return json.dumps(msg, ensure_ascii=src.boolean()).encode("utf-8")

    # -- errata
    def errata_for(self, target: Target) -> list[Erratum]:
        """The errata with a cover for this target at this version (open families: none)."""
        if target.name is None:
            return []
        return [e for e in self.catalogue.errata if self._applicable(e, target)]

    @staticmethod
    def _covers(erratum: Erratum, name: str):
        return [c for c in erratum.covers if name in (c.events or erratum.events)]

    def _applicable(self, erratum: Erratum, target: Target):
        """The erratum's covers for this name whose path fits the version's data shape: a
        D600 path is a required field, a D604 path an undeclared one, another code's path a
        declared one (errata describe the contract version's shape)."""
        data = self.view(target.spec)["data"]
        out = []
        for c in self._covers(erratum, target.name):
            path = parse_json_path(c.path) if c.path else None
            if path and path[0] == "data" and len(path) > 1:
                parent = self.schemas.at(data, path[1:-1])
                parent, _ = self.schemas.resolve(parent) if parent is not None else (None, None)
                props = parent.get("properties") or {} if isinstance(parent, dict) else {}
                declared = path[-1] in props
                if c.code == "D600" and not (declared and path[-1] in (parent.get("required")
                                                                       or ())):
                    continue
                if c.code == "D604" and declared:
                    continue
                if c.code not in ("D600", "D604") and not declared:
                    continue
            out.append(c)
        return out

    def erratum_variant(self, src, target: Target, erratum: Erratum, full: bool = False
                        ) -> Example:
        """A message with the shape the erratum documents (some of its covers, all holding;
        with `full`, every data cover and one of the ACL covers)."""
        base = self.valid(src, target)
        name = base.name
        compiled, name_values = self.compiled(name)
        covers = self._applicable(erratum, target if target.name else Target(
            target.spec, name, name_values))
        if not covers:
            raise GenerationError(f"erratum {erratum.id} does not concern {name} at "
                                  f"{self.version_text}")
        acl_covers = [c for c in covers if c.code.startswith("A")]
        data_covers = [c for c in covers if not c.code.startswith("A")]
        for c in data_covers:
            if c.path is None or (c.value is None and c.code != "D600"):
                raise GenerationError(f"erratum {erratum.id}: cover {c.code} gives no path or "
                                      "value to build a message from")
        if full:
            chosen_acl = src.choice(acl_covers) if acl_covers else None
            chosen = list(data_covers)
        else:
            chosen_acl = src.choice([None] + acl_covers) if acl_covers else None
            chosen = [c for c in data_covers if src.boolean()]
        if not chosen and chosen_acl is None:
            pick = src.choice(covers)
            if pick.code.startswith("A"):
                chosen_acl = pick
            else:
                chosen = [pick]
        msg = copy.deepcopy(base.msg)
        msg.pop("required_acl", None)
        data_schema = self.view(target.spec)["data"]
        for c in chosen:
            path = parse_json_path(c.path)
            if c.code == "D600":
                del_path(msg, path)
            else:
                set_path(msg, path, self._cover_value(src, c, erratum, path))
        for c in chosen + ([chosen_acl] if chosen_acl else []):
            if c.when is not None:
                self._conform(src, msg, c.when, (), covers, erratum, data_schema)
                if not self.schemas.is_valid(c.when, msg):
                    raise GenerationError(f"erratum {erratum.id}: cannot meet the `when` of "
                                          f"cover {c.code} {c.path or ''}")
        # The ACL: the documented one, unless a chosen cover says which it may be.
        acl = compiled.acl.fill(msg, name_values) if compiled.acl is not None else MISSING
        allowed = None
        for c in chosen + ([chosen_acl] if chosen_acl else []):
            if c.acl is not None:
                values = [None if t is None else Template(t, {}, {}).fill(msg) for t in c.acl]
                allowed = values if allowed is None else [v for v in allowed if v in values]
        if chosen_acl is not None and chosen_acl.code == "A500":
            acl = MISSING
        elif chosen_acl is not None and chosen_acl.code == "A501":
            acl = None
        elif allowed is not None and acl not in allowed:
            usable = [v for v in allowed if v is not MISSING]
            if not usable:
                raise GenerationError(f"erratum {erratum.id}: no ACL satisfies its covers")
            acl = src.choice(usable)
        rk = compiled.rk.fill(msg, name_values)
        return self._finish(src, target, msg, name_values, compiled, acl=acl,
                            rk=base.routing_key if rk is MISSING else rk, erratum=erratum.id)

    def _cover_value(self, src, cover, erratum, path, extra=None):
        schema = cover.value if extra is None else self.schemas.merge(cover.value, extra)
        loc = ("errata", erratum.id, cover.code, cover.path)
        for _ in range(20):
            value = self.walker.gen(src, schema, loc, path[1:], frozenset())
            if self.schemas.is_valid(cover.value, value) and (
                    extra is None or self.schemas.is_valid(extra, value)):
                return value
        raise GenerationError(f"erratum {erratum.id}: no value for {cover.path} satisfies "
                              "its cover and conditions")

    def _conform(self, src, msg, when, path, covers, erratum, data_schema):
        """Make the message satisfy a cover's `when` (properties, required, const, enum, type)."""
        when, _ = self.schemas.resolve(when)
        if not isinstance(when, dict):
            return
        node = get_path(msg, path)
        if path and node is not MISSING and not self.schemas.is_valid(
                {k: v for k, v in when.items() if k in ("const", "enum", "type")}, node):
            set_path(msg, path, self._source_value(src, path, covers, erratum, data_schema, when))
            node = get_path(msg, path)
        if not isinstance(node, dict):
            return
        props = when.get("properties") or {}
        for k in when.get("required") or ():
            if k not in node:
                set_path(msg, path + (k,), self._source_value(
                    src, path + (k,), covers, erratum, data_schema, props.get(k, {})))
        for k, sub in props.items():
            if k in node:
                self._conform(src, msg, sub, path + (k,), covers, erratum, data_schema)

    def _source_value(self, src, path, covers, erratum, data_schema, when):
        """A value for `path` meeting `when`: from an erratum cover's value, else the schema."""
        for c in covers:
            if c.path is not None and c.value is not None and parse_json_path(c.path) == path:
                return self._cover_value(src, c, erratum, path, when)
        if path and path[0] == "data":
            node = self.schemas.at(data_schema, path[1:])
        else:
            node = {"type": "string"}
        if isinstance(when, dict) and "const" in when:
            return copy.deepcopy(when["const"])
        schema = self.schemas.merge(node if node is not None else {}, when)
        for _ in range(20):
            value = self.walker.gen(src, schema, ("when",) + path, path[1:], frozenset())
            if self.schemas.is_valid(when, value):
                return value
        raise GenerationError(f"erratum {erratum.id}: no value for {json_path(path)} meets "
                              "its condition")

    # -- documented deviations (so that a mutation is a fault, not an erratum)
    def covered(self, name: str, code: str, path: str, value, msg) -> bool:
        """Whether an erratum cover turns this finding into a known deviation (the
        checker's own matcher: one set of errata rules)."""
        return self.errata.match(name, code, path, value, msg) is not None

    # -- mutations
    def mutation_kinds(self, target: Target) -> list[str]:
        """The mutations meaningful for this event by its catalogue entry alone."""
        view = self.view(target.spec)
        has_acl = view["required_acl"] is not None
        out = ["drop_required"] if self._has_required(view["data"]) else []
        out.append("change_type")
        if re.search(r"\{[^{}]+\}", view["routing_key"]):
            out.append("rk_placeholder")
        if self._literal_slots(view["routing_key"]):
            out.append("rk_literal")
        out += ["acl_other", "acl_missing", "acl_null"] if has_acl else ["acl_added"]
        out += ["rename", "origin_uuid", "truncate"]
        return out

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

    def mutate(self, src, example: Example, kind: str, target: Target) -> Mutant | None:
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

    def _mutant(self, kind, new, example, expected, detail):
        return Mutant(kind, new, example, frozenset(expected), detail)

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
        return self._mutant("drop_required", new, example, {"D600"}, f"dropped {json_path(path)}")

    def _drop_covered(self, example, msg, path):
        trial = copy.deepcopy(msg)
        del_path(trial, path)
        return self.covered(example.name, "D600", json_path(path), MISSING, trial)

    def _mut_change_type(self, src, example, msg, compiled, name_values, target):
        schema = self._data_schema(example)
        uuid_pattern = self.checker.uuid_pattern
        options = []
        for path, node in self.schemas.nodes(schema, msg["data"], ("data",)):
            allowed = self.schemas.types(node)
            if allowed is None:
                continue
            resolved, _ = self.schemas.resolve(node)
            is_uuid = isinstance(resolved, dict) and resolved.get("pattern") == uuid_pattern
            for t in JSON_TYPES:
                if t in allowed or t == "number":
                    continue
                options.append((path, resolved, t, is_uuid))
        if not options:
            return None
        for _ in range(10):
            path, resolved, t, is_uuid = src.choice(options)
            value = self._value_of_type(src, t)
            trial = copy.deepcopy(msg)
            set_path(trial, path, value)
            new = self._rebuild(src, example, trial, compiled, name_values)
            # A `type` keyword fails with D601 (D605 on a UUID); an enum or const with D602.
            code = ("D605" if is_uuid else "D601") if "type" in resolved else "D602"
            if self.covered(example.name, code, json_path(path), value, new.msg):
                continue
            expected = {code}
            if ("enum" in resolved and value not in resolved["enum"]) or (
                    "const" in resolved and value != resolved["const"]):
                expected.add("D602")
            return self._mutant("change_type", new, example, expected,
                                f"{json_path(path)} became a {t}")
        return None

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
        return self._mutant("rk_placeholder", new, example, {"R401"},
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
        return self._mutant("rk_literal", new, example, {"R400"},
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
        return self._mutant("acl_other", new, example, {"A502"}, detail)

    def _mut_acl_missing(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is None:
            return None
        msg.pop("required_acl", None)
        new = self._rebuild(src, example, msg, compiled, name_values, keep_acl=False)
        if self.covered(example.name, "A500", "$.required_acl", MISSING, new.msg):
            return None
        return self._mutant("acl_missing", new, example, {"A500"}, "required_acl dropped")

    def _mut_acl_null(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is None:
            return None
        new = self._rebuild(src, example, msg, compiled, name_values, acl=None)
        if self.covered(example.name, "A501", "$.required_acl", None, new.msg):
            return None
        return self._mutant("acl_null", new, example, {"A501"}, "required_acl is null")

    def _mut_acl_added(self, src, example, msg, compiled, name_values, target):
        if compiled.acl is not None:
            return None
        candidates = ["events." + example.routing_key, "events.#", None,
                      "events.users." + _uuid_value(src)]
        start = src.integer(0, len(candidates) - 1)
        for acl in candidates[start:] + candidates[:start]:
            new = self._rebuild(src, example, msg, compiled, name_values, acl=acl)
            if not self.covered(example.name, "A503", "$.required_acl", acl, new.msg):
                return self._mutant("acl_added", new, example, {"A503"},
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
                return self._mutant("rename", new, example, {"N300", "N301"},
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
        return self._mutant("origin_uuid", new, example, {"D605"}, f"origin_uuid is {bad!r}")

    def _mut_truncate(self, src, example, msg, compiled, name_values, target):
        text = example.body.decode("utf-8")
        cut = src.integer(0, len(text) - 1)
        body = text[:cut].encode("utf-8")  # at a character boundary: still UTF-8
        new = Example(example.name, example.event, example.routing_key, dict(example.properties),
                      body, None, dict(example.name_values))
        return self._mutant("truncate", new, example, {"B101"}, f"body cut to {len(body)} bytes")


    # -- traffic
    def traffic(self, seed, count: int, faulty: float = 0.0):
        """(example, mutant or None) for `count` messages of every event of the version, of
        which round(count * faulty), at positions chosen by the seed, carry one fault."""
        src = RandomSource(f"traffic:{seed}")
        broken = set(src.rng.sample(range(count), round(count * faulty)))
        for i in range(count):
            target = src.choice(self.targets)
            example = self.valid(src, target)
            mutant = None
            if i in broken:
                kinds = self.mutation_kinds(target)
                src.rng.shuffle(kinds)
                for kind in kinds:
                    mutant = self.mutate(src, example, kind, target)
                    if mutant is not None:
                        break
                if mutant is None:
                    raise GenerationError(f"no mutation applies to {example.name}")
            yield example, mutant


# -- versions ----------------------------------------------------------------------------------

def _fmt(v: tuple[int, int]) -> str:
    return f"{v[0]:02d}.{v[1]:02d}"


def representative_versions(catalogue: Catalogue) -> list[str]:
    """The range's ends, every since/changes boundary and its predecessor, the contract's."""
    first, last = (parse_version(v) for v in catalogue.version_range)
    points = {first, last, parse_version(catalogue.contract_version)}
    for spec in catalogue.events:
        bounds = ([spec.since] if spec.since else []) + [c["version"] for c in spec.changes]
        for b in bounds:
            v = parse_version(b)
            points.add(v)
            # The version just before: the previous minor, or the previous major's .12
            # (any version between the two boundaries behaves the same).
            points.add((v[0], v[1] - 1) if v[1] > 1 else (v[0] - 1, 12))
    return [_fmt(v) for v in sorted(points) if first <= v <= last]


# -- hypothesis strategies -----------------------------------------------------------------------

_GENERATORS: dict[tuple, Generator] = {}


def generator(catalogue: Catalogue, wazo_version: str | None = None) -> Generator:
    key = (id(catalogue), wazo_version or catalogue.contract_version)
    g = _GENERATORS.get(key)
    if g is None or g.catalogue is not catalogue:
        g = _GENERATORS[key] = Generator(catalogue, wazo_version)
    return g


def _targets(g: Generator, event) -> list[Target]:
    if event is None:
        return list(g.targets)
    names = [event] if isinstance(event, str) else list(event)
    return [g.target(n) for n in names]


def examples(catalogue: Catalogue, event=None, wazo_version: str | None = None):
    """Strategy of valid Examples for an event (a name), several, or every event."""
    g = generator(catalogue, wazo_version)
    targets = _targets(g, event)

    @_st().composite
    def build(draw):
        src = HypothesisSource(draw)
        target = src.choice(targets) if len(targets) > 1 else targets[0]
        return g.valid(src, target)
    return build()


def messages(catalogue: Catalogue, event=None, wazo_version: str | None = None):
    """Strategy of whole messages (routing_key, properties, body_bytes)."""
    return examples(catalogue, event, wazo_version).map(Example.as_tuple)


def erratum_examples(catalogue: Catalogue, event=None, erratum: str | None = None,
                     wazo_version: str | None = None):
    """Strategy of erratum variants: the deviations the errata document, nothing else."""
    g = generator(catalogue, wazo_version)
    pairs = [(t, e) for t in _targets(g, event) for e in g.errata_for(t)
             if erratum is None or e.id == erratum]
    if not pairs:
        raise GenerationError(f"no erratum {erratum or ''} concerns {event or 'any event'}")

    @_st().composite
    def build(draw):
        src = HypothesisSource(draw)
        target, err = src.choice(pairs) if len(pairs) > 1 else pairs[0]
        return g.erratum_variant(src, target, err)
    return build()


def mutants(catalogue: Catalogue, event=None, kind: str | None = None,
            wazo_version: str | None = None):
    """Strategy of Mutants: a valid message with one fault, and the codes it must raise."""
    g = generator(catalogue, wazo_version)
    targets = _targets(g, event)

    @_st().composite
    def build(draw):
        src = HypothesisSource(draw)
        target = src.choice(targets) if len(targets) > 1 else targets[0]
        kinds = [kind] if kind else g.mutation_kinds(target)
        example = g.valid(src, target)
        mutant = g.mutate(src, example, src.choice(kinds), target)
        from hypothesis import assume
        assume(mutant is not None)
        return mutant
    return build()
