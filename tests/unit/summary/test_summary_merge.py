"""The summary's merge: the summaries of two parts of a run merge into the summary of the
whole (counts, verdicts, codes, coverage and errata exact; capped lists the first K in
arrival order)."""

from __future__ import annotations


import strategies_profile  # noqa: F401  (the deterministic "ci" hypothesis profile)
from hypothesis import given, strategies as st

from messages import CATALOGUE, CHECKER, mixed_traffic
from validator.capture import CaptureItem
from validator.run import Run
from validator.summary import FAILING_KEPT, Gate, Summary, merge_run_facts

NAMES = CATALOGUE.all_names()


TRAFFIC = mixed_traffic()


def _summary(items, fail_on="error") -> Summary:
    s = Summary(catalogue_names=NAMES, wazo_version="17.08", source="test",
                gate=Gate(fail_on=fail_on))
    Run(CHECKER, s).replay(items)
    s.finish(stop_reason="done")
    return s


def _items(choices):
    return [CaptureItem(i + 1, *TRAFFIC[c][:2], {"content_type": "application/json"})
            for i, c in enumerate(choices)]


def _comparable(s: Summary) -> dict:
    d = s.as_dict()
    for key in ("started_at", "ended_at"):
        d.pop(key)
    return d


@given(st.lists(st.integers(0, len(TRAFFIC) - 1), min_size=0, max_size=80), st.data())
def test_two_halves_merge_into_the_whole(choices, data):
    items = _items(choices)
    cut = data.draw(st.integers(0, len(items)))
    whole = _summary(items)
    merged = _summary(items[:cut]).merge(_summary(items[cut:]))
    assert _comparable(merged) == _comparable(whole)


def test_merge_keeps_the_first_failing_messages_in_line_order():
    items = _items([1] * (FAILING_KEPT * 2))
    first, second = _summary(items[:FAILING_KEPT + 5]), _summary(items[FAILING_KEPT + 5:])
    merged = second.merge(first)  # the order of the merge does not matter
    assert [m["line"] for m in merged.failing] == list(range(1, FAILING_KEPT + 1))


def test_a_json_report_rebuilds_into_a_summary_that_merges_exactly():
    items = _items(list(range(len(TRAFFIC))) * 3)
    whole = _summary(items)
    a = Summary.from_dict(_summary(items[:10]).as_dict(), NAMES)
    b = Summary.from_dict(_summary(items[10:]).as_dict(), NAMES)
    assert _comparable(a.merge(b)) == _comparable(whole)


def test_run_facts_of_parts_add_up_and_any_loss_is_a_loss():
    a = {"stop_reason": "duration", "may_have_lost": False, "lost_estimate": 0,
         "messages_received": 10, "gaps": [{"start": 5.0, "end": 6.0}], "peak_backlog": 3}
    b = {"stop_reason": "signal:SIGTERM", "may_have_lost": True, "lost_estimate": 7,
         "messages_received": 4, "gaps": [{"start": 1.0, "end": None}], "peak_backlog": 9}
    m = merge_run_facts(a, b)
    assert m["may_have_lost"] is True and m["lost_estimate"] == 7
    assert m["messages_received"] == 14 and m["peak_backlog"] == 9
    assert [g["start"] for g in m["gaps"]] == [1.0, 5.0]
    assert m["stop_reason"] == "duration; signal:SIGTERM"


def test_broker_gone_is_could_not_run_exit_2_even_when_all_was_fine():
    s = _summary(_items([0]))
    assert s.exit_code == 0
    s.finish(stop_reason="broker-gone")
    assert (s.exit_code, s.status) == (2, "could not run")


def test_fail_on_never_reports_but_passes():
    s = _summary(_items([1]), fail_on="never")
    assert s.verdicts["fail"] == 1 and s.exit_code == 0
