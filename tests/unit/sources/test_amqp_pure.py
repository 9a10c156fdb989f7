"""The source's pure parts: the static safety guard, the drop estimator, its stats."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import pytest

from validator.sources.amqp import Gap, SourceStats
from validator.sources.backlog import BacklogEstimator

REPO = Path(__file__).resolve().parents[3]


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            yield node.func.attr, {k.arg: k.value for k in node.keywords}


def _sources(*modules):
    return ast.parse("\n".join((REPO / f"validator/sources/{m}.py").read_text() for m in modules))


FORBIDDEN = {"basic_publish", "publish", "exchange_delete", "queue_purge", "exchange_bind",
             "exchange_unbind", "confirm_delivery", "tx_select", "basic_recover", "basic_reject",
             "basic_nack"}


def _check_common(name, kw):
    assert name not in FORBIDDEN, name
    if name == "queue_unbind":        # only its own (or, last worker, the shared) queue
        assert ast.unparse(kw["queue"]) == "session.queue"
    if name == "exchange_declare":
        assert isinstance(kw.get("passive"), ast.Constant) and kw["passive"].value is True
    if name == "queue_bind":
        assert isinstance(kw["exchange"], ast.Attribute) and kw["exchange"].attr == "exchange"


def _passive(kw) -> bool:
    passive = kw.get("passive")
    return isinstance(passive, ast.Constant) and passive.value is True


def test_source_code_only_uses_passive_or_private_operations():
    """Static guard: the source never publishes or mutates shared topology."""
    seen = set()
    for name, kw in _calls(_sources("amqp", "consume", "model", "connection", "backlog",
                                    "process")):
        seen.add(name)
        _check_common(name, kw)
        assert name != "queue_delete"
        if name == "queue_declare" and not _passive(kw):
            assert kw["queue"].value == "" and kw["exclusive"].value is True
            assert kw["auto_delete"].value is True and kw["durable"].value is False
            assert isinstance(kw["arguments"], ast.Dict)
            assert [k.value for k in kw["arguments"].keys] == ["x-max-length"]
    assert {"exchange_declare", "queue_declare", "queue_bind", "basic_consume"} <= seen


def test_shared_queue_mode_touches_only_its_named_queue():
    """Static guard of shared.py: declares only the named, non-durable queue bounded by
    x-max-length and expiring when unused, deletes only it and only when unused, binds it
    to the configured exchange, acknowledges cumulatively, and nacks only to hand back
    (requeue) all it holds at a stop."""
    seen = set()
    for name, kw in _calls(_sources("shared")):
        seen.add(name)
        if name == "basic_nack":
            assert kw["requeue"].value is True and kw["multiple"].value is True
            assert kw["delivery_tag"].value == 0
            continue
        _check_common(name, kw)
        if name in ("queue_declare", "queue_delete", "queue_bind", "basic_consume"):
            assert ast.unparse(kw["queue"]) == "self.name", name
        if name == "queue_declare" and not _passive(kw):
            assert kw["exclusive"].value is False and kw["durable"].value is False
            assert kw["auto_delete"].value is False
            assert [k.value for k in kw["arguments"].keys] == ["x-max-length", "x-expires"]
        if name == "queue_delete":
            assert kw["if_unused"].value is True
        if name == "basic_consume":
            assert kw["auto_ack"].value is False
    assert {"queue_declare", "queue_delete", "queue_bind", "basic_cancel"} <= seen
    for name, kw in _calls(_sources("amqp")):
        if name == "basic_ack":
            assert kw["multiple"].value is True


def test_backlog_estimator_model():
    """Deterministic check of the estimator on a synthetic timeline."""
    est = BacklogEstimator(max_length=100)
    # quiet, then traffic at 1000/s starting at t=1.0 against a 200/s consumer
    est.sample(0.0, 0, 0, None)
    est.sample(1.0, 0, 0, None)
    # t=1.0..1.1: queue fills 0 -> 80, consumer took 20: 100 arrived, none dropped
    assert est.sample(1.1, 80, 20, 1.0) is False
    assert est.rate_ref == pytest.approx(1000)
    # t=1.1..1.2: 100 arrive, 20 consumed, queue 80 -> 100 (full): 60 dropped
    assert est.sample(1.2, 100, 40, None) is True
    assert est.lost_estimate == 60 and est.may_have_lost
    # t=1.2..2.2: still full at 1000/s: 1000 arrive, 200 consumed -> 800 dropped
    est.sample(2.2, 100, 240, None)
    assert est.lost_estimate == 860
    # traffic stops: queue drains, no more drops assumed
    est.sample(2.6, 20, 320, None)
    assert est.lost_estimate == 860 and est.peak == 100
    # a connection loss with a backlog loses that backlog
    est.connection_lost()
    assert est.lost_estimate == 880


def test_stats_are_plain_dataclasses():
    stats = SourceStats(stop_reason="stopped", messages=1, gaps=[Gap(1.0, None, "x")],
                        reconnects=0, peak_backlog=0, may_have_lost=False, lost_estimate=0,
                        queue_max_length=10, started_at=0.0, ended_at=1.0)
    assert json.loads(json.dumps(dataclasses.asdict(stats)))["gaps"] == [
        {"start": 1.0, "end": None, "reason": "x"}]


def test_any_lost_connection_may_have_lost_messages():
    # No backlog was sampled, but what the broker had already sent (no-ack) dies with the
    # connection, and nothing is queued for the tool until it is back: a loss to flag.
    est = BacklogEstimator(max_length=100)
    est.sample(0.0, 0, 0, None)
    est.connection_lost()
    assert est.may_have_lost and est.lost_estimate == 0


@pytest.mark.parametrize("name, words", [("", "needs a queue name"), ("  ", "needs a queue name"),
                                         ("amq.mine", "reserved"), ("x" * 256, "255 bytes")])
def test_an_unusable_shared_queue_name_is_refused_before_connecting(name, words):
    from validator.sources.amqp import AmqpSource, SourceError
    with pytest.raises(SourceError, match=words):
        AmqpSource("amqp://guest:guest@127.0.0.1:1/%2F", shared_queue=name)
    assert AmqpSource("amqp://guest:guest@127.0.0.1:1/%2F", shared_queue="wbv").shared.name == "wbv"


@pytest.mark.parametrize("received, waited, pauses", [
    (1, 0.0005, True),     # 2,000 msg/s: one message, soon: wait for the next few
    (15, 0.001, True),
    (16, 0.001, False),    # a full slice: a backlog, read on at once
    (0, 0.1, False),       # nothing came
    (1, 0.05, False),      # a trickle: a pause would only add a wake-up
])
def test_sparse_traffic_is_read_in_batches(received, waited, pauses):
    from validator.sources import consume
    assert (consume.coalesce_pause(received, waited) > 0) is pauses
