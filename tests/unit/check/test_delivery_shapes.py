"""The run's delivery counting simulates one message per delivery shape (the UUIDs renamed):
on every kind of generated traffic it must count, and add to the findings, exactly what
simulating every message does."""

from __future__ import annotations

import pytest

from messages import CHECKER
from validator.bench import generate
from validator.delivery.report import DeliveryReport
from validator.delivery.simulate import Simulator
from validator.delivery.stats import DeliveryStats
from validator.findings import MessageResult


@pytest.mark.parametrize("mix", ["17.08", "failing", "uniform"])
def test_shapes_count_and_word_what_simulating_every_message_does(mix):
    report, sim = DeliveryReport(CHECKER), Simulator(CHECKER)
    counted, reference = DeliveryStats(), DeliveryStats()
    consequences = 0
    for rk, body, props in generate(CHECKER, 1500, mix, seed=3).items:
        result, msg = CHECKER.check_parsed(rk, body, props)
        delivery = sim.simulate(body, result)
        reference.add(delivery)
        got = report.enrich(result, body, counted, msg=msg)
        want = result.findings
        if delivery.consequence is not None:
            consequences += 1
            want = want + (delivery.consequence.finding(),)
            want[-1].erratum = None
        assert [f.as_dict() for f in got.findings] == [f.as_dict() for f in want]
    assert report.shapes  # the shortcut was taken
    assert consequences  # ... also for messages whose delivery differs from the page's
    assert counted.as_dict() == reference.as_dict()


def test_a_checker_result_is_never_changed_by_the_delivery_it_gets():
    # Results may be shared (prebuilt): enrich returns a new one when it adds a finding.
    body = (b'{"name": "call_held", "origin_uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3", '
            b'"required_acl": null, "data": {"call_id": "1.2", "user_uuid": null}}')
    result, msg = CHECKER.check_parsed("calls.hold.created", body, None)
    before = result.findings
    got = DeliveryReport(CHECKER).enrich(result, body, DeliveryStats(), msg=msg)
    assert isinstance(got, MessageResult)
    assert len(got.findings) == len(before) + 1 and result.findings is before
