"""One in-memory summary of a run, from which every reporter renders.

Memory is bounded whatever the traffic: counts per event name, code and verdict, plus a
capped number of samples per (event, code) and a capped list of failing messages. The
distinct undocumented names kept are capped too (the rest are counted together).
Summaries merge: the merge of the summaries of two parts of a run is the summary of the
whole (counts exact; capped lists keep the first K in arrival order, see `order_key`).
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager

from . import __version__
from .codes import BY_CODE, ERROR, WARNING
from .findings import FAIL, OK, WARN, MessageResult
from .timeline import Timeline

FORMAT_VERSION = 1
SAMPLES_PER_KEY = 3
FAILING_KEPT = 20
NAMES_KEPT = 500
SAMPLE_BODY_CHARS = 2000
NEVER = "never"
OTHER_NAMES = "(other names)"


def where_of(line: int, received_at, base: dict) -> dict:
    """Where a capture line's message is: its line, the file's `base` ({"file_index", "file"}
    of a run of several files, else empty), its arrival time when the capture has it."""
    where = {"line": line}
    if base:
        where.update(base)
    if received_at is not None:
        where["received_at"] = received_at
    return where


def body_text(body: bytes, limit: int = SAMPLE_BODY_CHARS) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


class EventStats:
    """Messages of one event name: a count per verdict (plain ints: the one increment every
    message costs) and per code."""

    __slots__ = ("count", "ok", "warn", "fail", "codes")

    def __init__(self, count: int = 0, verdicts=None, codes: Counter | None = None):
        self.count = count
        verdicts = verdicts or {}
        self.ok, self.warn, self.fail = (verdicts.get(OK, 0), verdicts.get(WARN, 0),
                                         verdicts.get(FAIL, 0))
        self.codes = Counter() if codes is None else codes

    @property
    def verdicts(self) -> Counter:
        """The verdicts seen (a Counter of those seen, as the reports show them)."""
        return Counter({v: n for v, n in ((OK, self.ok), (WARN, self.warn), (FAIL, self.fail))
                        if n})

    def count_verdict(self, verdict: str) -> None:
        self.count += 1
        if verdict == OK:
            self.ok += 1
        elif verdict == WARN:
            self.warn += 1
        else:
            self.fail += 1

    def merge(self, other: "EventStats") -> None:
        self.count += other.count
        self.ok += other.ok
        self.warn += other.warn
        self.fail += other.fail
        self.codes.update(other.codes)

    def __eq__(self, other) -> bool:
        return (isinstance(other, EventStats) and self.count == other.count
                and self.verdicts == other.verdicts and self.codes == other.codes)

    def __repr__(self) -> str:
        return f"EventStats({self.count}, {dict(self.verdicts)}, {dict(self.codes)})"


class Gate:
    """The gate policy: what makes a run fail."""

    # Not a dataclass: defining one costs ~1 ms of start-up (its methods are exec'd).
    def __init__(self, fail_on: str = ERROR, require: tuple[str, ...] = ()):
        self.fail_on = fail_on  # "error", "warning" or "never" (report only)
        self.require = require  # event names that must be seen

    def __repr__(self) -> str:
        return f"Gate(fail_on={self.fail_on!r}, require={self.require!r})"

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return (self.fail_on, self.require) == (other.fail_on, other.require)
        return NotImplemented


def order_key(sample: dict) -> tuple:
    """Arrival order of a kept message: time when known, then file, then line or index."""
    return (sample.get("received_at") or 0.0, sample.get("file_index", 0),
            sample.get("line") or sample.get("index") or 0)


def first_k(samples: list[dict], k: int) -> list[dict]:
    return sorted(samples, key=order_key)[:k]


_SUMMED = ("messages_received", "reconnects", "lost_estimate", "undrained")


def merge_run_facts(a: dict, b: dict) -> dict:
    """The facts of two parts of a run: counts add up, any loss is a loss, gaps are all
    kept; a fact the parts disagree on keeps every distinct value."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key in _SUMMED:
            out[key] = (out[key] or 0) + (value or 0)
        elif key == "may_have_lost":
            out[key] = bool(out[key]) or bool(value)
        elif key == "peak_backlog":
            out[key] = max(out[key] or 0, value or 0)
        elif key == "gaps":
            out[key] = sorted((out[key] or []) + (value or []), key=lambda g: g.get("start") or 0)
        elif key in ("started_at", "ended_at"):
            pick = min if key == "started_at" else max
            known = [t for t in (out[key], value) if t is not None]
            out[key] = pick(known) if known else None
        elif out[key] != value and isinstance(value, str) and isinstance(out[key], str):
            if value not in out[key].split("; "):
                out[key] = f"{out[key]}; {value}"
    return out


