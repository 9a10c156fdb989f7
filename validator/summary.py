"""One in-memory summary of a run, from which every reporter renders.

Memory is bounded whatever the traffic: counts per event name, code and verdict, plus a
capped number of samples per (event, code) and a capped list of failing messages. The
distinct undocumented names kept are capped too (the rest are counted together).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from . import __version__
from .codes import BY_CODE, ERROR, WARNING
from .findings import FAIL, OK, WARN, MessageResult

FORMAT_VERSION = 1
SAMPLES_PER_KEY = 3
FAILING_KEPT = 20
NAMES_KEPT = 500
SAMPLE_BODY_CHARS = 2000
OTHER_NAMES = "(other names)"


def body_text(body: bytes, limit: int = SAMPLE_BODY_CHARS) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"


@dataclass
class EventStats:
    count: int = 0
    verdicts: Counter = field(default_factory=Counter)
    codes: Counter = field(default_factory=Counter)


@dataclass
class Gate:
    """The gate policy: what makes a run fail."""

    fail_on: str = ERROR              # "error" or "warning"
    require: tuple[str, ...] = ()     # event names that must be seen


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
        self.verdicts: Counter = Counter()
        self.severities: Counter = Counter()
        self.codes: Counter = Counter()
        self.known_deviations: Counter = Counter()  # erratum id -> findings
        self.code_deviations: Counter = Counter()  # code -> findings an erratum covers
        self.events: dict[str, EventStats] = {}
        self.undocumented: Counter = Counter()
        self.samples: dict[tuple[str, str], list[dict]] = {}
        self.failing: list[dict] = []
        self.input_errors: list[dict] = []
        self.input_error_count = 0
        self.run: dict = {}  # source facts: stop reason, gaps, drops, ...

    # -- accumulation --------------------------------------------------------------
    def add(self, result: MessageResult, body: bytes, *, where: dict | None = None) -> None:
        self.messages += 1
        self.verdicts[result.verdict] += 1
        name = result.name if result.name is not None else "(no name)"
        if name not in self.documented_set and result.findings and any(
                f.code == "N300" for f in result.findings):
            if name in self.undocumented or len(self.undocumented) < NAMES_KEPT:
                self.undocumented[name] += 1
            else:
                self.undocumented[OTHER_NAMES] += 1
                name = OTHER_NAMES
        stats = self.events.get(name)
        if stats is None:
            if len(self.events) >= NAMES_KEPT + len(self.documented):
                name = OTHER_NAMES
                stats = self.events.setdefault(name, EventStats())
            else:
                stats = self.events[name] = EventStats()
        stats.count += 1
        stats.verdicts[result.verdict] += 1
        if not result.findings:
            return
        sample = None
        for f in result.findings:
            self.codes[f.code] += 1
            self.severities[f.severity] += 1
            stats.codes[f.code] += 1
            if f.erratum:
                self.known_deviations[f.erratum] += 1
                self.code_deviations[f.code] += 1
            bucket = self.samples.setdefault((name, f.code), [])
            if len(bucket) < SAMPLES_PER_KEY:
                sample = sample or self._sample(result, body, where)
                bucket.append(sample)
        if result.verdict == FAIL and len(self.failing) < FAILING_KEPT:
            self.failing.append(sample or self._sample(result, body, where))

    def _sample(self, result: MessageResult, body: bytes, where: dict | None) -> dict:
        out = dict(where or {})
        out.update({
            "name": result.name,
            "routing_key": result.routing_key,
            "verdict": result.verdict,
            "findings": self.finding_dicts(result),
            "body": self.body_view(body),
        })
        return out

    def finding_dicts(self, result: MessageResult) -> list[dict]:
        if self.redactor is None:
            return [f.as_dict() for f in result.findings]
        return [self.redactor.finding_dict(result.name, f.as_dict()) for f in result.findings]

    def add_input_error(self, line: int, message: str) -> None:
        self.input_error_count += 1
        if len(self.input_errors) < FAILING_KEPT:
            self.input_errors.append({"line": line, "code": "X900", "message": message})

    def finish(self, **run_facts) -> "Summary":
        self.ended_at = time.time()
        self.run.update(run_facts)
        return self

    # -- the gate ------------------------------------------------------------------
    @property
    def missing_required(self) -> list[str]:
        return [n for n in self.gate.require if n not in self.events]

    @property
    def tested_nothing(self) -> bool:
        return self.messages == 0

    @property
    def passed(self) -> bool:
        if self.tested_nothing:
            return False
        if self.gate.fail_on == "never":  # --fail-on never, --exit-zero: report only
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
        if self.tested_nothing:
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
            "undocumented_seen": dict(self.undocumented.most_common()),
        }

    def as_dict(self) -> dict:
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
        }
