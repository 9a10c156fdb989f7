"""The `wazo_bus` fixture's object: what a test author asserts with instead of a
hand-written accumulator queue."""

from __future__ import annotations

from collections import Counter

import pytest

from .blame import Blame, Owner, breaks
from .report import describe_event

SEEN_SHOWN = 10


class WazoBus:
    """The bus events of one test (or, for `wazo_bus_session`, of the session), each already
    checked against the contract."""

    def __init__(self, blame: Blame, owner: Owner, version: str):
        self._blame = blame
        self._owner = owner
        self._version = version

    def __repr__(self) -> str:
        return f"<WazoBus {self._owner.test}: {len(self._owner.events)} events>"

    def events(self, name: str | None = None) -> list:
        """The events so far in arrival order (of one name if given), each with its
        verdict, findings, phase and data."""
        events = self._blame.snapshot(self._owner)
        return events if name is None else [e for e in events if e.name == name]

    def expect(self, name: str, timeout: float = 5.0, **match):
        """The first event named `name` whose data fields equal `match` (a callable value
        is a predicate), waiting up to `timeout` seconds; fails with what was seen."""
        __tracebackhide__ = True
        event = self._blame.wait_for(self._owner, name, match, timeout)
        if event is None:
            pytest.fail(self._not_seen(name, timeout, match), pytrace=False)
        return event

    def assert_conforms(self) -> None:
        """Fails now if an event so far breaks the contract (per the test's fail-on)."""
        __tracebackhide__ = True
        bad = [e for e in self.events() if breaks(e.verdict, self._owner.fail_on)]
        if bad:
            summary = self._owner.summary
            pytest.fail(f"wazo-bus: {len(bad)} bus event{'s' if len(bad) != 1 else ''} of this "
                        f"test break{'s' if len(bad) == 1 else ''} the Wazo {self._version} "
                        "contract:\n"
                        + "\n".join(describe_event(e, summary) for e in bad), pytrace=False)

    def _not_seen(self, name: str, timeout: float, match: dict) -> str:
        wanted = name + (f" with {', '.join(f'{k}={v!r}' for k, v in match.items())}"
                         if match else "")
        events = self.events()
        same = [e for e in events if e.name == name]
        lines = [f"wazo-bus: no {wanted} within {timeout:g} s"]
        if not events:
            lines.append("no bus event at all was seen during this test")
            return "\n".join(lines)
        if same:
            lines.append(f"{len(same)} {name} event{'s' if len(same) != 1 else ''} seen, none "
                         "matching; their data:")
            redactor = self._owner.summary.redactor
            for event in same[:SEEN_SHOWN]:
                data = event.data
                if redactor is not None and event.message is not None:
                    data = redactor.redact_message(event.message).get("data")
                shown = {k: data.get(k, "<missing>") for k in match} if (
                    match and isinstance(data, dict)) else data
                lines.append(f"  #{event.index} ({event.phase}): {shown!r}")
        others = Counter(e.name or "(no name)" for e in events if e.name != name)
        if others:
            lines.append("other events seen: " + ", ".join(
                f"{n} x{c}" for n, c in others.most_common(SEEN_SHOWN)))
        return "\n".join(lines)