def _settled(attr: str, doc: str | None = None) -> property:
    """A summary's counter, read after its tallied findings are settled into it."""
    def get(self):
        self._settle()
        return getattr(self, attr)
    return property(get, doc=doc)


class Summary:
    def __init__(self, *, catalogue_names: list[str], wazo_version: str, source: str,
                 gate: Gate | None = None, redactor=None):
        self.documented = list(catalogue_names)
        self.documented_set = set(catalogue_names)
        self.wazo_version = wazo_version
        self.source = source
        self.gate = gate or Gate()
        # With --redact, samples show redacted bodies and finding messages.
        self.redactor = redactor
        self.body_view = redactor.sample_text if redactor else body_text
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.messages = 0
        self._severities: Counter = Counter()
        self._codes: Counter = Counter()
        self._known_deviations: Counter = Counter()  # erratum id -> findings
        self._code_deviations: Counter = Counter()  # code -> findings an erratum covers
        self._events: dict[str, EventStats] = {}
        # (event, code, severity, erratum) -> [findings not yet in the counters above, the
        # (event, code)'s samples]: one lookup a finding; the counters are settled when read.
        self._tally: dict[tuple, list] = {}
        self.undocumented: Counter = Counter()
        self.samples: dict[tuple[str, str], list[dict]] = {}
        self.failing: list[dict] = []
        self.input_errors: list[dict] = []
        self.input_error_count = 0
        self.run: dict = {}  # source facts: stop reason, gaps, drops, ...
        self.timeline = Timeline()  # messages over time (or over capture lines)
        self.catalogue = None  # for the reports that quote it (HTML), when known
        self.delivery = None  # who receives what (DeliveryStats), when simulated
        self._reported: dict | None = None  # as_dict() while reports are rendered (reporting)

    # -- accumulation --------------------------------------------------------------
    def add(self, result: MessageResult, body: bytes, *, where: dict | None = None) -> None:
        self.messages += 1
        if self.timeline is not None and where is not None:
            self.timeline.add(where.get("received_at"), where.get("line"), result.verdict == FAIL)
        if not result.findings:  # of a name seen before: _count's increments, without it
            stats = self._events.get(result.name)
            if stats is not None:
                stats.count += 1
                stats.ok += 1
                return
        self._count(result, body, where, None)

    def ok_counts(self, name: str) -> EventStats | None:
        """Where add() counts a message of `name` with no finding (None: not counted alone)."""
        return self._events.get(name)

    def add_line(self, result: MessageResult, body: bytes, line: int, received_at, base: dict,
                 timed: bool = True) -> None:
        """add() of a capture line, whose `where` is where_of(line, received_at, base): built
        only when a sample or a failing message keeps it (most messages need none). Not
        `timed`: the caller adds it to the timeline (Run.replay_lines, in batches)."""
        self.messages += 1
        if timed and self.timeline is not None:
            self.timeline.add(received_at, line, result.verdict == FAIL)
        if not result.findings:
            stats = self._events.get(result.name)
            if stats is not None:
                stats.count += 1
                stats.ok += 1
                return
        self._count(result, body, None, (line, received_at, base))

    def _count(self, result: MessageResult, body: bytes, where: dict | None,
               place: tuple | None) -> None:
        """A message's event, verdict and findings; its samples at `where` (or where_of(*place))."""
        verdict = result.verdict
        findings = result.findings
        name = result.name if result.name is not None else "(no name)"
        if findings and name not in self.documented_set and self._undocumented(findings):
            if name in self.undocumented or len(self.undocumented) < NAMES_KEPT:
                self.undocumented[name] += 1
            else:
                self.undocumented[OTHER_NAMES] += 1
                name = OTHER_NAMES
        events = self._events
        stats = events.get(name)
        if stats is None:
            if len(events) >= NAMES_KEPT + len(self.documented):
                name = OTHER_NAMES
                stats = events.setdefault(name, EventStats())
            else:
                stats = events[name] = EventStats()
        stats.count_verdict(verdict)
        if not findings:
            return
        sample = None
        tally = self._tally
        for f in findings:
            key = (name, f.code, f.severity, f.erratum)
            entry = tally.get(key)
            if entry is None:  # [findings, the (event, code)'s samples, as merge() leaves them]
                entry = tally[key] = [0, self.samples.setdefault(key[:2], [])]
            entry[0] += 1
            bucket = entry[1]
            if len(bucket) < SAMPLES_PER_KEY:
                if sample is None:
                    sample = self._sample(result, body, where_of(*place) if place else where)
                bucket.append(sample)
        if verdict == FAIL and len(self.failing) < FAILING_KEPT:
            self.failing.append(sample or self._sample(
                result, body, where_of(*place) if place else where))

    @staticmethod
    def _undocumented(findings) -> bool:
        for f in findings:
            if f.code == "N300":
                return True
        return False

    def _settle(self) -> None:
        """The tallied findings into the counters (what reading them sees)."""
        tally = self._tally
        if not tally:
            return
        codes, severities, events = self._codes, self._severities, self._events
        for (name, code, severity, erratum), (n, _) in tally.items():
            codes[code] += n
            severities[severity] += n
            events[name].codes[code] += n
            if erratum:
                self._known_deviations[erratum] += n
                self._code_deviations[code] += n
        tally.clear()

    # What a reader sees: the counters, the tally settled into them first.
    codes = _settled("_codes")
    severities = _settled("_severities")
    known_deviations = _settled("_known_deviations", "Erratum id -> the findings it covers.")
    code_deviations = _settled("_code_deviations", "Code -> its findings an erratum covers.")
    events = _settled("_events")

    def _sample(self, result: MessageResult, body: bytes, where: dict | None) -> dict:
        out = dict(where or {})
        out.update({
            "name": result.name, "routing_key": result.routing_key, "verdict": result.verdict,
            "findings": self.finding_dicts(result),
            "body": self.body_view(body),
        })
        return out

    def finding_dicts(self, result: MessageResult) -> list[dict]:
        if self.redactor is None:
            return [f.as_dict() for f in result.findings]
        return [self.redactor.finding_dict(result.name, f.as_dict()) for f in result.findings]

    def add_input_error(self, line: int, message: str, where: dict | None = None) -> None:
        self.input_error_count += 1
        if len(self.input_errors) < FAILING_KEPT:
            entry = dict(where or {})
            entry.update({"line": line, "code": "X900", "message": message})
            self.input_errors.append(entry)

    def finish(self, **run_facts) -> "Summary":
        self.ended_at = time.time()
        self.run.update(run_facts)
        return self

    # -- merging -------------------------------------------------------------------
    def merge(self, other: "Summary") -> "Summary":
        """Fold another part of the same run into this summary; returns self."""
        self._settle()  # (its tally holds the samples' lists, replaced below)
        self.messages += other.messages
        for mine, theirs in ((self.severities, other.severities),
                             (self.codes, other.codes),
                             (self.known_deviations, other.known_deviations),
                             (self.code_deviations, other.code_deviations),
                             (self.undocumented, other.undocumented)):
            mine.update(theirs)
        for name, theirs in other.events.items():
            self.events.setdefault(name, EventStats()).merge(theirs)
        for key, msgs in other.samples.items():
            self.samples[key] = first_k(self.samples.get(key, []) + msgs, SAMPLES_PER_KEY)
        self.failing = first_k(self.failing + other.failing, FAILING_KEPT)
        self.input_errors = first_k(self.input_errors + other.input_errors, FAILING_KEPT)
        self.input_error_count += other.input_error_count
        self.started_at = min(self.started_at, other.started_at)
        ends = [t for t in (self.ended_at, other.ended_at) if t is not None]
        self.ended_at = max(ends) if ends else None
        self.run = merge_run_facts(self.run, other.run)
        if self.timeline is not None and other.timeline is not None:
            self.timeline = self.timeline.merge(other.timeline)
        if other.delivery is not None:
            self.delivery = other.delivery if self.delivery is None else \
                self.delivery.merge(other.delivery)
        return self

    @classmethod
    def from_dict(cls, d: dict, catalogue_names: list[str]) -> "Summary":
        """A summary rebuilt from its JSON report (samples are as the report holds them)."""
        gate = d.get("gate") or {}
        out = cls(catalogue_names=catalogue_names, wazo_version=d["wazo_version"],
                  source=d["source"], gate=Gate(fail_on=gate.get("fail_on", ERROR),
                                                require=tuple(gate.get("require", ()))))
        totals = d["totals"]
        out.started_at, out.ended_at = d["started_at"], d["ended_at"]
        out.messages = totals["messages"]
        out._severities = Counter(totals["findings"])
        out.input_error_count = totals["input_errors"]
        out._codes = Counter({c["code"]: c["count"] for c in d["codes"]})
        out._code_deviations = Counter({c["code"]: c["known_deviations"] for c in d["codes"]
                                        if c["known_deviations"]})
        out._known_deviations = Counter(d["known_deviations"])
        out._events = {name: EventStats(e["count"], Counter(e["verdicts"]), Counter(e["codes"]))
                       for name, e in d["events"].items()}
        out.undocumented = Counter(d["coverage"]["undocumented_seen"])
        out.samples = {(s["event"], s["code"]): list(s["messages"]) for s in d["samples"]}
        out.failing = list(d["failing_messages"])
        out.input_errors = list(d["input_errors"])
        out.run = dict(d.get("run") or {})
        if out.timeline is not None and d.get("timeline"):
            out.timeline = type(out.timeline).from_dict(d["timeline"])
        if d.get("delivery"):
            from .delivery.stats import DeliveryStats
            out.delivery = DeliveryStats.from_dict(d["delivery"])
        return out

    # -- the gate ------------------------------------------------------------------
    @property
    def verdicts(self) -> Counter:
        """Messages per verdict (the sum over the events: each message counts in one)."""
        out = Counter({OK: 0, WARN: 0, FAIL: 0})
        for stats in self.events.values():
            out[OK] += stats.ok
            out[WARN] += stats.warn
            out[FAIL] += stats.fail
        return +out

    @property
    def missing_required(self) -> list[str]:
        return [n for n in self.gate.require if n not in self.events]

    @property
    def tested_nothing(self) -> bool:
        return self.messages == 0

    @property
    def could_not_run(self) -> bool:
        """The source lost its broker for good: whatever it saw, the run did not do its job."""
        return "broker-gone" in str(self.run.get("stop_reason", ""))

    @property
    def passed(self) -> bool:
        if self.tested_nothing or self.could_not_run:
            return False
        if self.gate.fail_on == NEVER:
            return True
        if self.missing_required or self.input_error_count:
            return False
        if self.verdicts[FAIL]:
            return False
        if self.gate.fail_on == WARNING and self.verdicts[WARN]:
            return False
        return True

    @property
    def exit_code(self) -> int:
        # watch: an interrupted run cannot decide (2); a failed COMMAND fails the gate (1).
        if self.run.get("interrupted"):
            return 2
        if self.run.get("command_exit") not in (None, 0):
            return 1
        if self.tested_nothing or self.could_not_run:
            return 2
        return 0 if self.passed else 1

    @property
    def status(self) -> str:
        if self.run.get("interrupted"):
            return "interrupted"
        if self.run.get("command_exit") not in (None, 0):
            return "failed"
        if self.tested_nothing:
            return "nothing tested"
        if self.could_not_run:
            return "could not run"
        return "passed" if self.passed else "failed"

    # -- coverage ------------------------------------------------------------------
    def coverage(self) -> dict:
        seen = [n for n in self.documented if n in self.events]
        ami = sorted(n for n in self.events
                     if n not in self.documented_set and n not in self.undocumented
                     and n not in ("(no name)", OTHER_NAMES))
        return {
            "documented_seen": seen,
            "documented_not_seen": [n for n in self.documented if n not in self.events],
            "ami_events_seen": ami,
            # by count, then name: the same whatever order the parts of a run were merged in
            "undocumented_seen": dict(sorted(self.undocumented.items(),
                                             key=lambda kv: (-kv[1], kv[0]))),
        }

    @contextmanager
    def reporting(self):
        """Within: as_dict() is built once, for all the reports of the finished run."""
        self._reported = self._as_dict()
        try:
            yield
        finally:
            self._reported = None

    def as_dict(self) -> dict:
        return self._reported if self._reported is not None else self._as_dict()

    def _as_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "tool": {"name": "wazo-bus-validator", "version": __version__},
            "wazo_version": self.wazo_version,
            "source": self.source,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "exit_code": self.exit_code,
            "gate": {"fail_on": self.gate.fail_on, "require": list(self.gate.require),
                     "missing_required": self.missing_required},
            "run": self.run,
            "totals": {
                "messages": self.messages,
                "verdicts": {v: self.verdicts[v] for v in (OK, WARN, FAIL)},
                "findings": {s: self.severities[s] for s in ("error", "warning", "info")},
                "input_errors": self.input_error_count,
            },
            "codes": [
                {"code": c, "slug": BY_CODE[c].slug, "severity": BY_CODE[c].severity,
                 "count": n, "known_deviations": self.code_deviations[c],
                 "summary": BY_CODE[c].summary}
                for c, n in sorted(self.codes.items())
            ],
            "known_deviations": dict(sorted(self.known_deviations.items())),
            "events": {
                name: {"count": s.count, "verdicts": dict(s.verdicts), "codes": dict(s.codes)}
                for name, s in sorted(self.events.items())
            },
            "coverage": self.coverage(),
            "samples": [
                {"event": name, "code": code, "messages": msgs}
                for (name, code), msgs in sorted(self.samples.items())
            ],
            "failing_messages": self.failing,
            "input_errors": self.input_errors,
            "timeline": self.timeline.as_dict() if self.timeline is not None else None,
            "delivery": self.delivery.as_dict() if self.delivery is not None else None,
        }
