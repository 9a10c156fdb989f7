"""A message whose findings all lie away from what its delivery reads (its name, its ACL,
the values the page's ACL is filled from, the user it concerns) is counted as a conforming
message of its name, without a simulation or a shape: it must count, and add to the findings,
exactly what simulating it does, on generated traffic and on its mistakes of every kind."""

from __future__ import annotations

import copy
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

import strategies_profile  # noqa: F401  (the deterministic hypothesis profile)
from messages import CATALOGUE, CHECKER, CT, valid_message
from strategies_profile import examples
from validator import codes as C
from validator.bench import generate
from validator.check import Checker
from validator.check.template import MISSING
from validator.delivery.report import DeliveryReport
from validator.delivery.simulate import Simulator
from validator.delivery.stats import DeliveryStats

OTHER = "5d1c2c6e-49f6-4f62-9b0e-0f4b8a1e22c4"
SIM = Simulator(CHECKER)


class _Watched(DeliveryReport):
    """Tells which route each message took: `slow` counts the shapes and the simulations."""

    slow = 0

    def _by_shape(self, *args):
        self.slow += 1
        return super()._by_shape(*args)

    def _simulate(self, *args):
        self.slow += 1
        return super()._simulate(*args)


def _data_mistakes(msg: dict, rng: random.Random):
    """What a publisher could get wrong in the data, the envelope or the user's UUID: some
    touch what the delivery reads (the field the ACL is filled from, the user), some not."""
    data = msg.get("data")
    if not isinstance(data, dict) or not data:
        return
    field = rng.choice(sorted(data))
    for value in (MISSING, 7, None, "x", OTHER, [OTHER], {"a": 1}, OTHER + "\n"):
        changed = copy.deepcopy(msg)
        if value is MISSING:
            del changed["data"][field]
        else:
            changed["data"][field] = value
        yield changed
    yield dict(copy.deepcopy(msg), data=dict(data, undocumented_field=OTHER))
    yield dict(msg, extra_envelope_key=1)
    yield dict(msg, origin_uuid="nope")
    yield {k: v for k, v in msg.items() if k != "origin_uuid"}
    yield dict(msg, data=[data])
    if "required_acl" in msg:
        yield dict(msg, required_acl=None)
        yield {k: v for k, v in msg.items() if k != "required_acl"}


def _variants(rk, body, props, rng: random.Random):
    """The message, and a few of its mistakes, some with a wrong routing key or content type."""
    out = [(rk, body, props)]
    try:
        msg = json.loads(body)
    except ValueError:
        return out
    if not isinstance(msg, dict):
        return out
    mistakes = list(_data_mistakes(msg, rng))
    for changed in rng.sample(mistakes, min(4, len(mistakes))):
        out.append((rk, json.dumps(changed).encode(), props))
    out.append((rk if rng.random() < 0.5 else "some.other.key", body,
                {"content_type": "text/plain"} if rng.random() < 0.5 else props))
    return out


def _check_against_simulation(checker, mix: str, seed: int, n: int) -> tuple[int, int]:
    """(messages with findings, those that took neither a shape nor a simulation)."""
    report, sim, rng = _Watched(checker), Simulator(checker), random.Random(seed)
    counted, reference = DeliveryStats(), DeliveryStats()
    with_findings = quick = 0
    for item in generate(CHECKER, n, mix, seed=seed).items:
        for rk, body, props in _variants(*item, rng):
            result, decoded = checker.check_parsed(rk, body, props)
            delivery = sim.simulate(body, result)
            reference.add(delivery)
            slow = report.slow
            got = report.enrich(result, body, counted, decoded if rng.random() < 0.8 else MISSING)
            if result.findings:
                with_findings += 1
                quick += report.slow == slow
            want = result.findings
            if delivery.consequence is not None and not (  # (--ignore W8 leaves them out)
                    checker.ignore and C.matches(delivery.consequence.code, checker.ignore)):
                want = want + (delivery.consequence.finding(),)
                want[-1].erratum = None
            assert [f.as_dict() for f in got.findings] == [f.as_dict() for f in want]
    assert counted.as_dict() == reference.as_dict()
    return with_findings, quick


@settings(max_examples=examples(6))
@given(mix=st.sampled_from(["17.08", "failing"]), seed=st.integers(0, 2**16))
def test_messages_with_findings_away_from_their_delivery_count_what_simulating_them_does(
        mix, seed):
    with_findings, quick = _check_against_simulation(CHECKER, mix, seed, 150)
    assert 0 < quick < with_findings  # the route was taken, and not by every message


@settings(max_examples=examples(3))
@given(seed=st.integers(0, 2**16),
       left_out=st.sampled_from([{"A"}, {"A502", "D"}, {"W8"}, {"N300"}, {"R", "B104"}]))
def test_with_findings_left_out_no_finding_says_a_message_conforms(seed, left_out):
    # --ignore: a message with no finding may carry a wrong ACL (it used to be counted as a
    # conforming one); the shapes, which read the message, count it.
    checker = Checker(CATALOGUE, ignore=left_out)
    _check_against_simulation(checker, "failing", seed, 60)


def test_a_data_finding_away_from_the_acl_takes_the_conforming_route():
    rk, msg = valid_message("users_services_dnd_updated")
    report = _Watched(CHECKER)
    stats, reference = DeliveryStats(), DeliveryStats()
    for extra in ("first", "second", "third"):
        msg["data"][extra] = 1  # D604, away from the user's UUID the ACL is filled from
        body = json.dumps(msg).encode()
        result, decoded = CHECKER.check_parsed(rk, body, CT)
        assert result.findings and {f.code for f in result.findings} == {"D604"}
        assert report.enrich(result, body, stats, decoded) is result
        reference.add(SIM.simulate(body, result))
    assert report.slow == 1  # the first one, simulated: the others count as it did
    assert stats.as_dict() == reference.as_dict()


def test_a_finding_on_what_the_delivery_reads_takes_the_shapes():
    rk, msg = valid_message("users_services_dnd_updated")
    report = _Watched(CHECKER)
    for user in ("x", None, OTHER + "\n"):  # the user the ACL is filled from, and concerns
        changed = copy.deepcopy(msg)
        changed["data"]["user_uuid"] = user
        body = json.dumps(changed).encode()
        result, decoded = CHECKER.check_parsed(rk, body, CT)
        slow = report.slow
        report.enrich(result, body, DeliveryStats(), decoded)
        assert report.slow > slow
