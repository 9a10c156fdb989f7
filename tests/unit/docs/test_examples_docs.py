"""`examples` and `docs`: seeded, byte-identical output that `check` accepts."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import strategies_profile  # noqa: E402,F401  (the deterministic hypothesis profile)

import json
import os
import re
import subprocess
import sys

import orjson
import pytest

from validator.catalogue import load_catalogue
from validator.check import MISSING, Checker
from validator.cli import main
from validator.generate.strategies import representative_versions

CAT = load_catalogue()
CLI = [sys.executable, "-m", "validator.cli"]


def cli(*args, **kwargs):
    env = dict(os.environ, PYTHONHASHSEED=kwargs.pop("hashseed", "random"))
    return subprocess.run(CLI + list(args), capture_output=True, timeout=120, env=env, **kwargs)


def run_main(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


# -- examples ------------------------------------------------------------------------------------

def test_examples_are_byte_identical_for_a_seed_and_differ_for_another(tmp_path, capsys):
    args = ["examples", "--count", "3", "--format", "capture"]
    one = cli(*args, "--seed", "11", hashseed="1")
    two = cli(*args, "--seed", "11", hashseed="2")
    other = cli(*args, "--seed", "12", hashseed="1")
    assert one.returncode == two.returncode == other.returncode == 0, one.stderr
    assert one.stdout and one.stdout == two.stdout
    assert other.stdout != one.stdout
    for fmt in ("json", "rst"):
        a = run_main(capsys, "examples", "--seed", "5", "--format", fmt)
        b = run_main(capsys, "examples", "--seed", "5", "--format", fmt)
        c = run_main(capsys, "examples", "--seed", "6", "--format", fmt)
        assert a[0] == 0 and a == b and a[1] != c[1]
    # ... and `wazo-bus-validator check FILE` passes it.
    capture = tmp_path / "all.jsonl"
    capture.write_bytes(one.stdout)
    checked = cli("check", str(capture))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("version", sorted({CAT.contract_version, CAT.version_range[0],
                                            *representative_versions(CAT)[1::4]}))
def test_every_event_as_capture_checks_with_zero_failures(tmp_path, capsys, version):
    capture = tmp_path / "examples.jsonl"
    code, out, err = run_main(capsys, "examples", "--count", "4", "--format", "capture",
                              "--seed", "3", "--wazo-version", version, "--output", str(capture))
    assert code == 0 and not out and not err
    lines = capture.read_bytes().splitlines()
    names = {orjson.loads(orjson.loads(line)["body"])["name"] for line in lines}
    checker = Checker(CAT, version)
    expected = [n for n in CAT.all_names() if checker.resolve(n)[0].not_yet is False]
    assert set(expected) <= names
    assert len(lines) == 4 * (len(expected) + sum(1 for e in CAT.events if e.is_open_family))
    code, out, err = run_main(capsys, "check", str(capture), "--wazo-version", version)
    assert code == 0, out + err
    assert re.search(r"\b0 fail\b", out), out


def test_examples_json(capsys):
    code, out, _ = run_main(capsys, "examples", "call_created",
                            "users_forwards_{forward_name}_updated", "Newchannel", "--count", "2")
    assert code == 0
    items = json.loads(out)
    assert [i["event"] for i in items] == ["call_created"] * 2 + [
        "users_forwards_busy_updated"] * 2 + ["users_forwards_noanswer_updated"] * 2 + [
        "users_forwards_unconditional_updated"] * 2 + ["Newchannel"] * 2
    checker = Checker(CAT)
    for item in items:
        assert item["payload"]["name"] == item["event"]
        body = json.dumps(item["payload"]).encode()
        assert checker.check(item["routing_key"], body, item["properties"]).verdict == "ok"
    assert items[-1]["routing_key"] == "ami.Newchannel"


def test_examples_rst_renders_like_the_page(capsys):
    code, out, _ = run_main(capsys, "examples", "agent_status_update", "--count", "2",
                            "--format", "rst")
    assert code == 0
    lines = out.splitlines()
    i = lines.index("agent_status_update")
    assert lines[i + 1] == "-" * len("agent_status_update")
    assert "* routing key: status.agent" in lines
    assert "* required ACL: events.statuses.agents" in lines
    blocks = example_blocks(out)
    assert len(blocks) == 2
    for block in blocks:
        assert json.loads(block)["name"] == "agent_status_update"
    start = lines.index("Example::")
    assert lines[start + 1] == "" and lines[start + 2] == "    {"


@pytest.mark.parametrize("args,message", [
    (["examples", "no_such_event"], "unknown event 'no_such_event'"),
    (["examples", "--count", "0"], "--count 0: must be at least 1"),
    (["examples", "--wazo-version", "99.99"], "outside the catalogue's range"),
    (["examples", "--wazo-version", "16.01", "favorite_added"], "introduced in 17.01"),
    (["examples", "--format", "xml"], "invalid choice"),
    (["examples", "--seed", "x"], "invalid int value"),
    (["docs", "--check", "/nonexistent/docs.rst"], "--check /nonexistent/docs.rst"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run_main(capsys, *args)
    assert code == 2 and not out
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_output_to_a_directory_is_a_usage_error(tmp_path):
    done = cli("examples", "--output", str(tmp_path))
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1
    assert b"is a directory" in done.stderr and b"Traceback" not in done.stderr


# -- docs ----------------------------------------------------------------------------------------

def example_blocks(rst: str) -> list[str]:
    """The literal blocks introduced by `Example::`, de-indented."""
    lines = rst.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip() != "Example::":
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        block = []
        while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
            block.append(lines[j][4:])
            j += 1
        out.append("\n".join(block).strip("\n"))
    return out


@pytest.fixture(scope="module")
def docs_text():
    from validator.docs import render_events
    return render_events(CAT)


def test_docs_examples_are_json_and_pass_check(tmp_path, capsys, docs_text):
    from validator.capture import capture_record
    checker = Checker(CAT)
    blocks = example_blocks(docs_text)
    assert len(blocks) >= len(CAT.events) + len(CAT.errata)
    capture = tmp_path / "docs.jsonl"
    with open(capture, "wb") as f:
        for block in blocks:
            msg = json.loads(block)
            compiled, values = checker.resolve(msg["name"])
            routing_key = compiled.rk.fill(msg, values)
            assert routing_key is not MISSING
            f.write(capture_record(routing_key, block.encode(),
                                   {"content_type": "application/json"}))
    code, out, err = run_main(capsys, "check", str(capture))
    assert code == 0, out + err


def test_docs_name_every_event_and_erratum(docs_text):
    for name in CAT.all_names():
        assert re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", docs_text), name
    def angled(template):
        return re.sub(r"{([^{}]+)}", r"<\1>", template)
    for spec in CAT.events:
        assert "* routing key: " + angled(spec.routing_key) in docs_text
        if spec.required_acl:
            assert "* required ACL: " + angled(spec.required_acl) in docs_text
        for key in (spec.data.get("properties") or {}) if isinstance(spec.data, dict) else ():
            assert f"``{key}``" in docs_text
    assert f"Known deviations of the {CAT.contract_version} code" in docs_text
    for erratum in CAT.errata:
        assert f"{erratum.id}: {erratum.title}" in docs_text
    for ph in ("busy", "noanswer", "unconditional", "dnd", "incallfilter", "[A-Z][A-Za-z0-9_]*"):
        assert ph in docs_text


def test_docs_use_the_pages_example_when_it_is_valid(docs_text):
    # The agent_status_update example is the page's own (its exact UUIDs), chat's is generated.
    assert '"agent_id": 42,' in docs_text
    section = docs_text.split("chat_message_event\n---")[1].split("\n---")[0]
    assert "This example is generated: the page's example is not valid JSON" in section


def test_docs_rst_is_well_formed(docs_text):
    import docutils.core as docutils  # a test dependency: the RST must parse
    import io
    errors = io.StringIO()
    docutils.publish_doctree(docs_text, settings_overrides={
        "warning_stream": errors, "report_level": 2, "halt_level": 5})
    assert errors.getvalue() == "", errors.getvalue()


def test_docs_command_output_and_check(tmp_path, capsys, docs_text):
    path = tmp_path / "events.rst"
    code, out, err = run_main(capsys, "docs", "--output", str(path))
    assert code == 0 and path.read_text(encoding="utf-8") == docs_text
    code, out, _ = run_main(capsys, "docs", "--check", str(path))
    assert code == 0 and "up to date" in out
    path.write_text(docs_text.replace("status.agent", "status.agents"), encoding="utf-8")
    code, out, _ = run_main(capsys, "docs", "--check", str(path))
    assert code == 1 and "stale" in out


def test_docs_examples_keep_the_pages_field_order(docs_text):
    from validator.docs import page_body_for, page_key_order

    def keys_in_order(node, order, where, path=()):
        if isinstance(node, dict):
            known = [k for k in node if k in order.get(path, {})]
            assert known == sorted(known, key=order[path].__getitem__) if known else True, \
                (where, path, list(node))
            for k, v in node.items():
                keys_in_order(v, order, where, path + (k,))
        elif isinstance(node, list):
            for v in node:
                keys_in_order(v, order, where, path + ("[]",))

    checked = 0
    for block in example_blocks(docs_text):
        msg = json.loads(block)
        hit = Checker(CAT).resolve(msg["name"])
        order = page_key_order(page_body_for(CAT, hit[0].spec))
        if order:
            keys_in_order(msg, order, msg["name"])
            checked += 1
    assert checked > len(CAT.errata)
