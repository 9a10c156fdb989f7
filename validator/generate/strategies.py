"""Hypothesis strategies over the one generator (edge values: the property tests' mode),
plus the representative versions the tests sweep. hypothesis is imported only when a
strategy is built: the CLI never needs it.
"""

from __future__ import annotations

from ..catalogue import Catalogue, parse_version
from .messages import Generator
from .model import Example, Target
from .schemas import GenerationError
from .sources import HypothesisSource
from .walker import EDGE


def _st():
    from hypothesis import strategies
    return strategies


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


def generator(catalogue: Catalogue, wazo_version: str | None = None, values: str = EDGE
              ) -> Generator:
    key = (id(catalogue), wazo_version or catalogue.contract_version, values)
    g = _GENERATORS.get(key)
    if g is None or g.catalogue is not catalogue:
        g = _GENERATORS[key] = Generator(catalogue, wazo_version, values)
    return g


def _targets(g: Generator, event) -> list[Target]:
    if event is None:
        return list(g.targets)
    names = [event] if isinstance(event, str) else list(event)
    return [g.target(n) for n in names]


def _per_target(catalogue, event, wazo_version, make):
    """A strategy: a target drawn among the event's (or every) targets, then make(g, src,
    target)."""
    g = generator(catalogue, wazo_version)
    targets = _targets(g, event)

    @_st().composite
    def build(draw):
        src = HypothesisSource(draw)
        target = src.choice(targets) if len(targets) > 1 else targets[0]
        return make(g, src, target)
    return build()


def examples(catalogue: Catalogue, event=None, wazo_version: str | None = None):
    """Strategy of valid Examples for an event (a name), several, or every event."""
    return _per_target(catalogue, event, wazo_version,
                       lambda g, src, target: g.valid(src, target))


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
    def make(g, src, target):
        from hypothesis import assume
        kinds = [kind] if kind else g.mutation_kinds(target)
        example = g.valid(src, target)
        mutant = g.mutate(src, example, src.choice(kinds), target)
        assume(mutant is not None)
        return mutant
    return _per_target(catalogue, event, wazo_version, make)
