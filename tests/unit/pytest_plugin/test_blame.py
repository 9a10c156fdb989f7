"""Blame without a broker: which owner and phase a message is filed under, the settle
window's outcomes, the verdict policy, and the session summary as the merge of the tests'."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pytest

from messages import CATALOGUE, CHECKER, valid_message
from validator.pytest_plugin.blame import SESSION, Blame, breaks
from validator.run import Run
from validator.summary import Gate, Summary

CT = {"content_type": "application/json"}


def new_summary(fail_on="error"):
    return Summary(catalogue_names=CATALOGUE.all_names(), wazo_version="17.08", source="test",
                   gate=Gate(fail_on=fail_on))


def delivery(name="call_created", broken=False, **data):
    routing_key, msg = valid_message(name)
    msg["data"].update(data)
    if broken:
        del msg["required_acl"]   # A500, an error
    return SimpleNamespace(routing_key=routing_key, body=json.dumps(msg).encode(),
                           properties=CT, exchange="x", received_at=1.0)


def undocumented():
    _, msg = valid_message("call_created")
    body = json.dumps({"name": "not_in_the_catalogue", "origin_uuid": msg["origin_uuid"],
                       "data": {}})
    return SimpleNamespace(routing_key="x.y", body=body.encode(), properties=CT,
                           exchange="x", received_at=1.0)


@pytest.fixture
def blame():
    return Blame(CHECKER, new_summary, "error")


def test_each_message_goes_to_the_running_test_and_phase_else_to_the_session(blame):
    blame.on_delivery(delivery())
    owner = blame.start_test("t.py::test_a", frozenset(), "error")
    blame.on_delivery(delivery())
    blame.enter_phase("call")
    blame.on_delivery(delivery())
    blame.phase_done()
    blame.on_delivery(delivery())          # after the call, in its settle window
    blame.enter_shared("fixture db (session) teardown")
    blame.on_delivery(delivery())          # a shared fixture's: the session's
    blame.leave_shared()
    assert blame.end_test() is owner
    blame.on_delivery(delivery())
    assert [(e.phase, e.late) for e in owner.events] == [
        ("setup", False), ("call", False), ("call", True)]
    assert [(e.test, e.phase) for e in blame.session.events] == [
        (SESSION, "before the first test"), (SESSION, "fixture db (session) teardown"),
        (SESSION, "between tests")]
    assert [e.index for e in owner.events] == [2, 3, 4]


def test_bad_events_are_held_against_a_test_once(blame):
    owner = blame.start_test("t.py::test_a", frozenset(), "error")
    blame.on_delivery(delivery(broken=True))
    blame.on_delivery(delivery())
    listed, count = blame.take_bad(owner)
    assert count == 1 and listed[0].codes == ["A500", "W800"]
    assert blame.take_bad(owner) == ([], 0)
    blame.on_delivery(delivery(broken=True))
    assert blame.take_bad(owner)[1] == 1


@pytest.mark.parametrize(("fail_on", "expected"), [("error", 0), ("warning", 1), ("never", 0)])
def test_warnings_fail_a_test_only_with_fail_on_warning(blame, fail_on, expected):
    owner = blame.start_test("t.py::test_a", frozenset(), fail_on)
    blame.on_delivery(undocumented())       # N300, a warning
    assert owner.events[0].verdict == "warn"
    assert blame.take_bad(owner)[1] == expected


def test_verdict_policy():
    assert breaks("fail", "error") and breaks("fail", "warning") and breaks("warn", "warning")
    assert not breaks("warn", "error") and not breaks("fail", "never") and not breaks("ok", "warning")


def test_a_tests_ignored_codes_and_prefixes_are_out_of_its_verdict_and_summary(blame):
    owner = blame.start_test("t.py::test_a", frozenset({"A5"}), "error")
    blame.on_delivery(delivery(broken=True))
    # what is left is the info that says who receives it (W800: nobody), not a verdict
    assert owner.events[0].verdict == "ok"
    assert [f.code for f in owner.events[0].findings] == ["W800"]
    assert owner.summary.verdicts["ok"] == 1 and set(owner.summary.codes) == {"W800"}
    other = blame.start_test("t.py::test_b", frozenset({"D6", "W"}), "error")
    blame.on_delivery(delivery(broken=True))
    assert other.events[0].verdict == "fail"
    assert [f.code for f in other.events[0].findings] == ["A500"]


def test_settle_does_not_wait_on_a_bus_that_never_spoke(blame):
    assert blame.settle(30.0, 300.0) == "none"
    assert blame.settle(0, 0) == "off"


def test_settle_waits_for_quiet_and_stops_at_its_bound(blame):
    blame.on_delivery(delivery())
    assert blame.settle(0.05, 30.0) == "quiet"
    blame.on_delivery(delivery())
    assert blame.settle(30.0, 0.05) == "bound"


def test_wait_for_returns_the_first_match_and_wakes_on_a_new_arrival(blame):
    owner = blame.start_test("t.py::test_a", frozenset(), "error")
    blame.on_delivery(delivery(call_id="1.1"))
    assert blame.wait_for(owner, "call_created", {"call_id": "1.2"}, 0) is None
    started = threading.Event()

    def publish_later():
        started.wait()
        blame.on_delivery(delivery(call_id="1.2"))
    thread = threading.Thread(target=publish_later)
    thread.start()
    started.set()
    event = blame.wait_for(owner, "call_created", {"call_id": "1.2"}, 30)
    thread.join()
    assert event.data["call_id"] == "1.2" and event.index == 2
    assert blame.wait_for(owner, "call_created", {"call_id": lambda v: v.endswith(".1")},
                          0).index == 1
    assert blame.wait_for(owner, "call_created", {"no_such_field": 1}, 0) is None


def test_the_session_summary_is_the_merge_of_the_tests_summaries(blame):
    whole = new_summary()
    total = new_summary()
    traffic = [delivery(), delivery(broken=True), undocumented(), delivery(broken=True)]
    for i, d in enumerate(traffic):
        owner = blame.start_test(f"t.py::test_{i}", frozenset(), "error")
        blame.on_delivery(d)
        blame.end_test()
        total.merge(owner.summary)
        Run(CHECKER, whole).message(d, {"index": i + 1, "received_at": d.received_at})
    mine, theirs = total.as_dict(), whole.as_dict()
    for d in (mine, theirs):
        for key in ("started_at", "ended_at", "samples", "failing_messages"):
            d.pop(key)
    assert mine == theirs
    assert [(m["test"], m["phase"]) for m in total.failing] == [
        ("t.py::test_1", "setup"), ("t.py::test_3", "setup")]
