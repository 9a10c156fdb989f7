"""Delivery in every report: each checked message's delivery is simulated, its consequence
(if any) added to its findings at info level, and the per-event counts kept for the summary."""

from __future__ import annotations

import re
from dataclasses import replace

from .. import codes as C
from ..check.template import MISSING
from ..findings import MessageResult
from .matcher import STRING, dispatch_of
from .simulate import Simulator
from .stats import UNKNOWN, DeliveryStats

CRASH = "X901"
COUNTED_NAMES = 2000
SHAPES_KEPT = 8192  # delivery shapes remembered (bounded: cleared when full)


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
        # Messages with findings (erratum shapes, undocumented events, broken ones): their
        # delivery depends only on the name, the dispatch, the ACL given, the ACL the page
        # documents and the user concerned, and the UUIDs in them only by which are equal
        # (the profiles name no UUID: checked here). So one simulation stands for every
        # message of the same shape, the UUIDs renamed (docs/engine.md, "delivery shapes").
        uuid = checker.catalogue.definitions["uuid"]["pattern"]
        self._uuid_in = re.compile(uuid.removeprefix("^").removesuffix("$"))
        profiles = self.sim.profiles
        self.shapes: dict | None = {} if not any(
            self._uuid_in.search(acl) for acl in (*profiles.user.acl, *profiles.admin.acl)
        ) else None

    def _audience_is_invariant(self, compiled, name: str) -> bool:
        acl = compiled.acl
        if acl is None:
            return True
        paths = {part[2] for part in acl.parts if type(part) is not str and part[0] == "path"}
        concerned = self.sim.concerns.get(name)
        return not paths or paths == {tuple(concerned or ())}

    def enrich(self, result, body: bytes, stats: DeliveryStats, msg=MISSING):
        """Counts the message's delivery in `stats`; returns the result with its
        consequence added. `msg`: the body as the checker decoded it, when it could (else
        MISSING: websocketd's json module, which accepts NaN, then reads the body)."""
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
        if msg is not MISSING and self.shapes is not None and compiled is None:
            delivery, message = self._by_shape(msg, result)
        else:
            delivery = (self.sim.simulate(msg=msg, result=result) if msg is not MISSING
                        else self.sim.simulate(body, result))
            message = delivery.consequence.message if delivery.consequence else None
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
        finding.message = message
        finding.erratum = None  # the erratum is counted once, on the finding it covers
        # A new result: the checker's may be shared (it must never be changed).
        return MessageResult(result.name, result.routing_key, result.verdict,
                             result.findings + (finding,))

    def _by_shape(self, msg, result):
        """(the delivery of a message of this shape, its consequence's words for this
        message): simulated once per shape, the UUIDs renamed."""
        sim = self.sim
        dispatch = dispatch_of(msg=msg)
        name = dispatch.name
        acl = dispatch.acl if dispatch.kind == STRING else None
        concerned = contract = None
        if name is not None:
            concerned = sim.concerned_user(name, msg)
            contract = sim._contract_acl(name, msg)[1]
        erratum = next((f.erratum for f in result.findings
                        if f.erratum and f.code.startswith("A5")), None)
        uuids: dict[str, str] = {} if concerned is None else {concerned: "\x000\x00"}

        def shape_of(text):
            if type(text) is not str:
                return text
            if "\x00" in text:
                raise ValueError  # a marker could be forged: no shape
            return self._uuid_in.sub(
                lambda m: uuids.setdefault(m.group(0), f"\x00{len(uuids)}\x00"), text)

        try:
            key = (name, dispatch.kind, dispatch.why, shape_of(acl), shape_of(contract),
                   concerned is None, erratum)
        except ValueError:
            delivery = sim.simulate(msg=msg, result=result)
            return delivery, delivery.consequence.message if delivery.consequence else None
        hit = self.shapes.get(key)
        if hit is None:
            delivery = sim.simulate(msg=msg, result=result)
            if len(self.shapes) >= SHAPES_KEPT:
                self.shapes.clear()
            self.shapes[key] = hit = (delivery, tuple(uuids))
            return delivery, delivery.consequence.message if delivery.consequence else None
        delivery, first_uuids = hit
        if delivery.consequence is None:
            return delivery, None
        message = delivery.consequence.message
        renamed = dict(zip(first_uuids, uuids))
        if renamed and any(old != new for old, new in renamed.items()):
            message = self._uuid_in.sub(lambda m: renamed.get(m.group(0), m.group(0)), message)
        return delivery, message
