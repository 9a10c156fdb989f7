"""JUnit XML: one testcase per event name and check, as GitLab and Jenkins read it.

A check is a family of codes (body, envelope, name, routing key, ACL, data, version). A
testcase fails when any message of that event had an error of that check; the failure
carries the counts and a few sample messages. Known deviations (errata) and warnings are
reported in system-out and do not fail the testcase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..codes import CATEGORIES
from .run_notes import loss_warning
from .wording import command_outcome, plural, shown_key

# Characters XML 1.0 cannot carry (a hostile body may hold any of them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(element: ET.Element) -> None:
    for node in element.iter():
        if node.text:
            node.text = _NOT_XML.sub("\ufffd", node.text)
        for key, value in node.attrib.items():
            node.set(key, _NOT_XML.sub("\ufffd", value))

# One testcase per event and category of codes (the codes' own categories).
CHECKS = {c.letter: c.name for c in CATEGORIES}


def gate_problems(d: dict) -> list[str]:
    """Why the run failed its gate, one reason a line; empty exactly when it passed."""
    if d["status"] == "passed":
        return []
    t, v = d["totals"], d["totals"]["verdicts"]
    problems = []
    if t["messages"] == 0:
        problems.append("no message was tested")
    if d["gate"]["missing_required"]:
        problems.append("required events never seen: " + ", ".join(d["gate"]["missing_required"]))
    if t["input_errors"]:
        problems.append(f"{plural(t['input_errors'], 'unreadable capture line')}: " + "; ".join(
            f"line {e['line']}: {e['message']}" for e in d["input_errors"]))
    if v["fail"] and d["gate"]["fail_on"] != "never":
        problems.append(f"{plural(v['fail'], 'message')} failed the contract")
    if v["warn"] and d["gate"]["fail_on"] == "warning":
        problems.append(f"{plural(v['warn'], 'message')} with warnings (--fail-on warning)")
    if command_outcome(d["run"]) and (
            d["run"].get("command_exit") != 0 or d["run"].get("interrupted")):
        problems.append("the command " + command_outcome(d["run"]))
    if d["status"] == "could not run":
        problems.append(f"the run could not do its job (stopped by {d['run'].get('stop_reason')})")
    if not problems:
        problems.append(f"the run {d['status']} (exit {d['exit_code']})")
    return problems


def render(summary) -> str:
    d = summary.as_dict()
    samples: dict[tuple[str, str], list] = {}
    for s in d["samples"]:
        samples.setdefault((s["event"], s["code"][0]), []).extend(
            (s["code"], m) for m in s["messages"])
    suite = ET.Element("testsuite", name="wazo-bus-conformance")
    tests = failures = 0
    for name, stats in d["events"].items():
        for letter, check in CHECKS.items():
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=f"wazo-bus.{name}", name=check)
            case.set("time", "0")
            codes = {c: n for c, n in stats["codes"].items() if c.startswith(letter)}
            errors, notes = [], []
            for code, sample in samples.get((name, letter), []):
                for f in sample["findings"]:
                    if f["code"] != code:
                        continue
                    where = f"line {sample['line']}" if "line" in sample else \
                        f"#{sample.get('index', '?')}"
                    text = (f"{f['code']} {f['severity']} {f['path']}: {f['message']} ({where}, "
                            f"routing key {shown_key(sample['routing_key'])})\n  body: {sample['body'][:500]}")
                    (errors if f["severity"] == "error" else notes).append(text)
            if errors:
                failures += 1
                fail = ET.SubElement(case, "failure", type=",".join(sorted(codes)),
                                     message=f"{name}: {check} check failed "
                                     + ", ".join(f"{c} x{n}" for c, n in sorted(codes.items())))
                fail.text = "\n".join(dict.fromkeys(errors))
            if notes:
                ET.SubElement(case, "system-out").text = "\n".join(dict.fromkeys(notes))
    gate = ET.SubElement(suite, "testcase", classname="wazo-bus.gate", name="run")
    tests += 1
    problems = gate_problems(d)
    loss = loss_warning(d["run"])
    if loss:
        ET.SubElement(gate, "system-out").text = loss
    if problems:
        failures += 1
        ET.SubElement(gate, "failure", message="; ".join(problems)[:500]).text = "\n".join(problems)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suites = ET.Element("testsuites", name="wazo-bus-validator", tests=str(tests),
                        failures=str(failures), errors="0")
    suites.append(suite)
    _clean(suites)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
