"""The one schema walker: values of a JSON Schema, every choice asked of a source.

Two modes. *realistic* (examples, docs, publish, bench): the schema's own `examples`, the
field hints and vocabularies of specs/generation.yaml, the page's example values and the
shapes of the catalogue's patterns, so that a message reads like a real 17.08 bus. *edge*
(property tests): any string, integer or key the schema allows, often awkward ones.
"""

from __future__ import annotations

import copy
import re

import orjson

from ..catalogue import Catalogue
from ..check import render
from .regex import regex_string
from .schemas import GenerationError, Schemas
from .sources import RandomSource
from .values import GenerationData

from .modes import EDGE, MODES, REALISTIC  # noqa: F401 - the walker's modes
# Edge mode: mostly plain text; now and then the characters real names and tags carry.
PLAIN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_"
ALPHABET = PLAIN_ALPHABET + ".,:/@'éèàçüöÉßñ北京€😀"
BOUND_ALPHABET = ALPHABET.replace(".", "")  # a routing-key word holds no dot
# Edge mode, integers with no bounds: mostly small ids and counts, sometimes anything.
INTEGER_RANGES = ((0, 100), (0, 100), (0, 100_000), (0, 100), (-100, 100), (0, 100_000),
                  (-2 ** 31, 2 ** 31 - 1), (0, 2 ** 31 - 1))
EDGE_WORDS = ("Alice", "Bob", "Some One", "1001", "1002", "Zoë", "Québec", "inbox", "Hi!",
              "bonjour", "café", "北京", "")
# Realistic mode, integers with no bounds: ids and counts.
REALISTIC_INTEGERS = (1, 500)
UNSUPPORTED = ("allOf", "not", "if", "dependentSchemas", "dependentRequired",
               "patternProperties", "propertyNames", "contains", "unevaluatedProperties",
               "unevaluatedItems")


