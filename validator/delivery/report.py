"""Delivery in every report: each checked message's delivery is simulated, its consequence
(if any) added to its findings at info level, and the per-event counts kept for the summary."""

from __future__ import annotations

import re

from .. import codes as C
from ..check.template import MISSING, get_path, render
from ..findings import MessageResult, json_path
from .matcher import (ABSENT, DISPATCH_KEYS, DROPPED, NULL, STRING, decode,
                      websocketd_decode)
from .simulate import Audience, Simulator, acl_erratum, consequence_of
from .stats import DeliveryStats, counts_of

CRASH = "X901"
COUNTED_NAMES = 2000
SHAPES_KEPT = 8192  # delivery shapes remembered (bounded: cleared when full)
FILLED = object()  # a shape's mark: the ACL given is the one the page documents
ONLY_CONCERNED = object()  # ... filled from the UUID of the user it concerns only
NOT_AN_EVENT_SHAPE = ((DROPPED,), (), None, None, None)  # _key() of a body with no name
BODY = json_path(())  # a finding's path when it is about the whole body
PATHS_KEPT = 64  # per name: finding paths known to touch, or not, what its delivery reads


class DeliveryReport:
    """Built once per checker; counts into whichever DeliveryStats a run gives it (a pytest
    session has one per test)."""

    def __init__(self, checker, profiles=None, concerns=None):
        """`profiles` and `concerns`: the Simulator's (default: specs/'s)."""
        self.sim = Simulator(checker, profiles, concerns)
        self.select, self.ignore = checker.select, checker.ignore
        # Findings tell what is wrong with a message only when the checker keeps them all:
        # under --select or --ignore, a message without findings may carry a wrong ACL.
        self.complete = not (self.select or self.ignore)
        # A message with no finding is delivered as the page says. For an event whose ACL
        # names no user other than the one the event concerns, which user it is cannot change
        # the counts: one simulation of such a message stands for all the others.
        # Kept per compiled event, so that an open family's endless names share one entry.
        self.resolve = checker.resolve
        self.as_documented: dict = {}
        # A message whose findings all lie away from what its delivery reads (name -> the
        # paths read, from the page's ACL and specs/delivery.yaml, and its findings' paths
        # known to touch them or not; False: an undocumented name) is delivered as a
        # conforming one: see _neutral_of.
        self._neutral: dict = {}
        # name -> its counts (counts_of): a conforming message of a name seen before costs
        # one increment (bounded: an open family has endless names)
        self.counted_as: dict = {}
        # Any other message: its delivery depends only on the name, the dispatch, the ACL
        # given, the ACL the page documents and the user concerned, and the UUIDs in them
        # only by which are equal (the profiles name no UUID: checked here). So one
        # simulation stands for every message of the same shape: its counts are kept, and
        # when it has a consequence, its audiences with their users as UUID positions, to
        # word this message's own (docs/delivery.md, "What a run pays per message").
        uuid = checker.catalogue.definitions["uuid"]["pattern"]
        inner = uuid.removeprefix("^").removesuffix("$")
        self._uuid_in = re.compile(inner)
        split = re.compile(f"({inner})")
        profiles = self.sim.profiles
        self.shapes: dict | None = {} if split.groups == 1 and not any(
            self._uuid_in.search(acl) for acl in (*profiles.user.acl, *profiles.admin.acl)
        ) else None
        self._split = split.split
        self._names: dict = {}  # name -> what its shapes need (bounded like counted_as)

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
        findings = result.findings
        if not findings:
            if self.complete:
                hit = self.resolve(result.name) if result.name is not None else None
                if hit is not None:
                    return self._conforming(result, body, stats, msg, hit[0])
        elif findings[0].code == CRASH:
            return result  # the checker failed on it: nothing is known of it
        elif self.complete and result.name is not None:
            neutral = self._neutral.get(result.name)
            if neutral is None:
                neutral = self._neutral_of(result.name)
            if neutral:
                touch = neutral[0]
                for finding in findings:
                    touches = touch.get(finding.path)
                    if touches is None:
                        touches = self._touches(neutral, finding.path)
                    if touches:
                        break
                else:
                    return self._conforming(result, body, stats, msg, neutral[2])
        if self.shapes is not None:
            return self._by_shape(result, body, stats, msg)
        delivery = self._simulate(result, body, msg)
        stats.add(delivery)
        return self._with(result, delivery.consequence)

    def _simulate(self, result, body, msg):
        return (self.sim.simulate(msg=msg, result=result) if msg is not MISSING
                else self.sim.simulate(body, result))

    def _neutral_of(self, name: str):
        """(its finding paths known to touch, or not, a path its delivery reads; those
        paths; its compiled event), or False for an undocumented name.

        websocketd reads a message's name and required_acl (DISPATCH_KEYS), the page's ACL
        is filled from the values at its template's paths, and the counts label the
        receivers by the user at the name's specs/delivery.yaml path. A finding lies where
        the value it is about lies, or on one of its parents (the body, $, for one websocketd
        may not read; $.required_acl for an ACL that differs from the page's, or of another
        type; the field the page's ACL is filled from, when missing or not a UUID). So when
        none of a documented message's findings touches those paths (as a path, or as its
        parent or child: compared as text, a prefix either way), the checker, which keeps
        every finding, found them as a conforming message has them: the ACL is the page's,
        filled from well-formed values, and the message is delivered, counted and worded
        exactly as a conforming message of its name is. Its other findings (data fields,
        routing key, content type, envelope keys websocketd ignores) change nothing."""
        hit = self.resolve(name)
        out = False
        if hit is not None:
            compiled = hit[0]
            reads = {json_path((key,)) for key in DISPATCH_KEYS}
            concerned = self.sim.concerns.get(name)
            if concerned:
                reads.add(json_path(concerned))
            if compiled.acl is not None:
                reads.update(json_path(part[2]) for part in compiled.acl.parts
                             if type(part) is not str and part[0] == "path")
            out = ({}, tuple(reads), compiled)
        if len(self._neutral) < COUNTED_NAMES:
            self._neutral[name] = out
        return out

    @staticmethod
    def _touches(neutral: tuple, path) -> bool:
        """Whether a finding at `path` may touch what the delivery reads (_neutral_of)."""
        if type(path) is not str:
            return True
        touch = neutral[0]
        touches = any(path.startswith(read) or read.startswith(path) for read in neutral[1])
        if len(touch) < PATHS_KEPT:
            touch[path] = touches
        return touches

    def _conforming(self, result, body, stats, msg, compiled):
        """A message delivered as the page says (one with no finding, or none that touches
        its delivery: _neutral_of)."""
        counted = self.conforming_count(result.name, stats)
        if counted is not None:
            entry, key = counted
            tally = entry.tally
            tally[key] = tally.get(key, 0) + 1
            return result
        known = self.as_documented.get(compiled)
        if known is not None:
            if known.name != result.name:
                known = known._replace(name=result.name)
            key, counts = counts_of(known)
            stats.count(key, counts)
            if len(self.counted_as) < COUNTED_NAMES and key == result.name:
                self.counted_as[result.name] = counts
            return result
        delivery = self._simulate(result, body, msg)
        stats.add(delivery)
        if delivery.consequence is None:
            if self._audience_is_invariant(compiled, result.name):
                self.as_documented[compiled] = delivery
            return result
        return self._with(result, delivery.consequence)

    def conforming_count(self, name: str, stats: DeliveryStats):
        """(the entry of `stats`, the key) a message of `name` with no finding is counted
        under when enrich() would only count it there, else None."""
        counted = self.counted_as.get(name) if self.complete else None
        entry = stats.events.get(name) if counted is not None else None
        return None if entry is None else (entry, counted)

    def _with(self, result, consequence):
        """The result with the consequence's finding added (if it has one, selected)."""
        if consequence is None:
            return result
        if self.select and not C.matches(consequence.code, self.select):
            return result
        if self.ignore and C.matches(consequence.code, self.ignore):
            return result
        finding = consequence.finding()
        finding.erratum = None  # the erratum is counted once, on the finding it covers
        # A new result: the checker's may be shared (it must never be changed).
        return MessageResult(result.name, result.routing_key, result.verdict,
                             result.findings + (finding,))

    def _name(self, name: str) -> tuple:
        """(its shapes' first key, the checker's resolve() answer, the path of the user it
        concerns, the message paths its documented ACL is filled from, or True when that is
        the user's UUID alone, and then the ACL's text around it): the undocumented names
        that concern no user are delivered alike."""
        hit = self.resolve(name)
        path = self.sim.concerns.get(name)
        template = hit[0].acl if hit is not None else None
        filled_from = () if template is None else tuple(
            part[2] for part in template.parts if type(part) is not str and part[0] == "path")
        around = None
        if filled_from and filled_from == (path,):
            filled_from = True
            if all(type(key) is str for key in path):  # the template fills in a marker
                marked = "\x00"
                for key in reversed(path):
                    marked = {key: marked}
                filled = template.fill(marked, hit[1])
                around = tuple(filled.split("\x00")) if type(filled) is str else ()
                around = around if len(around) == 2 else None
        info = (None if hit is None and path is None else name, hit, path, filled_from, around)
        if len(self._names) < COUNTED_NAMES:
            self._names[name] = info
        return info

    def _shape(self, text, uuids: dict):
        """The text with its UUIDs replaced by their positions in `uuids` (added in the
        order of their first appearance): a tuple alternating literal pieces and positions,
        the text itself when it has no UUID, anything else as it is."""
        if type(text) is not str:
            return text
        pieces = self._split(text)
        if len(pieces) == 1:
            return text
        for i in range(1, len(pieces), 2):
            at = uuids.get(pieces[i])
            if at is None:
                at = uuids[pieces[i]] = len(uuids)
            pieces[i] = at
        return tuple(pieces)

    def _filled_shape(self, msg, info: tuple, concerned, uuids: dict):
        """The shape of an ACL that is the page's template filled from the message: each
        value it was filled from, a UUID as its position in `uuids`, else as rendered (the
        template's own words are the name's). No scan of the ACL: its UUIDs are values
        (first: whether the message concerns a user, whose UUID has position 0)."""
        path, filled_from = info[2], info[3]
        if filled_from is True:  # filled from the user's UUID alone, or from a non-UUID
            return ONLY_CONCERNED if concerned is not None else msg["required_acl"]
        out = [concerned is None]
        for where in filled_from:
            if where == path and concerned is not None:
                out.append(0)
                continue
            value = render(get_path(msg, where))
            if self._uuid_in.fullmatch(value):
                at = uuids.get(value)
                if at is None:
                    at = uuids[value] = len(uuids)
                out.append(at)
            else:  # (one with a UUID in it, before a newline say: that UUID is one of them)
                out.append(self._shape(value, uuids))
        return tuple(out)

    def _key(self, msg):
        """(the message's delivery shape, its UUIDs in their order, its ACL, the page's ACL,
        the user it concerns), or None when it has no shape (websocketd drops it, or the
        user's UUID ends with a newline): such messages are simulated one by one."""
        name = msg.get("name") if type(msg) is dict else None
        if type(name) is not str:
            return NOT_AN_EVENT_SHAPE  # all counted alike, with no consequence
        info = self._names.get(name) or self._name(name)
        uuids = {}
        concerned, contract = None, MISSING  # (not known yet)
        if info[2] is not None:
            value = get_path(msg, info[2])
            concerned = self.sim.user_of(value)
            if concerned is not None:
                if not self._uuid_in.fullmatch(concerned):  # a newline after it
                    return None
                uuids[concerned] = 0
            if info[4] is not None:  # the page's ACL: this value in the template's words
                contract = False if value is MISSING else info[4][0] + render(value) + info[4][1]
        if contract is MISSING:
            contract = self.sim.contract_of(info[1], msg)[1]
        acl = msg.get("required_acl", MISSING)
        if type(acl) is str:
            if acl != contract:
                key = (info[0], STRING, self._shape(acl, uuids), self._shape(contract, uuids),
                       concerned is None)
            else:
                key = (info[0], FILLED, self._filled_shape(msg, info, concerned, uuids))
        elif acl is MISSING or acl is None:
            key = (info[0], ABSENT if acl is MISSING else NULL, self._shape(contract, uuids),
                   concerned is None)
        else:
            return None  # websocketd drops it: its words say why
        return key, uuids, acl, contract, concerned

    def _by_shape(self, result, body, stats, msg):
        """Counts the message as the first one of its shape was counted (simulated then)."""
        if msg is MISSING:  # orjson refused it (or was not asked): websocketd's json reads it
            # A finding on the body as a whole: orjson refused it, or read no object (json
            # reads none either: such bodies are all alike), so it is not asked again.
            decoded, why = (websocketd_decode(body) if any(
                finding.path == BODY for finding in result.findings) else decode(body))
            if not why:
                msg = decoded
        shaped = self._key(msg)
        known = None if shaped is None else self.shapes.get(shaped[0])
        if not known:  # a new shape, no shape, or one that names a user not of its UUIDs
            delivery = self._simulate(result, body, msg)
            if shaped is not None and known is None:
                if len(self.shapes) >= SHAPES_KEPT:
                    self.shapes.clear()
                self.shapes[shaped[0]] = self._counts(delivery, tuple(shaped[1]))
            stats.add(delivery)
            return self._with(result, delivery.consequence)
        counted_in, counts, audiences = known
        stats.count(counted_in, counts)
        if audiences is None:
            return result
        code = counts[3]
        if (self.select and not C.matches(code, self.select)) or (
                self.ignore and C.matches(code, self.ignore)):
            return result
        _, uuids, acl, contract, concerned = shaped
        order = tuple(uuids)
        return self._with(result, consequence_of(
            _audience(audiences[0], order, acl), _audience(audiences[1], order, contract),
            concerned, acl_erratum(result.findings)))

    @staticmethod
    def _counts(delivery, order: tuple):
        """What a message of this delivery's shape counts (counts_of), and its audiences
        with their users as positions in `order` when it has a consequence to word (False
        when a user is not one of the shape's UUIDs: such messages are simulated one by
        one)."""
        audiences = None
        if delivery.consequence is not None:
            audiences = []
            for audience in (delivery.actual, delivery.expected):
                if audience.user is not None and audience.user not in order:
                    return False
                audiences.append((audience, None if audience.user is None
                                  else order.index(audience.user)))
        return (*counts_of(delivery), audiences)


def _audience(template: tuple, order: tuple, acl) -> Audience:
    """A shape's audience for one message: its user and ACL this message's own."""
    first, at = template
    return Audience(first.kind, None if at is None else order[at], first.cause,
                    None if first.acl is None else acl, first.why)
