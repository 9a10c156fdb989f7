"""Settings: [tool.wazo-bus-validator] in the nearest pyproject.toml, WAZO_BUS_* variables,
the command line winning, and the report saying which applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from validator.errors import UsageError
from validator.settings import load

ROOT = Path(__file__).resolve().parents[3]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("WAZO_BUS_")}


def run(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True,
                          cwd=cwd, env={**CLEAN_ENV, **(env or {})}, timeout=120)


@pytest.fixture
def project(tmp_path):
    """A project whose settings ignore what fails the page examples; run from a sub-folder."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.wazo-bus-validator]\nignore = ["A500", "B101"]\n'
        'fail-on = "error"\nformat = ["json"]\n')
    sub = tmp_path / "ci" / "jobs"
    sub.mkdir(parents=True)
    return sub


def test_the_nearest_section_applies_and_the_report_says_so(project):
    proc = run("check", "--output", "r.json", cwd=project)
    assert proc.returncode == 0, proc.stderr  # the page's failures are ignored
    report = json.loads((project / "r.json").read_text())
    settings = report["run"]["settings"]
    assert settings["file"] == str(project.parents[1] / "pyproject.toml")
    assert settings["applied"]["ignore"] == {"value": ["A500", "B101"],
                                             "from": settings["file"]}
    assert settings["applied"]["format"]["value"] == ["json"]


def test_the_command_line_wins_over_the_file(project):
    proc = run("check", "--ignore", "A500", "--format", "json", "--output", "r.json",
               cwd=project)
    assert proc.returncode == 1  # B101 is no longer ignored
    applied = json.loads((project / "r.json").read_text())["run"]["settings"]["applied"]
    assert "ignore" not in applied and "format" not in applied
    assert applied["fail-on"]["value"] == "error"


def test_the_environment_wins_over_the_file(project):
    proc = run("check", "--output", "r.json", cwd=project,
               env={"WAZO_BUS_IGNORE": "A500", "WAZO_BUS_FAIL_ON": "never"})
    assert proc.returncode == 0  # B101 counts again, but fail-on never
    applied = json.loads((project / "r.json").read_text())["run"]["settings"]["applied"]
    assert applied["ignore"] == {"value": ["A500"], "from": "environment WAZO_BUS_IGNORE"}
    assert applied["fail-on"]["from"] == "environment WAZO_BUS_FAIL_ON"


@pytest.mark.parametrize("section,needle", [
    ('fail-on = "sometimes"', b"fail-on must be one of"),
    ('selekt = ["A"]', b"unknown key 'selekt'"),
    ('select = ["Q9"]', b"unknown finding code Q9"),
    ('format = "yaml"', b"invalid choice"),
    ('select = 5', b"must be a list"),
])
def test_a_bad_setting_is_one_line_exit_2(tmp_path, section, needle):
    (tmp_path / "pyproject.toml").write_text(f"[tool.wazo-bus-validator]\n{section}\n")
    proc = run("check", cwd=tmp_path)
    assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and b"Traceback" not in proc.stderr


def test_a_bad_environment_value_names_the_variable(tmp_path):
    proc = run("check", cwd=tmp_path, env={"WAZO_BUS_COLOR": "pink"})
    assert proc.returncode == 2 and b"WAZO_BUS_COLOR" in proc.stderr


def test_the_projects_own_pyproject_has_no_section():
    assert load(ROOT, environ={}).values == {}


def test_a_pyproject_without_the_section_is_passed_over(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.wazo-bus-validator]\nselect = ["A"]\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "y"\n')
    found = load(inner, environ={})
    assert found.values == {"select": ("A",)} and found.file == tmp_path / "pyproject.toml"


def test_an_unreadable_pyproject_is_a_usage_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.wazo-bus-validator\n")
    with pytest.raises(UsageError, match="cannot read it"):
        load(tmp_path, environ={})
