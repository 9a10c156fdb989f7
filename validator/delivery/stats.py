"""Per-event delivery statistics: mergeable exactly, bounded, and rendered for the reports.

Per event name: messages, expected and actual receivers (counts per audience label),
messages lost to the user they concern, and consequence codes. Names outside the catalogue
are counted together, so memory stays bounded whatever the traffic.
"""

from __future__ import annotations

from collections import Counter

from .simulate import Delivery

FORMAT = 1
UNDOCUMENTED = "(undocumented events)"
OTHER_NAMES = "(other names)"
NAMES_KEPT = 1000
NOT_AN_EVENT = "(not an event)"
UNKNOWN = "unknown"
# Audience labels, narrowest first, with their words in the reports.
LABELS = {
    "nobody": "nobody",
    "admins": "admins only",
    "concerned_user": "its user",
    "other_user": "another user",
    "all_users": "every user",
    "everyone": "every client",
    UNKNOWN: "unknown",
}


class _EventDelivery:
    __slots__ = ("actual", "consequences", "expected", "lost", "messages", "tally")

    def __init__(self):
        self.messages = 0
        self.expected: Counter = Counter()
        self.actual: Counter = Counter()
        self.lost = 0
        self.consequences: Counter = Counter()
        # counts_of()[1] -> messages not yet in the counts above: one increment per
        # message instead of five (settled before the counts are read)
        self.tally: dict = {}

    def settle(self) -> _EventDelivery:
        for (actual, expected, lost, code), n in self.tally.items():
            self.messages += n
            self.actual[actual] += n
            self.expected[expected] += n
            if lost:
                self.lost += n
            if code is not None:
                self.consequences[code] += n
        self.tally = {}
        return self

    def merge(self, other: _EventDelivery) -> None:
        self.settle()
        other.settle()
        self.messages += other.messages
        self.expected.update(other.expected)
        self.actual.update(other.actual)
        self.lost += other.lost
        self.consequences.update(other.consequences)

    def as_dict(self) -> dict:
        self.settle()
        return {"messages": self.messages, "expected": _ordered(self.expected),
                "actual": _ordered(self.actual), "lost": self.lost,
                "consequences": dict(sorted(self.consequences.items()))}

    @classmethod
    def from_dict(cls, d: dict) -> _EventDelivery:
        out = cls()
        out.messages = int(d["messages"])
        out.expected = Counter(d["expected"])
        out.actual = Counter(d["actual"])
        out.lost = int(d["lost"])
        out.consequences = Counter(d["consequences"])
        return out


def _ordered(counter: Counter) -> dict:
    order = list(LABELS)
    return {k: counter[k] for k in sorted(counter, key=lambda k: (
        order.index(k) if k in order else len(order), k)) if counter[k]}


def counts_of(delivery: Delivery) -> tuple[str, tuple[str, str, bool, str | None]]:
    """What a delivery counts: (the entry it is counted in, (its actual and expected
    receivers' labels, lost to its user, its consequence's code))."""
    if delivery.name is None:
        key = NOT_AN_EVENT
    else:
        key = delivery.name if delivery.documented else UNDOCUMENTED
    concerned = delivery.concerned
    return key, (delivery.actual.label(concerned),
                 delivery.expected.label(concerned) if delivery.expected else UNKNOWN,
                 delivery.lost, delivery.consequence.code if delivery.consequence else None)


class DeliveryStats:
    def __init__(self):
        self.events: dict[str, _EventDelivery] = {}

    def add(self, delivery: Delivery) -> "_EventDelivery":
        """Counts one message's delivery; returns the entry it was counted in."""
        return self.count(*counts_of(delivery))

    def count(self, key: str, counts: tuple) -> "_EventDelivery":
        """add() of a delivery already reduced to its counts_of() (DeliveryReport keeps
        them per delivery shape); returns the entry it was counted in."""
        stats = self.events.get(key)
        if stats is None:
            if len(self.events) >= NAMES_KEPT:  # an open family (AMI) has endless names
                key = OTHER_NAMES
                stats = self.events.get(key)
            if stats is None:
                stats = self.events[key] = _EventDelivery()
        tally = stats.tally
        tally[counts] = tally.get(counts, 0) + 1
        return stats

    def merge(self, other: DeliveryStats) -> DeliveryStats:
        """Adds `other` into this one (and returns it): merge(a, b) == stats of a + b."""
        for key, stats in other.events.items():
            mine = self.events.get(key)
            if mine is None:
                mine = self.events[key] = _EventDelivery()
            mine.merge(stats)
        return self

    def as_dict(self) -> dict:
        events = {k: self.events[k].as_dict() for k in sorted(self.events)}  # (settled)
        return {
            "format": FORMAT,
            "messages": sum(e.messages for e in self.events.values()),
            "lost": sum(e.lost for e in self.events.values()),
            "consequences": dict(sorted(sum(
                (e.consequences for e in self.events.values()), Counter()).items())),
            "events": events,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DeliveryStats:
        out = cls()
        for key, value in d.get("events", {}).items():
            out.events[key] = _EventDelivery.from_dict(value)
        return out

    def __eq__(self, other) -> bool:
        return isinstance(other, DeliveryStats) and self.as_dict() == other.as_dict()


def _counts(counts: dict) -> str:
    return ", ".join(f"{LABELS.get(k, k)} {n:,}" for k, n in counts.items()) or "-"


ROWS_SHOWN = 40


def _rows(d: dict) -> list[tuple[str, str, str, str, str]]:
    """One row per event, those whose delivery differs from the page's first; past
    ROWS_SHOWN (an AMI-heavy bus has hundreds of names) the rest are counted in one row."""
    events = sorted(d["events"].items(), key=lambda kv: (not kv[1]["consequences"]
                                                         and not kv[1]["lost"], kv[0]))
    rows = []
    rest = events[ROWS_SHOWN:]
    for name, e in events[:ROWS_SHOWN]:
        consequences = ", ".join(f"{c} {n:,}" for c, n in e["consequences"].items()) or "-"
        rows.append((name, f"{e['messages']:,}", _counts(e["expected"]),
                     _counts(e["actual"]), f"{e['lost']:,}", consequences))
    if rest:
        rows.append((f"({len(rest)} more events, delivered as the page says)",
                     f"{sum(e['messages'] for _, e in rest):,}", "", "", "0", "-"))
    return rows


HEADERS = ("event", "messages", "expected receivers", "actual receivers",
           "lost to their users", "consequences")


def text_lines(d: dict) -> list[str]:
    """The delivery section of the text report, from DeliveryStats.as_dict()."""
    if not d.get("events"):
        return []
    rows = _rows(d)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
    out = [f"Delivery through xivo-websocketd 17.08: {d['messages']:,} messages, "
           f"{d['lost']:,} lost to the users they concern"]
    fmt = "  " + "  ".join(f"{{:{'>' if i in (1, 4) else '<'}{w}}}" for i, w in enumerate(widths))
    out.append(fmt.format(*HEADERS).rstrip())
    out.extend(fmt.format(*r).rstrip() for r in rows)
    return out


def markdown_lines(d: dict) -> list[str]:
    """The delivery section of the Markdown report, from DeliveryStats.as_dict()."""
    if not d.get("events"):
        return []
    out = ["## Delivery through xivo-websocketd", "",
           f"{d['messages']:,} messages; {d['lost']:,} lost to the users they concern "
           "(expected: the page's ACL filled from the message's data; receivers: the default "
           "user policy and an admin).", "",
           "| " + " | ".join(HEADERS) + " |",
           "|---|---:|---|---|---:|---|"]
    for r in _rows(d):
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return out