class Walker:
    """Values of a schema, every choice asked of a source."""

    def __init__(self, schemas: Schemas, samples: dict, data: GenerationData,
                 mode: str = REALISTIC):
        if mode not in MODES:
            raise GenerationError(f"values mode {mode!r}: one of {', '.join(MODES)}")
        self.schemas = schemas
        self.samples = samples
        self.data = data
        self.realistic = mode == REALISTIC
        self.mode = mode
        self.name = ""  # the event name of the message being built ({name} in templates)
        self.open_family = None  # that name's open family (its name template), if any
        self._hint_fits: dict = {}

    def gen(self, src, schema, loc: tuple = (), path: tuple = (), bound: frozenset = frozenset(),
            depth: int = 0):
        """A value of `schema`; `loc` names the schema location (samples, hints), `path` the
        value's place in the data, `bound` the data paths a routing key or ACL carries."""
        schema, loc = self._usable(schema, loc, depth)
        is_bound = path in bound
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            values = [v for v in schema["enum"] if not is_bound or "." not in render(v)]
            if self.realistic:  # the values a real bus mostly carries, when the schema says
                values = [v for v in schema.get("examples") or () if v in values] or values
            return copy.deepcopy(src.choice(values or schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branch = src.choice(schema[key])
                rest = {k: v for k, v in schema.items() if k != key}
                return self.gen(src, self.schemas.merge(rest, branch) if rest else branch,
                                loc + (key,), path, bound, depth + 1)
        types = self.schemas.types(schema) or self._implied_types(schema)
        if self.realistic and "null" in types and len(types) > 1 and src.integer(0, 7):
            types = tuple(t for t in types if t != "null")  # a value is mostly there
        kind = src.choice(types) if len(types) > 1 else types[0]
        if kind in ("array", "object"):
            make = self._array if kind == "array" else self._object
            return make(src, schema, loc, path, bound, depth)
        if kind == "string":
            return self._string(src, schema, loc, path, is_bound)
        return self._scalar(src, kind, schema, loc, path)

    def _usable(self, schema, loc, depth):
        """The schema resolved, or a GenerationError naming what this walker cannot do."""
        if depth > 12:
            raise GenerationError(f"schema at {loc} nests deeper than 12 levels")
        if schema is False:
            raise GenerationError(f"schema at {loc} accepts nothing")
        schema, loc = self.schemas.resolve({} if schema is True or schema is None else schema,
                                           loc)
        for key in UNSUPPORTED:
            if key in schema:
                raise GenerationError(f"schema keyword {key!r} (at {'/'.join(map(str, loc))}) "
                                      "is not supported by the generator")
        return schema, loc

    def _scalar(self, src, kind, schema, loc, path):
        if kind == "null":
            return None
        if kind == "boolean":
            return src.boolean()
        if kind == "integer":
            return self._integer(src, schema, loc, path)
        if kind == "number":
            whole = self._integer(src, schema, loc, path)
            value = whole + src.integer(0, 99) / 100
            hi = schema.get("maximum")
            return value if hi is None or value <= hi else whole
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

    def _sample(self, src, loc, accept=lambda v: True, schema=None):
        pool = [v for v in self.samples.get(loc, ()) if accept(v)]
        if isinstance(schema, dict) and isinstance(schema.get("examples"), list):
            pool += [v for v in schema["examples"] if accept(v) and v not in pool]
        if pool and (self.realistic or src.integer(0, 2) == 0):
            return True, copy.deepcopy(src.choice(pool))
        return False, None

    @staticmethod
    def _examples(src, schema, accept):
        """A value of the schema's own `examples` keyword (realistic mode's first source)."""
        pool = [v for v in schema.get("examples") or () if accept(v)]
        return (True, copy.deepcopy(src.choice(pool))) if pool else (False, None)

    def _hint(self, src, schema, loc, path, want_int: bool):
        """A value from the field hint of the key this value sits under, if it fits."""
        key = next((p for p in reversed(path) if isinstance(p, str)), None)
        if key is None or key not in self.data.fields:
            return False, None
        fits = self._hint_fits.get((loc, key, want_int))
        if fits is None:  # probe once per schema location: a hint that does not fit is unused
            probe = [self._hint_raw(RandomSource(f"probe:{loc}:{i}"), key, want_int)
                     for i in range(12)]
            fits = self._hint_fits[(loc, key, want_int)] = all(
                v is not None and self.schemas.is_valid(schema, v) for v in probe)
        if not fits:
            return False, None
        return True, self._hint_raw(src, key, want_int)

    def _hint_raw(self, src, key, want_int):
        value = self.data.hint_value(src, key, self.name)
        if value is not None and want_int:
            try:
                return int(value)
            except ValueError:
                return None
        return value

    def _integer(self, src, schema, loc, path=()) -> int:
        lo = schema.get("minimum")
        hi = schema.get("maximum")
        if "exclusiveMinimum" in schema:
            lo = max(lo if lo is not None else -2 ** 62, schema["exclusiveMinimum"] + 1)
        if "exclusiveMaximum" in schema:
            hi = min(hi if hi is not None else 2 ** 62, schema["exclusiveMaximum"] - 1)
        lo = None if lo is None else int(-(-lo // 1))
        hi = None if hi is None else int(hi // 1)
        if self.realistic and not schema.get("multipleOf"):
            hit, value = self._examples(src, schema, lambda v: type(v) is int and (
                lo is None or v >= lo) and (hi is None or v <= hi))
            if not hit:
                hit, value = self._hint(src, schema, loc, path, True)
            if hit:
                return value
        hit, value = self._sample(src, loc, lambda v: type(v) is int and (lo is None or v >= lo)
                                  and (hi is None or v <= hi), schema)
        if hit:
            return value
        if lo is None and hi is None:
            lo, hi = REALISTIC_INTEGERS if self.realistic else src.choice(INTEGER_RANGES)
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

    def _string(self, src, schema, loc, path, is_bound: bool) -> str:
        lo = schema.get("minLength", 0)
        hi = schema.get("maxLength", 10_000 if "pattern" in schema else max(lo, 24))
        exclude = "." if is_bound else ""
        pattern = schema.get("pattern")
        if self.realistic:
            hit, value = self._examples(src, schema, lambda v: type(v) is str and lo <= len(v) <= hi
                                        and not (is_bound and "." in v))
            if not hit:
                hit, value = self._hint(src, schema, loc, path, False)
            if hit and not (is_bound and "." in value):
                return value
        if pattern is not None:
            shape = self.data.shapes.get(pattern)
            for _ in range(20):
                text = (self.data.expand(src, shape, self.name) if shape
                        else regex_string(src, pattern, exclude))
                if lo <= len(text) <= hi and not (is_bound and "." in text):
                    return text
            raise GenerationError(f"pattern {pattern!r} at {loc}: no string of length "
                                  f"{lo}..{hi}" + (" without a dot" if is_bound else ""))

        def fits(v):
            return (type(v) is str and lo <= len(v) <= hi
                    and not (is_bound and ("." in v or not v)))
        hit, value = self._sample(src, loc, fits, schema)
        if hit:
            return value
        if self.realistic:
            for _ in range(20):
                word = self.data.expand(src, src.choice(self.data.vocabulary("word")), self.name)
                if fits(word):
                    return word
        if src.boolean():
            words = [w for w in EDGE_WORDS if fits(w)]
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
        key = next((p for p in reversed(path) if isinstance(p, str)), None)
        items_hint = (self.data.fields.get(key) or {}).get("items") if self.realistic else None
        if items_hint and not prefix and isinstance(items, dict):
            made = list(dict.fromkeys(self.data.expand(src, items_hint, self.name)
                                      for _ in range(n)))
            if self.schemas.is_valid(schema, made):
                return made
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
                                      + list(self.data.payload_keys)))
        keys = self._realistic_keys(src, loc, path, n) if self.realistic else None
        for i in range(n if keys is None else len(keys)):
            if keys is not None:
                key = keys[i]
            elif src.integer(0, 3):
                key = src.choice(key_pool)
            else:
                key = src.text(BOUND_ALPHABET, 1, 12)
            if key in out or key in props:
                continue
            if value_schema is None and self.realistic and key in self.data.fields:
                out[key] = self.gen(src, {"type": "string"}, loc + ("*", key), path + (key,),
                                    bound, depth + 1)
            elif value_schema is None:
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

    def _realistic_keys(self, src, loc, path, n) -> list:
        """Free keys as real messages carry them: an open family's payload keys at the top
        of its data, the field's `keys` hint, else keys the page's examples show there."""
        if not path and self.open_family == self.data.payload_family:
            return list(self.data.payload_by_name.get(self.name, self.data.payload_default))
        hint = (self.data.fields.get(path[-1]) or {}).get("keys") if path else None
        if hint is not None:
            return list(dict.fromkeys(self.data.expand(src, hint, self.name)
                                      for _ in range(min(n, 2))))
        pool = list(self.samples.get(loc + ("*key",), ())) or self.data.vocabulary("word")
        return list(dict.fromkeys(src.choice(pool) for _ in range(n)))


class _Harvest:
    """Values of the page's own examples, per schema location."""

    def __init__(self, schemas: Schemas):
        self.schemas = schemas
        self.samples: dict[tuple, list] = {}

    def add(self, loc, value):
        pool = self.samples.setdefault(loc, [])
        if value not in pool:
            pool.append(value)

    def walk(self, schema, value, loc):
        if schema is None or schema is False:
            return
        schema, loc = self.schemas.resolve(schema if schema is not True else {}, loc)
        if not isinstance(schema, dict) or "const" in schema or "enum" in schema:
            return
        if not self.schemas.is_valid(schema, value):
            return
        if isinstance(value, dict):
            self._object(schema, value, loc)
        elif isinstance(value, list):
            prefix = schema.get("prefixItems") or []
            for i, v in enumerate(value):
                if i < len(prefix):
                    self.walk(prefix[i], v, loc + (i,))
                elif isinstance(schema.get("items"), dict):
                    self.walk(schema["items"], v, loc + ("[]",))
        elif (isinstance(value, str) and "pattern" not in schema) or type(value) is int:
            self.add(loc, value)

    def _object(self, schema, value, loc):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                self.walk(props[k], v, loc + (k,))
                continue
            self.add(loc + ("*key",), k)
            if isinstance(extra, dict):
                self.walk(extra, v, loc + ("*",))
            elif not isinstance(v, (dict, list)):
                self.add(loc + ("*",), v)


def harvest(catalogue: Catalogue, schemas: Schemas) -> dict:
    """Values of the page's own examples, per schema location: realistic samples."""
    h = _Harvest(schemas)
    for spec in catalogue.events:
        try:
            msg = orjson.loads(spec.example["body"]) if spec.example else None
        except orjson.JSONDecodeError:
            continue
        if not isinstance(msg, dict):
            continue
        h.walk(spec.data, msg.get("data"), (spec.key, "data"))
        name = msg.get("name")
        if spec.is_open_family and isinstance(name, str):
            for ph in spec.name_placeholders.values():
                if ph.values is None and re.fullmatch(ph.pattern, name):
                    h.add(("name", spec.key, ph.name), name)
    return h.samples
