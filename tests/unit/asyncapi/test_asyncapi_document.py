"""The AsyncAPI export: valid against the official 3.0.0 JSON Schema (and, when node and the
package are installed, the official parser), deterministic, fresh, and faithful to the
catalogue it comes from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from validator.asyncapi import asyncapi_schema, build_document, render
from validator.catalogue import load_catalogue
from validator.cli import main
from validator.schemagen import REPO_SCHEMAS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "asyncapi"
OFFICIAL_SCHEMA = FIXTURES / "asyncapi-3.0.0-without-id.schema.json"
COMMITTED = REPO_SCHEMAS / "asyncapi-17.08.yaml"
PARSER_DIR = Path(os.environ.get(
    "WAZO_ASYNCAPI_PARSER_DIR",
    Path.home() / ".cache" / "wazo-bus-validator" / "asyncapi-parser")) / "node_modules"
VERSIONS = ["15.01", "16.07", "17.08", "17.13"]


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def official():
    schema = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


@pytest.fixture(scope="module")
def document(catalogue):
    return build_document(catalogue)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_document_is_valid_against_the_official_schema(catalogue, official, version):
    doc = yaml.safe_load(render(build_document(catalogue, version)))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
              for e in official.iter_errors(doc)]
    assert errors == []


def test_the_official_schema_refuses_a_broken_document(document, official):
    # The copy must be able to fail: a channel parameter with a schema is 2.x, not 3.0.
    broken = json.loads(json.dumps(document))
    channel = next(c for c in broken["channels"].values() if "parameters" in c)
    next(iter(channel["parameters"].values()))["schema"] = {"type": "string"}
    del broken["operations"][next(iter(broken["operations"]))]["action"]
    assert len(list(official.iter_errors(broken))) >= 2


def test_same_catalogue_same_bytes(catalogue):
    first = render(build_document(catalogue))
    second = render(build_document(load_catalogue()))
    assert first == second
    assert render(build_document(catalogue), "json") == render(build_document(catalogue), "json")


def test_yaml_and_json_say_the_same(document):
    assert yaml.safe_load(render(document)) == json.loads(render(document, "json"))


def test_the_committed_document_is_fresh():
    assert COMMITTED.read_text(encoding="utf-8") == render(build_document(load_catalogue())), (
        "schemas/asyncapi-17.08.yaml is stale: run "
        "`wazo-bus-validator asyncapi --output schemas/asyncapi-17.08.yaml`")


def test_one_message_per_documented_event_and_one_channel_per_template(catalogue, document):
    names = catalogue.all_names()
    open_families = [e for e in catalogue.events if e.is_open_family]
    messages = document["components"]["messages"]
    assert len(messages) == len(names) + len(open_families) == 28
    assert {m["name"] for m in messages.values()} >= set(names)
    addresses = sorted(c["address"] for c in document["channels"].values())
    assert addresses == sorted(e.routing_key for e in catalogue.events)
    assert set(document["operations"]) == {f"receive_{c}" for c in document["channels"]}
    assert all(op["action"] == "receive" for op in document["operations"].values())


def test_parameters_point_at_the_data_they_come_from(document):
    chat = document["channels"]["chat_message_event"]
    assert chat["address"] == "chat.message.{wazo_uuid}.{user_uuid}"
    assert chat["parameters"]["user_uuid"]["location"] == "$message.payload#/data/to/1"
    forwards = document["channels"]["users_forwards_forward_name_updated"]
    assert forwards["parameters"]["forward_name"]["enum"] == ["busy", "noanswer", "unconditional"]
    assert forwards["parameters"]["user_uuid"]["location"] == "$message.payload#/data/user_uuid"
    assert len(forwards["messages"]) == 3


def test_messages_carry_acl_since_errata_and_a_valid_example(catalogue, document):
    messages = document["components"]["messages"]
    plugin = messages["plugin_install_progress"]
    assert plugin["x-required-acl"] == "events.plugin.install.{uuid}.{status}"
    assert plugin["x-since"] == "17.08"
    assert plugin["contentType"] == "application/json"
    assert messages["user_status_update"]["x-errata"] == ["E1"]
    assert [e["id"] for e in document["x-errata"]] == [e.id for e in catalogue.errata]
    components = {"components": document["components"]}
    for message_id, message in messages.items():
        schema = dict(message["payload"], **components)
        for example in message["examples"]:
            jsonschema.Draft7Validator(schema).validate(example["payload"])


def test_payloads_are_the_schemas_of_schemas_dir(document):
    # The same schema as schemas/<event>.json, in the AsyncAPI dialect.
    on_disk = json.loads((REPO_SCHEMAS / "user_status_update.json").read_text(encoding="utf-8"))
    assert document["components"]["messages"]["user_status_update"]["payload"] == \
        asyncapi_schema(on_disk)


def test_an_older_version_describes_that_version(catalogue):
    doc = build_document(catalogue, "16.07")
    messages = doc["components"]["messages"]
    assert "call_held" not in messages and "favorite_added" not in messages
    data = messages["user_status_update"]["payload"]["properties"]["data"]
    assert "user_id" in data["properties"] and "user_uuid" not in data["properties"]
    assert doc["info"]["version"] == "16.07"


def test_dialect_translation():
    schema = {"$schema": "x", "$id": "y", "x-since": None, "$defs": {"a": {}},
              "type": "array", "prefixItems": [{"$ref": "#/$defs/uuid"}], "items": False,
              "properties": {"x-odd": {"description": "d", "$ref": "#/$defs/uuid"}},
              "enum": [{"$ref": "kept"}]}
    assert asyncapi_schema(schema) == {
        "type": "array", "items": [{"$ref": "#/components/schemas/uuid"}],
        "additionalItems": False,
        "properties": {"x-odd": {"allOf": [{"$ref": "#/components/schemas/uuid"}],
                                 "description": "d"}},
        "enum": [{"$ref": "kept"}]}


def test_cli_check_and_output(tmp_path, capsys):
    out = tmp_path / "bus.json"
    assert main(["asyncapi", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["asyncapi"] == "3.0.0"
    assert main(["asyncapi", "--check", str(out)]) == 0
    out.write_text(out.read_text().replace("xivo", "xivo2"))
    capsys.readouterr()
    assert main(["asyncapi", "--check", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "stale" in lines[0] and "--output" in lines[0]


@pytest.mark.parametrize("args, message", [
    (["--wazo-version", "12.01"], "outside the catalogue's range"),
    (["--wazo-version", "seventeen"], "is not a Wazo version"),
    (["--check", "/nonexistent/bus.yaml"], "--check"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = subprocess.run([sys.executable, "-m", "validator", "asyncapi", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def _parse_with_official_parser(path: Path) -> dict:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the official AsyncAPI parser cannot run")
    if not (PARSER_DIR / "@asyncapi" / "parser").is_dir():
        pytest.skip(f"@asyncapi/parser is not installed in {PARSER_DIR.parent} (npm install "
                    f"--prefix {PARSER_DIR.parent} @asyncapi/parser@3)")
    proc = subprocess.run(["node", str(FIXTURES / "parse.cjs"), str(path)], capture_output=True,
                          text=True, env=dict(os.environ, NODE_PATH=str(PARSER_DIR)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("version, suffix", [("17.08", ".yaml"), ("17.08", ".json"),
                                             ("15.01", ".yaml")])
def test_the_official_parser_accepts_the_document(tmp_path, catalogue, version, suffix):
    path = tmp_path / f"bus{suffix}"
    path.write_text(render(build_document(catalogue, version), suffix.lstrip(".")),
                    encoding="utf-8")
    result = _parse_with_official_parser(path)
    # Severity 0 is an error, 1 a warning (spectral's levels); 2 and 3 are info and hints
    # (3.0.0 is not the latest AsyncAPI version).
    problems = [d for d in result["diagnostics"] if d["severity"] <= 1]
    assert result["parsed"] and problems == []


def test_the_official_parser_refuses_a_broken_document(tmp_path, document):
    # The parser must be able to fail: an operation naming a message its channel lacks.
    broken = json.loads(json.dumps(document))
    operation = broken["operations"]["receive_plugin_install_progress"]
    operation["messages"][0]["$ref"] = "#/channels/plugin_install_progress/messages/gone"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    result = _parse_with_official_parser(path)
    assert any(d["severity"] <= 1 for d in result["diagnostics"])
