"""Runs to render as HTML: passing, failing (hostile bodies, gaps, loss), empty, huge.

Messages come from the project's own generator (valid examples and single faults), are
checked by the real checker and summed into a real Summary; the summary gets a Timeline and
the catalogue attached (main's Summary feeds an attached Timeline itself; `add` below
adds to it only when the Summary does not).
"""

from __future__ import annotations

import json

from validator.catalogue import load_catalogue
from validator.findings import FAIL
from validator.redact import Redactor
from validator.generate import RandomSource
from validator.generate.strategies import generator
from validator.summary import Gate, Summary
from validator.timeline import Timeline

try:  # main's layout after the run-loop rewrite, and this branch's
    from validator.check import Checker
except ImportError:
    from validator.checker import Checker

CATALOGUE = load_catalogue()
CHECKER = Checker(CATALOGUE)
T0 = 1_790_000_000.0
MARKUP = '</script><script>alert(1)</script>\x00\x1b[31m\u2028\x85 ]]> <!-- &amp; <![CDATA['
HOSTILE = MARKUP + "\ud800"  # a lone surrogate too: not UTF-8 encodable


def new_summary(source: str = "capture.jsonl", *, redact: bool = False,
                gate: Gate | None = None) -> Summary:
    summary = Summary(catalogue_names=CATALOGUE.all_names(), wazo_version=CHECKER.version_text,
                      source=source, gate=gate, redactor=Redactor(CATALOGUE) if redact else None)
    summary.timeline = Timeline()
    summary.catalogue = CATALOGUE
    return summary


def generated(n: int, *, seed: int = 0, faulty: float = 0.0, errata: float = 0.0
              ) -> list[tuple[str, dict, bytes]]:
    """n messages of random documented events: a fraction with one fault each, a fraction
    with the shape an erratum documents (a known deviation)."""
    g = generator(CATALOGUE)
    src = RandomSource(seed)
    out = []
    while len(out) < n:
        target = src.choice(g.targets)
        example = g.valid(src, target)
        known = g.errata_for(target)
        if known and src.rng.random() < errata:
            example = g.erratum_variant(src, target, src.choice(known))
        elif src.rng.random() < faulty:
            kinds = g.mutation_kinds(target)
            mutant = g.mutate(src, example, src.choice(kinds), target) if kinds else None
            if mutant is not None:
                example = mutant.example
        out.append((example.routing_key, example.properties, example.body))
    return out


def add(summary: Summary, result, body: bytes, where: dict) -> None:
    """summary.add, and the timeline's add when this Summary does not do it itself (it
    does once the run loop's Summary feeds its attached Timeline from `where`)."""
    before = summary.timeline.messages
    summary.add(result, body, where=where)
    if summary.timeline.messages == before:
        summary.timeline.add(where.get("received_at"), where.get("line"), result.verdict == FAIL)


def feed(summary: Summary, messages, *, t0: float | None = T0, per_second: float = 20.0,
         first_line: int = 1) -> Summary:
    for i, (rk, props, body) in enumerate(messages):
        at = None if t0 is None else t0 + i / per_second
        result = CHECKER.check(rk, body, props)
        line = first_line + i
        add(summary, result, body, {"line": line, "received_at": at})
    return summary


def passing_run() -> Summary:
    return feed(new_summary("passing.jsonl"), generated(60, seed=1, errata=0.3)).finish(stop_reason="done")


def hostile_message() -> tuple[str, dict, bytes]:
    """A failing message whose body and name carry markup, control characters, a lone
    surrogate escape and a CDATA terminator."""
    msg = {"name": "user_status_update", "origin_uuid": "not-a-uuid", "required_acl": MARKUP,
           "data": {"user_uuid": MARKUP, "status": ["</pre>", {"x": "\u0007"}]}}
    return "status.user", {"content_type": "application/json"}, json.dumps(msg).encode()


def failing_run(*, redact: bool = False) -> Summary:
    summary = new_summary("failing.jsonl", redact=redact)
    messages = generated(300, seed=2, faulty=0.25)
    messages[10] = hostile_message()
    messages.append(("x." + HOSTILE, {}, HOSTILE.encode("utf-8", "surrogatepass")))
    messages.append((None, {}, json.dumps({"name": MARKUP, "origin_uuid": "x",
                                           "data": {"k": MARKUP}}).encode()))
    feed(summary, messages[:150])
    # a reconnect: nothing for 20 s, then the rest
    feed(summary, messages[150:], t0=T0 + 150 / 20 + 20, first_line=151)
    summary.add_input_error(400, "not a JSON object: " + HOSTILE)
    gap = {"start": T0 + 150 / 20 + 1, "end": T0 + 150 / 20 + 19, "reason": "ConnectionReset"}
    return summary.finish(stop_reason="signal:SIGTERM", gaps=[gap], may_have_lost=True,
                          lost_estimate=42, url="amqp://guest:***@localhost:5672/%2F")


def empty_run() -> Summary:
    return new_summary("empty.jsonl").finish(stop_reason="done")
