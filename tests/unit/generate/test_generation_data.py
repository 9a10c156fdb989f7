"""specs/generation.yaml is validated at load: a broken file is one line and exit 2 for every
command that generates, never a traceback. A catalogue with its own generation.yaml beside
it uses that file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from validator.catalogue import load_catalogue
from validator.generate.values import generation_data_path

CAT = load_catalogue()
DEFAULT = generation_data_path()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True,
                          text=True, timeout=300)


def catalogue_with(tmp_path, text: str) -> str:
    shutil.copy(CAT.path, tmp_path / "events.yaml")
    (tmp_path / "generation.yaml").write_text(text, encoding="utf-8")
    return str(tmp_path / "events.yaml")


def broken_variants():
    good = DEFAULT.read_text(encoding="utf-8")
    raw = yaml.safe_load(good)
    unknown_key = dict(raw, colour="blue")
    bad_piece = json.loads(json.dumps(raw))
    bad_piece["vocabularies"]["person"].append("{surname}")
    no_mixes = {k: v for k, v in raw.items() if k != "mixes"}
    return [("unknown key", yaml.safe_dump(unknown_key), "colour"),
            ("bad piece", yaml.safe_dump(bad_piece, allow_unicode=True), "{surname}"),
            ("no mixes", yaml.safe_dump(no_mixes, allow_unicode=True), "mixes"),
            ("not YAML", good + "\n  - : [\n", "generation.yaml")]


@pytest.mark.parametrize("label,text,needle", broken_variants(), ids=lambda v: str(v)[:12])
@pytest.mark.parametrize("command", [["examples"], ["docs"], ["publish", "--dry-run"],
                                     ["bench", "--messages", "10", "--quiet"]])
def test_a_broken_generation_file_is_one_line_and_exit_2(tmp_path, label, text, needle,
                                                         command):
    done = cli(*command, "--catalogue", catalogue_with(tmp_path, text))
    assert done.returncode == 2, (label, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert needle in done.stderr and "generation.yaml" in done.stderr


def test_a_generation_file_beside_the_catalogue_is_used(tmp_path):
    raw = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    raw["vocabularies"]["sentence"] = ["Only this sentence."]
    path = catalogue_with(tmp_path, yaml.safe_dump(raw, allow_unicode=True))
    chat = next(s.name for s in CAT.events if s.personal_data and s.name
                and any(p.endswith(".msg") for p in s.personal_data))
    out = json.loads(cli("examples", chat, "--count", "3", "--catalogue", path).stdout)
    assert {e["payload"]["data"]["msg"] for e in out} == {"Only this sentence."}
