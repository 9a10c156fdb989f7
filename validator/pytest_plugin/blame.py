"""Blame: each bus message is held against the test, and the phase of it, that was running
when the message arrived; messages outside any test belong to the session.

The listener thread calls `Blame.on_delivery`; pytest's main thread moves the blame from
phase to phase and test to test, and waits on the same condition (the settle window, the
fixture's `expect`). Why the settle window counts quiet from the last arrival:
docs/pytest-plugin.md."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import orjson

from ..delivery.report import DeliveryReport
from ..findings import FAIL, OK, WARN
from ..run import Run

SESSION = "(session)"
EVENTS_KEPT = 10_000   # per test, for the fixture; beyond that they are counted only
BAD_KEPT = 100         # per test, for its failure section; beyond that counted only


def breaks(verdict: str, fail_on: str) -> bool:
    """Does a message with this verdict fail its test under this policy?"""
    if fail_on == "never":
        return False
    return verdict == FAIL or (verdict == WARN and fail_on == "warning")


@dataclass(eq=False)
class BusEvent:
    """One message as the fixture hands it out: checked, and blamed on a test and phase."""

    index: int                 # arrival order in the session, from 1
    name: str | None
    routing_key: str | None
    verdict: str               # ok | warn | fail (after the test's ignores)
    findings: tuple            # validator.findings.Finding
    body: bytes
    properties: dict
    message: dict | None       # the body when it is a JSON object
    test: str                  # the test's node id, or "(session)"
    phase: str                 # setup | call | teardown, or what the session was doing
    late: bool                 # arrived in the settle window after its phase had ended
    received_at: float

    @property
    def data(self):
        return self.message.get("data") if self.message is not None else None

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def matches(self, name: str | None, match: dict) -> bool:
        if name is not None and self.name != name:
            return False
        data = self.data
        if match and not isinstance(data, dict):
            return False
        for key, wanted in match.items():
            if key not in data:
                return False
            value = data[key]
            if callable(wanted) and not isinstance(wanted, type):
                if not wanted(value):
                    return False
            elif value != wanted:
                return False
        return True

    def __repr__(self) -> str:
        late = ", late" if self.late else ""
        codes = f" {' '.join(self.codes)}" if self.findings else ""
        return (f"<BusEvent #{self.index} {self.name} {self.verdict}{codes} "
                f"rk={self.routing_key} {self.phase}{late}>")


@dataclass(eq=False)
class Owner:
    """What a test (or the session) is blamed for: its own summary, events and bad ones."""

    test: str
    summary: object            # validator.summary.Summary
    fail_on: str
    events: list = field(default_factory=list)
    not_kept: int = 0          # events beyond EVENTS_KEPT
    bad: list = field(default_factory=list)
    bad_count: int = 0
    judged: int = 0            # bad events already held against the test in a report
    run: Run | None = None


class BlameSink:
    """A run sink that files each checked message under its owner."""

    def __init__(self, owner: Owner):
        self.owner = owner

    def message(self, result, item, where: dict) -> None:
        owner = self.owner
        try:
            message = orjson.loads(item.body)
        except orjson.JSONDecodeError:
            message = None
        event = BusEvent(
            index=where["index"], name=result.name, routing_key=item.routing_key,
            verdict=result.verdict, findings=tuple(result.findings), body=bytes(item.body),
            properties=item.properties, message=message if isinstance(message, dict) else None,
            test=owner.test, phase=where["phase"], late=bool(where.get("late")),
            received_at=item.received_at)
        if len(owner.events) < EVENTS_KEPT:
            owner.events.append(event)
        else:
            owner.not_kept += 1
        if breaks(event.verdict, owner.fail_on):
            owner.bad_count += 1
            if len(owner.bad) < BAD_KEPT:
                owner.bad.append(event)

    def input_error(self, line: int, message: str, where: dict) -> None:
        pass   # a live source has no unreadable lines

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class Blame:
    """Who is running now; shared by the listener thread and pytest's main thread."""

    def __init__(self, checker, new_summary, fail_on: str):
        self.checker = checker
        self.delivery = DeliveryReport(checker)  # one for the session: each test counts its own
        self.new_summary = new_summary        # fail_on -> an empty Summary
        self.cond = threading.Condition()
        self.session = self.new_owner(SESSION, frozenset(), fail_on)
        self.test: Owner | None = None
        self.phase = "before the first test"
        self.phase_over = False
        self.shared: list[str] = []           # the shared fixtures being set up or torn down
        self.last_arrival: float | None = None
        self.index = 0
        self.internal_errors = 0

    def new_owner(self, test: str, ignore: frozenset[str], fail_on: str) -> Owner:
        owner = Owner(test=test, summary=self.new_summary(fail_on), fail_on=fail_on)
        owner.run = Run(self.checker, owner.summary, [BlameSink(owner)], delivery=self.delivery,
                        ignore=ignore)
        return owner

    # -- the listener thread ---------------------------------------------------------
    def on_delivery(self, delivery) -> None:
        with self.cond:
            if self.shared:
                owner, phase, late = self.session, self.shared[-1], False
            elif self.test is None:
                owner, phase, late = self.session, self.phase, False
            else:
                owner, phase, late = self.test, self.phase, self.phase_over
            self.index += 1
            where = {"index": self.index, "received_at": delivery.received_at,
                     "test": owner.test, "phase": phase}
            if late:
                where["late"] = True
            try:
                owner.run.message(delivery, where)
            except Exception:   # a bug here must not stop the session's listener
                self.internal_errors += 1
            self.last_arrival = time.monotonic()
            self.cond.notify_all()

    # -- pytest's main thread --------------------------------------------------------
    def start_test(self, nodeid: str, ignore: frozenset[str], fail_on: str) -> Owner:
        owner = self.new_owner(nodeid, ignore, fail_on)
        with self.cond:
            self.test, self.phase, self.phase_over = owner, "setup", False
        return owner

    def enter_phase(self, phase: str) -> None:
        with self.cond:
            self.phase, self.phase_over = phase, False

    def phase_done(self) -> None:
        with self.cond:
            self.phase_over = True

    def end_test(self) -> Owner | None:
        """From now on messages belong to the session; the test's owner is final."""
        with self.cond:
            owner, self.test = self.test, None
            self.phase, self.phase_over = "between tests", False
        return owner

    def enter_shared(self, what: str) -> None:
        with self.cond:
            self.shared.append(what)

    def leave_shared(self) -> None:
        with self.cond:
            if self.shared:
                self.shared.pop()

    def settle(self, quiet_for: float, bound: float) -> str:
        """Wait until no message arrived for `quiet_for` seconds, `bound` at most: 'none'
        (the bus was already quiet), 'quiet', 'bound' or 'off'."""
        if quiet_for <= 0:
            return "off"
        deadline = time.monotonic() + bound
        waited = False
        with self.cond:
            while True:
                now = time.monotonic()
                if self.last_arrival is None or now - self.last_arrival >= quiet_for:
                    return "quiet" if waited else "none"
                if now >= deadline:
                    return "bound"
                waited = True
                self.cond.wait(min(self.last_arrival + quiet_for, deadline) - now)

    def take_bad(self, owner: Owner) -> tuple[list[BusEvent], int]:
        """The owner's bad events not yet held against it, and how many there were
        (more than listed when beyond BAD_KEPT)."""
        with self.cond:
            count = owner.bad_count - owner.judged
            listed = owner.bad[min(owner.judged, len(owner.bad)):]
            owner.judged = owner.bad_count
        return listed, count

    def snapshot(self, owner: Owner) -> list[BusEvent]:
        with self.cond:
            return list(owner.events)

    def wait_for(self, owner: Owner, name: str | None, match: dict,
                 timeout: float) -> BusEvent | None:
        """The owner's first event matching, waiting up to `timeout` for one to arrive."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                for event in owner.events[seen:]:
                    if event.matches(name, match):
                        return event
                seen = len(owner.events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)
