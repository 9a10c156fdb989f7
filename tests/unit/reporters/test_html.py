"""The HTML report: well formed, hostile text inert, the figures match the summary, every
link resolves, nothing is fetched, personal data stays out with --redact, size is bounded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
import html_runs
import strategies_profile  # noqa: F401  (the deterministic hypothesis profile)

from validator.codes import CODES
from validator.findings import FAIL, OK, Finding, MessageResult
from validator.reporters import EXTENSIONS, FORMATS, RENDERERS
from validator.reporters.html import render
from validator.reporters.html_text import body_html

MARKUP_NAME = html_runs.MARKUP
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
RUNS = {"passing": html_runs.passing_run, "failing": html_runs.failing_run,
        "failing-redacted": lambda: html_runs.failing_run(redact=True),
        "empty": html_runs.empty_run}


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def text_of(el) -> str:
    return "".join(el.itertext())


def shown(text: str) -> str:
    """How the report writes a name: unsafe characters as \\uXXXX."""
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def by_id(root, ident):
    return next(el for el in root.iter() if el.get("id") == ident)


def by_class(root, tag, cls):
    return [el for el in root.iter() if local(el.tag) == tag and cls in (el.get("class") or "").split()]


@pytest.fixture(scope="module")
def reports():
    out = {}
    for name, make in RUNS.items():
        summary = make()
        text = render(summary)
        out[name] = (summary, text, ET.fromstring(text.split("\n", 1)[1]))
    return out


def test_registered_as_a_format():
    assert "html" in FORMATS and EXTENSIONS["html"] == "html"
    assert RENDERERS["html"] is render


@pytest.mark.parametrize("run", list(RUNS))
def test_well_formed_and_hostile_text_stays_inert(reports, run):
    _, text, root = reports[run]
    assert text.startswith("<!DOCTYPE html>\n") and local(root.tag) == "html"
    text.encode("utf-8")  # no lone surrogate survived
    assert not UNSAFE.search(text)
    # only the report's own script element: a body's </script> or <script> is text
    assert text.count("<script") == 1 and text.count("</script>") == 1
    assert len([el for el in root.iter() if local(el.tag) == "script"]) == 1
    # the inline CSS and JS sit in CDATA sections that nothing from a message can close
    assert text.count("]]>") == 2


def test_hostile_values_are_shown_as_text(reports):
    _, _, root = reports["failing"]
    visible = text_of(root)
    assert "</script><script>alert(1)</script>" in visible
    assert "\\u0000" in visible and "\\u001b" in visible and "\\u0085" in visible


@pytest.mark.parametrize("run,status,exit_code,why", [
    ("passing", "✔ PASSED", 0, "conform to the Wazo 17.08 contract"),
    ("failing", "✖ FAILED", 1, "failed with errors"),
    ("empty", "⚠ NOTHING TESTED", 2, "No message was checked"),
])
def test_verdict_and_exit_status_come_first_and_say_why(reports, run, status, exit_code, why):
    summary, _, root = reports[run]
    body = next(el for el in root if local(el.tag) == "body")
    first = next(el for el in body if el.get("class") != "skip")
    assert first.get("id") == "verdict"
    assert text_of(by_id(root, "status")) == status
    assert f"exit status {exit_code}" in text_of(first)
    assert summary.exit_code == exit_code
    assert why in text_of(first)


def test_failing_reasons_name_the_run_facts(reports):
    _, _, root = reports["failing"]
    verdict = text_of(by_id(root, "verdict"))
    assert "capture line could not be read (X900)" in verdict
    assert "Possible loss" in verdict and "about 42 messages" in verdict
    assert "Stopped by: signal:SIGTERM" in verdict and "1 connection gap" in verdict


def test_every_internal_link_resolves_and_nothing_is_fetched(reports):
    for _, text, root in reports.values():
        ids = {el.get("id") for el in root.iter() if el.get("id")}
        for el in root.iter():
            for name in ("href", "src", "action", "data"):
                target = el.get(name)
                if target is None or name == "data":
                    continue
                assert target.startswith(("#", "data:")), target
                if target.startswith("#"):
                    assert target[1:] in ids, target
        assert not any(local(el.tag) in ("img", "iframe", "object", "embed") for el in root.iter())
        assert "default-src 'none'" in text


def test_heat_table_counts_match_the_summary_and_link_to_samples(reports):
    summary, _, root = reports["failing"]
    d = summary.as_dict()
    table = by_id(root, "heat-table")
    codes = [text_of(th.find("{*}a")) for th in table.find("{*}thead/{*}tr")[1:]]
    assert codes == [c["code"] for c in d["codes"]]
    rows = table.find("{*}tbody")
    seen = set()
    linked_to_samples = 0
    names = {shown(n): n for n in d["events"]}
    for tr in rows:
        name = names[text_of(tr[0])]
        seen.add(name)
        for code, td in zip(codes, tr[1:]):
            expected = d["events"][name]["codes"].get(code)
            assert (text_of(td) or None) == (f"{expected:,}" if expected else None)
            if expected:
                href = td.find("{*}a").get("href")
                linked_to_samples += href.startswith("#s")
    assert seen == {n for n, e in d["events"].items() if e["codes"]}
    assert linked_to_samples > 0


def test_per_event_table_coverage_and_errata(reports):
    summary, _, root = reports["passing"]
    d = summary.as_dict()
    rows = {text_of(tr[0]): [text_of(td) for td in tr[1:]]  # the passing run's names are plain
            for tr in by_id(root, "events-table").find("{*}tbody")}
    assert set(rows) == set(d["events"])
    for name, e in d["events"].items():
        assert rows[name][1] == f"{e['count']:,}"
        assert rows[name][4] == str(e["verdicts"].get("fail", 0))
    applied = {x.strip() for cells in rows.values() for x in cells[6].split(",") if x.strip()}
    assert applied and applied <= set(d["known_deviations"])
    shown = text_of(by_id(root, "events"))
    for name in d["coverage"]["documented_not_seen"]:
        assert name in shown


def test_timeline_draws_every_interval_failures_gaps_and_loss(reports):
    summary, _, root = reports["failing"]
    tl = summary.timeline.as_dict()
    chart = by_id(root, "tl-chart")
    bars = by_class(chart, "g", "b")
    assert len(bars) == sum(1 for m, _ in tl["buckets"] if m)
    failing = [b for b in bars if by_class(b, "rect", "f")]
    assert len(failing) == sum(1 for _, f in tl["buckets"] if f)
    assert all(by_class(b, "path", "rug") for b in failing)  # a shape, not only a colour
    gaps = by_class(chart, "g", "gap")
    assert len(gaps) == 1 and "connection lost" in text_of(gaps[0])
    assert "possible loss" in text_of(chart)
    rows = by_class(root, "details", "tl-data")[0].find("{*}table/{*}tbody")
    assert len(rows) == len(bars)


def test_a_capture_without_arrival_times_is_drawn_by_line():
    summary = html_runs.feed(html_runs.new_summary(), html_runs.generated(40, faulty=0.3), t0=None)
    root = ET.fromstring(render(summary.finish()).split("\n", 1)[1])
    chart = by_id(root, "tl-chart")
    assert "capture line" in text_of(by_id(root, "timeline"))
    assert any(text_of(t).startswith("line ") for t in by_class(chart, "text", "tick"))
    assert len(by_class(chart, "g", "b")) == 40


def test_a_summary_without_timeline_still_renders():
    summary = html_runs.passing_run()
    summary.timeline = None
    root = ET.fromstring(render(summary).split("\n", 1)[1])
    assert by_id(root, "tl-chart") is not None
    assert not by_class(root, "g", "b")


def test_the_failing_path_is_highlighted_in_the_body(reports):
    _, _, root = reports["failing"]
    group = next(el for el in root.iter() if el.get("id") == "c-D601")
    marks = [m for m in group.iter() if local(m.tag) == "mark"]
    hit = [m for m in marks if "D601" in m.get("data-why", "")]
    # a member is marked with its key, an array element alone
    assert hit and all(text_of(m).strip() for m in hit)
    assert any(text_of(m).startswith('"') for m in hit)


def test_body_marks_the_node_or_where_an_absent_member_belongs():
    body = json.dumps({"name": "x", "data": {"a": [1, {"b": "</pre>"}], "e": {}}})
    out, notes = body_html(body, [
        {"code": "D601", "path": "$.data.a[1].b"}, {"code": "A500", "path": "$.required_acl"},
        {"code": "D600", "path": "$.data.e.z"}])
    assert notes == []
    assert '<mark class="hit" data-why="D601">"b": "&lt;/pre&gt;"</mark>' in out
    assert '{\n  <mark class="hit absent" data-why="A500">.required_acl is absent</mark>\n' in out
    assert '<mark class="hit" data-why="D600 .z absent">"e": {}</mark>' in out
    cut, notes = body_html(body[:20] + "... [9 more chars]", [{"code": "D601", "path": "$.x"}])
    assert "<mark" not in cut and notes == ["D601 at $.x"]
    elsewhere, notes = body_html(body, [{"code": "R400", "path": "routing_key"},
                                        {"code": "B105", "path": "properties.content_type"}])
    assert "<mark" not in elsewhere and notes == []
    lone, _ = body_html('{"a": "\\ud800"}', [])
    assert "\\ud800" in lone and not UNSAFE.search(lone)


def test_redacted_samples_keep_personal_data_out():
    secret = "Zorglub Secretname"
    msg = {"name": "chat_message_event", "origin_uuid": "bad", "required_acl": None,
           "data": {"alias": secret, "to": ["a", "b"], "from": ["c", "d"], "msg": secret}}
    raw = json.dumps(msg).encode()
    for redact in (False, True):
        summary = html_runs.new_summary(redact=redact)
        html_runs.feed(summary, [("chat.message.x.y", {"content_type": "application/json"}, raw)])
        assert summary.verdicts[FAIL] == 1
        assert (secret in render(summary.finish())) is not redact


@given(st.text(st.characters(exclude_categories=()), max_size=30),
       st.text(st.characters(exclude_categories=()), max_size=30))
def test_any_text_anywhere_keeps_the_report_well_formed(name, value):
    summary = html_runs.new_summary(source=value)
    finding = Finding("D601", "error", "$.data['" + value + "']", value)
    body = json.dumps({"name": name, value: [value]}).encode("utf-8", "surrogatepass")
    html_runs.add(summary, MessageResult(name, value, FAIL, (finding,)), body, {"line": 1})
    text = render(summary.finish(stop_reason=value, gaps=[{"start": 1.0, "reason": value}]))
    ET.fromstring(text.split("\n", 1)[1])
    text.encode("utf-8")


# -- size ------------------------------------------------------------------------------

def _bulk(messages: int, names: int, *, body_chars: int = 600) -> str:
    """A run of `messages` results over `names` event names, each failing name carrying
    several codes, with bodies of about body_chars characters."""
    summary = html_runs.new_summary(source="bulk")
    codes = ["D600", "D601", "D602", "D605", "R400", "A502", "N300", "D604"]
    filler = "x" * body_chars
    for i in range(messages):
        name = f"event_{i % names}"
        k = i % 7
        findings = () if k else tuple(
            Finding(c, "error" if c not in ("N300", "D604") else "warning",
                    f"$.data.f{j}", f"value {i} is wrong") for j, c in enumerate(codes[:1 + i % 8]))
        body = json.dumps({"name": name, "data": {"f0": i, "pad": filler}}).encode()
        verdict = FAIL if findings else OK
        html_runs.add(summary, MessageResult(name, "rk." + name, verdict, findings), body,
                      {"line": i + 1, "received_at": html_runs.T0 + i / 500})
    return render(summary.finish())


def test_size_is_bounded_independently_of_the_message_count():
    small, large = _bulk(20_000, 60), _bulk(200_000, 60)
    assert len(large.encode()) < 2_000_000
    # ten times the messages: only the printed figures grow (a few digits)
    assert abs(len(large) - len(small)) < 0.05 * len(small)


def test_worst_case_names_codes_bodies_and_gaps_stay_under_2_mb():
    """1,000 long names, every code on every message, long finding messages, bodies of
    markup and control characters (which escaping inflates), a thousand gaps."""
    summary = html_runs.new_summary(source="worst")
    filler = "<\x00" * 950
    for i in range(20_000):
        name = f"event_{i % 1000}_" + "n" * 300
        findings = tuple(Finding(c.code, c.severity, f"$.data.f{j}", "m" * 300)
                         for j, c in enumerate(CODES))
        body = json.dumps({"name": name, "data": {"pad": filler}}).encode()
        html_runs.add(summary, MessageResult(name, "rk." + name, FAIL, findings), body,
                      {"line": i + 1, "received_at": html_runs.T0 + i * 7.3})
    gaps = [{"start": html_runs.T0 + k * 100, "end": html_runs.T0 + k * 100 + 50,
             "reason": "r" * 400} for k in range(1000)]
    text = render(summary.finish(gaps=gaps))
    assert len(text.encode()) < 2_000_000
    assert "left out to keep the report small" in text
    root = ET.fromstring(text.split("\n", 1)[1])
    assert by_class(by_id(root, "failing"), "article", "sample")  # its own budget


def test_cli_writes_an_html_report(tmp_path):
    out = tmp_path / "r.html"
    proc = subprocess.run([sys.executable, "-m", "validator", "check", "--format", "html",
                           "--output", str(out), "--quiet"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    root = ET.fromstring(out.read_text("utf-8").split("\n", 1)[1])
    assert text_of(by_id(root, "status")) == "✖ FAILED"


def test_in_a_code_section_other_codes_are_marked_lighter():
    body = json.dumps({"data": {"a": 1, "b": 2}})
    findings = [{"code": "D601", "path": "$.data.a"}, {"code": "D604", "path": "$.data.b"}]
    out, _ = body_html(body, findings, "D601")
    assert '<mark class="hit" data-why="D601">"a": 1</mark>' in out
    assert '<mark class="hit other" data-why="D604">"b": 2</mark>' in out


def test_absurd_arrival_times_still_give_a_readable_axis():
    summary = html_runs.new_summary()
    for at in (0.0, html_runs.T0, 1e12, -5.0):
        result = MessageResult("x", "rk", OK, ())
        html_runs.add(summary, result, b"{}", {"received_at": at})
    root = ET.fromstring(render(summary.finish()).split("\n", 1)[1])
    ticks = by_class(by_id(root, "tl-chart"), "text", "tick")
    assert 3 <= len(ticks) <= 3 + 9  # the value axis's 3, and a handful of dates


def test_delivery_counts_are_shown_when_the_summary_has_them():
    summary = html_runs.passing_run()
    d = summary.as_dict()
    d["delivery"] = {"format": 1, "messages": 3, "lost": 2, "consequences": {"W800": 2},
                     "events": {"favorite_added": {
                         "messages": 3, "expected": {"concerned_user": 3},
                         "actual": {"nobody": 2, "concerned_user": 1}, "lost": 2,
                         "consequences": {"W800": 2}}, MARKUP_NAME: {"messages": 1}}}
    summary.as_dict = lambda: d
    root = ET.fromstring(render(summary).split("\n", 1)[1])
    rows = by_id(root, "delivery").find("{*}div/{*}table/{*}tbody")
    first = [text_of(c) for c in rows[0]]
    assert first == ["favorite_added", "3", "concerned_user ×3", "nobody ×2, concerned_user ×1",
                     "2", "W800\xa0×2"]
    assert "2 messages never reach the user they concern" in text_of(by_id(root, "delivery"))
    assert rows[0][5].find("{*}a") is None  # W800 has no section in this run: no link


def test_no_delivery_section_without_delivery_counts(reports):
    _, _, root = reports["passing"]
    assert not any(el.get("id") == "delivery" for el in root.iter())
