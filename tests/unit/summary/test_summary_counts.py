"""The summary's counts: whatever the order of adds and reads (a live run reads them while
messages keep coming), its per-code, per-severity, per-erratum and per-event counts and its
verdicts are those of the results added, one by one."""

from __future__ import annotations

from collections import Counter

import strategies_profile  # noqa: F401  (the deterministic "ci" hypothesis profile)
from hypothesis import given, strategies as st

from validator.findings import FAIL, OK, WARN, Finding, MessageResult
from validator.summary import Summary, where_of

FINDINGS = [
    Finding("D600", "error", "$.data.x", "missing"),
    Finding("D600", "warning", "$.data.x", "missing", erratum="E1"),
    Finding("A503", "warning", "$.required_acl", "acl", erratum="E3"),
    Finding("N300", "warning", "$.name", "undocumented"),
    Finding("W802", "info", "$.required_acl", "everyone"),
]
NAMES = ["call_created", "user_status_update", "not_documented", None]

result_st = st.builds(
    lambda name, picks: MessageResult(
        name, "rk", (FAIL if any(f.severity == "error" for f in picks)
                     else WARN if any(f.severity == "warning" for f in picks) else OK),
        tuple(picks)),
    st.sampled_from(NAMES), st.lists(st.sampled_from(FINDINGS), max_size=3))


def _expected(results):
    codes, severities, errata, covered, verdicts = (Counter() for _ in range(5))
    per_event: dict = {}
    for r in results:
        name = r.name or "(no name)"
        entry = per_event.setdefault(name, [0, Counter()])
        entry[0] += 1
        verdicts[r.verdict] += 1
        for f in r.findings:
            codes[f.code] += 1
            severities[f.severity] += 1
            entry[1][f.code] += 1
            if f.erratum:
                errata[f.erratum] += 1
                covered[f.code] += 1
    return codes, severities, errata, covered, verdicts, per_event


def _summary():
    return Summary(catalogue_names=["call_created", "user_status_update"], wazo_version="17.08",
                   source="test")


@given(st.lists(result_st, max_size=40), st.sets(st.integers(0, 40)),
       st.lists(st.one_of(st.none(), st.floats(1.7e9, 1.8e9)), min_size=40, max_size=40),
       st.sampled_from([{}, {"file_index": 1, "file": "b.jsonl"}]))
def test_counts_are_the_results_whatever_the_reads(results, reads_after, times, base):
    s, by_line = _summary(), _summary()
    for i, r in enumerate(results):
        s.add(r, b"{}", where=where_of(i + 1, times[i], base))
        # a capture line's route, which builds its `where` only for what it keeps
        by_line.add_line(r, b"{}", i + 1, times[i], base)
        if i in reads_after:  # a reader in the middle (the progress line, a pytest test)
            assert s.codes == _expected(results[:i + 1])[0]
    assert by_line.as_dict() | {"started_at": 0} == s.as_dict() | {"started_at": 0}
    codes, severities, errata, covered, verdicts, per_event = _expected(results)
    assert s.codes == codes and s.severities == severities
    assert s.known_deviations == errata and s.code_deviations == covered
    assert s.verdicts == +verdicts and s.messages == len(results)
    assert {n: (e.count, e.codes) for n, e in s.events.items()} == {
        n: (c, k) for n, (c, k) in per_event.items()}
    assert s.as_dict()["totals"]["verdicts"] == {v: verdicts[v] for v in (OK, WARN, FAIL)}


def test_samples_kept_after_a_merge_go_on_being_kept():
    # A summary's tally holds each (event, code)'s samples; a merge replaces those lists:
    # the messages added after it still leave their samples in the summary.
    a, b = _summary(), _summary()
    result = MessageResult("call_created", "rk", WARN, (FINDINGS[1],))
    a.add_line(result, b"{}", 1, None, {})
    b.add_line(result, b"{}", 2, None, {})
    a.merge(b)
    a.add_line(result, b"{}", 3, None, {})
    assert [m["line"] for m in a.samples[("call_created", "D600")]] == [1, 2, 3]
    assert a.codes == {"D600": 3}
