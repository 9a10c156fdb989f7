"""A new event is a YAML change: added to a copy of the catalogue, it appears in `examples`,
`docs`, `publish` and `bench` with no Python change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from validator.capture import read_capture
from validator.catalogue import load_catalogue

CAT = load_catalogue()
NAME = "widget_toggled"
SYNTHETIC = f"""
- name: {NAME}
  description: A synthetic event, to prove a new event needs no Python.
  routing_key: "widgets.{{user_uuid}}.toggled"
  required_acl: "events.widgets.{{user_uuid}}"
  bindings: {{user_uuid: data.user_uuid}}
  data:
    type: object
    required: [user_uuid, widget_id, label, state]
    properties:
      user_uuid: {{$ref: "#/$defs/uuid"}}
      widget_id: {{type: integer, minimum: 1, maximum: 99}}
      label: {{type: string, examples: [Front door, Back office]}}
      state: {{type: string, enum: ["on", "off"]}}
  example:
    body: |
      {{"name": "{NAME}", "origin_uuid": "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3",
       "required_acl": "events.widgets.8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2",
       "data": {{"user_uuid": "8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2", "widget_id": 7,
                "label": "Front door", "state": "on"}}}}
"""


@pytest.fixture(scope="module")
def catalogue_path(tmp_path_factory):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(open(CAT.path, encoding="utf-8"), Loader=loader)
    raw["events"] += yaml.safe_load(SYNTHETIC)
    path = tmp_path_factory.mktemp("catalogue") / "events.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert NAME in load_catalogue(path).all_names()
    return str(path)


def cli(*args, timeout=300):
    done = subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode in (0, 1), done.stderr
    return done


def test_examples(catalogue_path):
    out = json.loads(cli("examples", NAME, "--count", "3", "--catalogue", catalogue_path).stdout)
    assert [e["event"] for e in out] == [NAME] * 3
    for e in out:
        assert e["payload"]["data"]["label"] in ("Front door", "Back office")
        assert e["routing_key"] == f"widgets.{e['payload']['data']['user_uuid']}.toggled"


def test_docs(catalogue_path):
    text = cli("docs", "--catalogue", catalogue_path).stdout
    section = text.split(f"\n{NAME}\n")[1]
    assert "* routing key: widgets.<user_uuid>.toggled" in section
    assert '"label": "Front door"' in section  # the page's own example


def test_publish(catalogue_path, tmp_path):
    record = tmp_path / "published.jsonl"
    done = cli("publish", "--dry-run", "--count", "300", "--faulty", "0", "--catalogue",
               catalogue_path, "--record", str(record))
    assert json.loads(done.stdout.splitlines()[-1])["by_verdict"]["fail"] == 0
    names = {json.loads(item.body)["name"] for item in read_capture(str(record))}
    assert NAME in names


def test_bench(catalogue_path):
    done = cli("bench", "--catalogue", catalogue_path, "--mix", "uniform", "--messages",
               "3000", "--repeats", "1", "--rss-messages", "0", "--startup-runs", "0",
               "--process-messages", "0", "--quiet")
    counts = json.loads(done.stdout.splitlines()[-1])["capture"]["counts"]
    assert counts.get(NAME, 0) > 0
