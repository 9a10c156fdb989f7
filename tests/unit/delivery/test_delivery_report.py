"""The run's delivery counting takes shortcuts for conforming messages; it must count exactly
what simulating every message would."""

from __future__ import annotations

import json
import uuid

from messages import CHECKER, CT, all_names, valid_message
from validator.delivery.report import DeliveryReport
from validator.delivery.simulate import Simulator
from validator.delivery.stats import DeliveryStats


def _traffic(rounds: int):
    """Every documented event, each round with fresh UUIDs (other users, other calls), some
    with their ACL removed or nulled."""
    out = []
    for r in range(rounds):
        for name in all_names():
            try:
                rk, msg = valid_message(name)
            except KeyError:
                continue
            text = json.dumps(msg)
            for old in {v for v in _uuids(msg)}:
                new = str(uuid.UUID(int=hash((old, r)) & ((1 << 122) - 1) | (4 << 76)))
                text, rk = text.replace(old, new), rk.replace(old, new)
            msg = json.loads(text)
            if r % 3 == 1 and "required_acl" in msg:
                del msg["required_acl"]
            elif r % 3 == 2 and "required_acl" in msg:
                msg["required_acl"] = None
            out.append((rk, json.dumps(msg).encode()))
    return out


def _uuids(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _uuids(v)
    elif isinstance(value, list):
        for v in value:
            yield from _uuids(v)
    elif isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        yield value


def test_shortcuts_count_what_simulating_every_message_counts():
    report, sim = DeliveryReport(CHECKER), Simulator(CHECKER)
    counted, reference = DeliveryStats(), DeliveryStats()
    for rk, body in _traffic(9):
        result = CHECKER.check(rk, body, CT)
        reference.add(sim.simulate(body, result))
        report.enrich(result, body, counted)
    assert report.counted_as  # the shortcut was taken
    assert counted.as_dict() == reference.as_dict()


def test_a_consequence_becomes_an_info_finding_that_keeps_the_verdict():
    rk, msg = valid_message("users_services_dnd_updated")
    del msg["required_acl"]
    body = json.dumps(msg).encode()
    result = CHECKER.check(rk, body, CT)
    verdict = result.verdict
    enriched = DeliveryReport(CHECKER).enrich(result, body, DeliveryStats())
    assert enriched.verdict == verdict
    assert [f.code for f in enriched.findings if f.code.startswith("W")] == ["W800"]
    assert "never delivered to any websocket client" in enriched.findings[-1].message
