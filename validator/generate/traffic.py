"""Bench traffic: a capture of N messages drawn from a mix of specs/generation.yaml (or
`event=weight,...`), every message made by the one generator in realistic mode.

A mix weighs event names (documented, AMI, `undocumented`, `broken`, `broken:CODE`); its
`errata` shares turn that share of the messages of an erratum's events into the erratum's
shape (what the shipped code publishes). Broken messages carry one fault of the fault
table, chosen among the kinds the event has a place for; each knows the codes it causes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..check import Checker, Template
from .faults import FAULTS
from .messages import Generator
from .sources import RandomSource
from .values import generation_data
from .walker import REALISTIC

SPECIAL_KEYS = ("undocumented", "broken")
DEFAULT_MIX = "17.08"


class MixError(ValueError):
    """A --mix that names no mix or an unknown event (a usage error)."""


@dataclass
class Mix:
    label: str
    weights: dict                              # key -> weight
    errata: dict = field(default_factory=dict)  # erratum id -> share of its events' messages
    base: dict | None = None                    # what `broken` breaks, when not the weights


@dataclass
class Capture:
    """The generated messages, with what each is and the finding it must cause."""

    items: list            # (routing_key, body, properties)
    keys: list             # the mix key each message was drawn for
    intended: list         # None (a valid or erratum-shaped message), or the code it causes
    mutations: list        # the fault kind of a broken message, `erratum:ID`, else None
    mix: dict
    seed: int

    def __len__(self):
        return len(self.items)

    def counts(self) -> dict:
        out: dict = {}
        for k in self.keys:
            out[k] = out.get(k, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def shapes(self) -> dict:
        out: dict = {}
        for m in self.mutations:
            if m is not None:
                out[m] = out.get(m, 0) + 1
        return dict(sorted(out.items()))

    @property
    def mean_body_bytes(self) -> float:
        return sum(len(b) for _, b, _ in self.items) / max(1, len(self.items))


def mix_table(data) -> dict:
    """Every mix name and alias -> (canonical name, definition)."""
    out = {}
    for name, spec in data.mixes.items():
        out[name] = (name, spec)
        for alias in spec.get("aliases", ()):
            out[alias] = (name, spec)
    return out


def _preset(name: str, checker: Checker, table: dict, depth: int = 0) -> Mix:
    canonical, spec = table[name]
    weights: dict = {}
    errata: dict = {}
    if "from" in spec:
        if spec["from"] not in table or depth > 5:
            raise MixError(f"--mix {name}: `from: {spec['from']}` names no mix")
        parent = _preset(spec["from"], checker, table, depth + 1)
        weights, errata = dict(parent.weights), dict(parent.errata)
    if spec.get("every_event"):
        weights.update(dict.fromkeys(checker.by_name, float(spec["every_event"])))
    weights.update(spec.get("weights") or {})
    for key in spec.get("without", ()):
        weights.pop(key, None)
    errata.update(spec.get("errata") or {})
    base = _preset(spec["base"], checker, table, depth + 1).weights if "base" in spec else None
    return Mix(name, _of_version(weights, checker), errata,
               None if base is None else _of_version(base, checker))


def _of_version(weights: dict, checker: Checker) -> dict:
    # A preset is traffic of the target version: no event it does not have yet.
    out = {}
    for k, w in weights.items():
        hit = None if k in SPECIAL_KEYS else checker.resolve(k)
        if k in SPECIAL_KEYS or (hit is not None and not hit[0].not_yet):
            out[k] = float(w)
    return out


def parse_mix(text: str | None, checker: Checker, data=None) -> Mix:
    """A Mix from a mix name of specs/generation.yaml or `event=weight,...`."""
    data = data or generation_data(checker.catalogue)
    text = text or DEFAULT_MIX
    table = mix_table(data)
    if text in table:
        return _preset(text, checker, table)
    codes = sorted({c for f in FAULTS.values() for c in f.codes})
    weights: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, weight = part.partition("=")
        key = key.strip()
        try:
            w = float(weight) if sep else 1.0
        except ValueError:
            raise MixError(f"--mix: {part!r}: the weight must be a number") from None
        if w < 0:
            raise MixError(f"--mix: {part!r}: the weight must not be negative")
        if key.startswith("broken:"):
            if key.split(":", 1)[1] not in codes:
                raise MixError(f"--mix: {key!r}: the faults cause {', '.join(codes)}")
        elif key not in SPECIAL_KEYS and checker.resolve(key) is None:
            raise MixError(f"--mix: {key!r} is not a mix ({', '.join(table)}), a documented "
                           f"event, an AMI-like name, nor one of {', '.join(SPECIAL_KEYS)}")
        weights[key] = weights.get(key, 0.0) + w
    if not weights or sum(weights.values()) <= 0:
        raise MixError("--mix: give at least one event with a positive weight")
    return Mix(text, weights)


class Traffic:
    """Builds a Capture for a mix, deterministic for a seed."""

    def __init__(self, checker: Checker, seed: int = 0):
        self.checker = checker
        self.seed = seed
        self.gen = Generator(checker.catalogue, checker.version_text, REALISTIC)
        self.src = RandomSource(f"wazo-bus-validator bench:{seed}")
        self._targets: dict = {}
        self._undocumented = [u for u in self.gen.data.undocumented
                              if checker.resolve(u["name"]) is None]

    def target(self, key: str):
        t = self._targets.get(key)
        if t is None:
            try:
                t = self._targets[key] = self.gen.target(key)
            except KeyError:
                raise MixError(f"--mix: {key!r} is neither a documented event nor an AMI-like "
                               "name") from None
        return t

    def capture(self, n: int, mix: Mix) -> Capture:
        rng = self.src.rng
        keys = list(mix.weights)
        weights = [mix.weights[k] for k in keys]
        base = {k: w for k, w in (mix.base or mix.weights).items()
                if k not in SPECIAL_KEYS and not k.startswith("broken:")}
        base_keys = list(base) or list(self.checker.by_name)
        base_weights = [base[k] for k in base_keys] if base else None
        for k in base_keys:
            self.target(k)  # an unknown name fails before generating anything
        items, out_keys, intended, shapes = [], [], [], []
        for key in rng.choices(keys, weights, k=n):
            if key == "undocumented":
                item, code, shape = self._undocumented_message()
            elif key == "broken" or key.startswith("broken:"):
                code = key.split(":", 1)[1] if ":" in key else None
                item, code, shape = self._broken(base_keys, base_weights, code)
            else:
                item, code, shape = self._valid(key, mix.errata)
            items.append(item)
            intended.append(code)
            shapes.append(shape)
            out_keys.append(key)
        return Capture(items, out_keys, intended, shapes, dict(mix.weights), self.seed)

    def _valid(self, key, errata):
        target = self.target(key)
        rng = self.src.rng
        for erratum in self.gen.errata_for(target) if errata else ():
            share = errata.get(erratum.id, 0.0)
            if share and rng.random() < share:
                ex = self.gen.erratum_variant(self.src, target, erratum)
                return (ex.routing_key, ex.body, ex.properties), None, f"erratum:{erratum.id}"
        ex = self.gen.valid(self.src, target)
        code = "V700" if not self.gen.exists(target) else None
        return (ex.routing_key, ex.body, ex.properties), code, None

    def _undocumented_message(self):
        if not self._undocumented:
            raise MixError("--mix: every undocumented event of specs/generation.yaml is "
                           "documented in this catalogue")
        spec = self.src.choice(self._undocumented)
        self.gen.walker.name, self.gen.walker.open_family = spec["name"], None
        data = self.gen.walker.gen(self.src, spec["data"], ("undocumented", spec["name"]))
        msg = {"name": spec["name"], "origin_uuid": self.src.choice(self._origins()),
               "data": data}
        rk = Template(spec["routing_key"], {}, {}).fill(msg)
        code = "N301" if self.checker.owner_of(rk) else "N300"
        return (rk, json.dumps(msg).encode("utf-8"), dict(self.gen.properties)), code, None

    def _origins(self):
        if not hasattr(self, "_origin_pool"):
            from .values import uuid_value
            self._origin_pool = [uuid_value(RandomSource(f"origin:{i}")) for i in range(2)]
        return self._origin_pool

    def _broken(self, base_keys, base_weights, code):
        rng = self.src.rng
        for _ in range(1000):
            target = self.target(rng.choices(base_keys, base_weights)[0])
            kinds = [k for k in self.gen.mutation_kinds(target)
                     if code is None or code in FAULTS[k].codes]
            if not kinds:
                continue
            example = self.gen.valid(self.src, target)
            rng.shuffle(kinds)
            for kind in kinds:
                mutant = self.gen.mutate(self.src, example, kind, target)
                if mutant is not None:
                    ex = mutant.example
                    want = code or sorted(mutant.expected)[0]
                    return (ex.routing_key, ex.body, ex.properties), want, kind
        raise MixError(f"--mix: no event of the mix can be broken with {code}")


def generate(checker: Checker, n: int, mix: str | Mix | None = None, seed: int = 0) -> Capture:
    if not isinstance(mix, Mix):
        mix = parse_mix(mix, checker)
    return Traffic(checker, seed).capture(n, mix)
