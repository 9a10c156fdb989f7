"""The one generator: valid messages and erratum shapes of a catalogue at a target version.

- `Generator.valid()`: a documented message, routing key and required_acl filled by the
  checker's own compiled templates from the same values (so the ACL and the routing key
  carry the data's user_uuid);
- `Generator.erratum_variant()`: the shape an erratum documents, built from its covers
  (D600 drops the path, D601/D605/D604 set it to a value of the cover's `value` schema,
  A-codes set the ACL from the cover's templates), with the covers' `when` conditions met;
- `Generator.mutate()` (faults.py): one fault of the fault table, with the codes it declares.
Nothing here names an event: everything comes from specs/events.yaml and
specs/generation.yaml.
"""

from __future__ import annotations

import copy
import json
import re

from ..catalogue import Catalogue, Erratum, EventSpec, split_path
from ..check import MISSING, Checker, Template, get_path
from ..findings import json_path
from .faults import FaultMaker
from .model import Example, Target
from .regex import regex_string
from .schemas import GenerationError, Schemas, del_path, parse_json_path, set_path
from .sources import RandomSource
from .values import generation_data, uuid_value
from .walker import REALISTIC, Walker, harvest


class Generator(FaultMaker):
    """Everything the generators need for one catalogue, one target version, one mode."""

    def __init__(self, catalogue: Catalogue, wazo_version: str | None = None,
                 values: str = REALISTIC):
        self.catalogue = catalogue
        self.data = generation_data(catalogue)
        self.checker = Checker(catalogue, wazo_version)
        self.version = self.checker.version
        self.errata = self.checker.errata
        self.version_text = self.checker.version_text
        self.schemas = Schemas(catalogue.definitions)
        self.samples = harvest(catalogue, self.schemas)
        self.walker = Walker(self.schemas, self.samples, self.data, values)
        self.values = values
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
            hinted = [self.data.hint_value(src, ph.name) for _ in range(3)]
            pool = list(dict.fromkeys(
                list(self.samples.get(("name", spec.key, ph.name), ()))
                + [w for w in hinted if w is not None and re.fullmatch(ph.pattern, w)]))
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
    def valid(self, src, target: Target, index: int | None = None) -> Example:
        """A documented message; `index` (the message's rank among several of this event)
        lets sequences of specs/generation.yaml follow their order."""
        name, _ = self._name_for(src, target)
        compiled, name_values = self.compiled(name)
        spec = target.spec
        data_schema = self.view(spec)["data"]
        self.walker.name = name
        self.walker.open_family = spec.name_template if spec.is_open_family else None
        data = self.walker.gen(src, data_schema, (spec.key, "data"), (), self.bound_paths(spec))
        if self.walker.realistic:
            data = self.consistent(data, data_schema, index)
        msg = {"name": name, "origin_uuid": uuid_value(src), "data": data}
        return self._finish(src, target, msg, name_values, compiled)

    def consistent(self, data, schema, index: int | None = None):
        """The data with the links and sequences of specs/generation.yaml applied, when the
        data stays valid (else as it was)."""
        if not isinstance(data, dict):
            return data
        out = copy.deepcopy(data)
        for link in self.data.links:
            source, dest = tuple(link["from"].split(".")), tuple(link["to"].split("."))
            value, current = get_path(out, source), get_path(out, dest)
            if value is MISSING or current is MISSING:
                continue
            if "match" in link:
                m = re.search(link["match"], str(value))
                if m is None:
                    continue
                value = int(m.group(1)) if type(current) is int else m.group(1)
            if "map" in link:
                if value not in link["map"]:
                    continue
                value = link["map"][value]
            set_path(out, dest, value)
        for seq in self.data.sequences if index is not None else ():
            path = tuple(seq["field"].split("."))
            node = self.schemas.at(schema, path)
            resolved = self.schemas.resolve(node)[0] if node is not None else None
            enum = resolved.get("enum") if isinstance(resolved, dict) else None
            if enum and get_path(out, path) is not MISSING and set(seq["order"]) <= set(enum):
                set_path(out, path, seq["order"][index % len(seq["order"])])
        if out == data:
            return data
        return out if self.schemas.is_valid(schema, out) else data

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
        chosen, chosen_acl = self._choose_covers(src, erratum, covers, full)
        msg = copy.deepcopy(base.msg)
        msg.pop("required_acl", None)
        data_schema = self.view(target.spec)["data"]
        for c in chosen:
            path = parse_json_path(c.path)
            if c.code == "D600":
                del_path(msg, path)
            else:
                set_path(msg, path, self._cover_value(src, c, erratum, path))
        chosen_all = chosen + ([chosen_acl] if chosen_acl else [])
        for c in chosen_all:
            if c.when is not None:
                self._conform(src, msg, c.when, (), covers, erratum, data_schema)
                if not self.schemas.is_valid(c.when, msg):
                    raise GenerationError(f"erratum {erratum.id}: cannot meet the `when` of "
                                          f"cover {c.code} {c.path or ''}")
        acl = self._erratum_acl(src, erratum, msg, compiled, name_values, chosen_all,
                                chosen_acl)
        rk = compiled.rk.fill(msg, name_values)
        return self._finish(src, target, msg, name_values, compiled, acl=acl,
                            rk=base.routing_key if rk is MISSING else rk, erratum=erratum.id)

    @staticmethod
    def _choose_covers(src, erratum, covers, full):
        """(data covers, ACL cover or None) to apply: some of them, or with `full` every data
        cover and one ACL cover."""
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
        return chosen, chosen_acl

    @staticmethod
    def _erratum_acl(src, erratum, msg, compiled, name_values, chosen_all, chosen_acl):
        """The documented ACL, unless a chosen cover says which it may be."""
        acl = compiled.acl.fill(msg, name_values) if compiled.acl is not None else MISSING
        allowed = None
        for c in chosen_all:
            if c.acl is not None:
                values = [None if t is None else Template(t, {}, {}).fill(msg) for t in c.acl]
                allowed = values if allowed is None else [v for v in allowed if v in values]
        if chosen_acl is not None and chosen_acl.code == "A500":
            return MISSING
        if chosen_acl is not None and chosen_acl.code == "A501":
            return None
        if allowed is not None and acl not in allowed:
            usable = [v for v in allowed if v is not MISSING]
            if not usable:
                raise GenerationError(f"erratum {erratum.id}: no ACL satisfies its covers")
            return src.choice(usable)
        return acl

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

