"""Delivery in every report: each checked message's delivery is simulated, its consequence
(if any) added to its findings at info level, and the per-event counts kept for the summary."""

from __future__ import annotations

from dataclasses import replace

from .. import codes as C
from .simulate import Simulator
from .stats import UNKNOWN, DeliveryStats

CRASH = "X901"
COUNTED_NAMES = 2000


class DeliveryReport:
    """Built once per checker; counts into whichever DeliveryStats a run gives it (a pytest
    session has one per test)."""

    def __init__(self, checker):
        self.sim = Simulator(checker)
        self.select, self.ignore = checker.select, checker.ignore
        # A message with no finding is delivered as the page says. For an event whose ACL
        # names no user other than the one the event concerns, which user it is cannot change
        # the counts: one simulation of such a message stands for all the others.
        # Kept per compiled event, so that an open family's endless names share one entry.
        self.resolve = checker.resolve
        self.as_documented: dict = {}
        # name -> (actual label, expected label): a conforming message of a name seen
        # before costs three increments (bounded: an open family has endless names)
        self.counted_as: dict = {}

    def _audience_is_invariant(self, compiled, name: str) -> bool:
        acl = compiled.acl
        if acl is None:
            return True
        paths = {part[2] for part in acl.parts if type(part) is not str and part[0] == "path"}
        concerned = self.sim.concerns.get(name)
        return not paths or paths == {tuple(concerned or ())}

    def enrich(self, result, body: bytes, stats: DeliveryStats):
        """Counts the message's delivery in `stats`; returns the result with its
        consequence added."""
        if result.findings and result.findings[0].code == CRASH:
            return result  # the checker failed on it: nothing is known of it
        compiled = None
        if not result.findings and result.name is not None:
            counted = self.counted_as.get(result.name)
            entry = stats.events.get(result.name) if counted is not None else None
            if entry is not None:
                entry.messages += 1
                entry.actual[counted[0]] += 1
                entry.expected[counted[1]] += 1
                return result
            compiled = self.resolve(result.name)[0]
            known = self.as_documented.get(compiled)
            if known is not None:
                if known.name != result.name:
                    known = replace(known, name=result.name)
                stats.add(known)
                if len(self.counted_as) < COUNTED_NAMES:
                    self.counted_as[result.name] = (
                        known.actual.label(known.concerned),
                        known.expected.label(known.concerned) if known.expected else UNKNOWN)
                return result
        delivery = self.sim.simulate(body, result)
        stats.add(delivery)
        consequence = delivery.consequence
        if consequence is None:
            if compiled is not None and self._audience_is_invariant(compiled, result.name):
                self.as_documented[compiled] = delivery
            return result
        if self.select and not C.matches(consequence.code, self.select):
            return result
        if self.ignore and C.matches(consequence.code, self.ignore):
            return result
        finding = consequence.finding()
        finding.erratum = None  # the erratum is counted once, on the finding it covers
        result.findings = result.findings + (finding,)
        return result
