"""How reports state a verdict: JUnit testcases follow the codes' categories (a checker crash,
X901, is a failure too); the HTML verdict counts errors, not the warnings an erratum made."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from messages import CATALOGUE
from validator.codes import CATEGORIES
from validator.findings import crash_result
from validator.reporters import junit
from validator.summary import Summary


def test_a_run_where_the_checker_crashed_has_junit_failures():
    s = Summary(catalogue_names=CATALOGUE.all_names(), wazo_version="17.08", source="t")
    for i in range(3):
        s.add(crash_result("rk", RuntimeError("boom")), b"{}", where={"line": i + 1})
    s.finish(stop_reason="done")
    suite = ET.fromstring(junit.render(s))
    assert s.exit_code == 1
    input_cases = [c for c in suite.iter("testcase") if c.get("name") == "input"]
    assert input_cases and input_cases[0].find("failure") is not None
    assert int(suite.get("failures")) >= 2  # the input check and the gate


def test_one_testcase_per_event_and_category():
    s = Summary(catalogue_names=CATALOGUE.all_names(), wazo_version="17.08", source="t")
    s.add(crash_result("rk", RuntimeError("boom")), b"{}", where={"line": 1})
    suite = ET.fromstring(junit.render(s))
    names = [c.get("name") for c in suite.iter("testcase") if c.get("classname") != "wazo-bus.gate"]
    assert names == [c.name for c in CATEGORIES]


def test_the_html_verdict_counts_errors_not_the_warnings_an_erratum_made():
    from validator.reporters.html import reasons
    d = {"totals": {"messages": 10, "verdicts": {"ok": 4, "warn": 5, "fail": 1},
                    "input_errors": 0},
         "gate": {"fail_on": "error", "require": [], "missing_required": []},
         "run": {}, "status": "failed", "exit_code": 1,
         "codes": [{"code": "D600", "slug": "data-missing-field", "severity": "error",
                    "count": 5, "known_deviations": 5},
                   {"code": "A500", "slug": "acl-missing", "severity": "error",
                    "count": 1, "known_deviations": 0}]}
    why = " ".join(reasons(d))
    assert "A500 acl-missing ×1" in why and "D600" not in why
