"""The validated catalogue comes from the user's cache when its files did not change: the
same Catalogue, without yaml or the checks; a changed or broken one is checked as ever."""

from __future__ import annotations

import subprocess
import sys

import pytest

from validator import cache, catalogue
from validator.catalogue import REPO_CATALOGUE, CatalogueError, load_catalogue


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def checks(monkeypatch):
    """How many times the catalogue was parsed and checked."""
    calls = []
    real = catalogue._checked

    def spy(path, data):
        calls.append(path)
        return real(path, data)
    monkeypatch.setattr(catalogue, "_checked", spy)
    return calls


def test_a_cached_catalogue_is_the_checked_one(folder, checks, monkeypatch):
    cold = load_catalogue()
    warm = load_catalogue()
    assert len(checks) == 1
    assert len(list(folder.glob("catalogue-*.json"))) == 1
    monkeypatch.setenv(cache.ENV, "")
    assert warm == cold == load_catalogue()
    assert [e.concrete_names() for e in warm.events] == [e.concrete_names() for e in cold.events]


def test_a_warm_start_neither_imports_yaml_nor_checks(folder):
    script = ("import sys; from validator.catalogue import load_catalogue; load_catalogue(); "
              "print(sorted({'yaml', 'validator.catalogue_checks', 'jsonschema'} "
              "& set(sys.modules)))")
    run = [sys.executable, "-c", script]
    cold = subprocess.run(run, capture_output=True, text=True, check=True).stdout.strip()
    warm = subprocess.run(run, capture_output=True, text=True, check=True).stdout.strip()
    assert cold == "['validator.catalogue_checks', 'yaml']"
    assert warm == "[]"


def test_a_changed_catalogue_is_checked_again(folder, checks, tmp_path):
    path = tmp_path / "events.yaml"
    text = REPO_CATALOGUE.read_text()
    path.write_text(text)
    load_catalogue(path)
    path.write_text(text.replace("routing_key: calls.hold.created", "routing_key: calls.{x}.created"))
    with pytest.raises(CatalogueError, match="placeholder {x} is bound by nothing"):
        load_catalogue(path)
    assert len(checks) == 2


def test_a_changed_check_checks_again(folder, checks, tmp_path, monkeypatch):
    rule = tmp_path / "catalogue_checks.py"
    rule.write_text("one")
    monkeypatch.setattr(catalogue, "CHECKED_BY", catalogue.CHECKED_BY + (rule,))
    load_catalogue()
    load_catalogue()
    rule.write_text("two")
    load_catalogue()
    assert len(checks) == 2


def test_the_cache_never_hides_a_path(folder, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(REPO_CATALOGUE.read_text())
    assert load_catalogue().path == REPO_CATALOGUE
    assert load_catalogue(path).path == path


def test_an_unwritable_cache_loads_as_without_one(tmp_path, monkeypatch, checks):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(cache.ENV, str(tmp_path / "file" / "cache"))
    assert load_catalogue() == load_catalogue()
    assert len(checks) == 2


def test_a_broken_catalogue_stays_one_line_exit_2_with_a_warm_cache(folder, tmp_path):
    load_catalogue()  # the bundled catalogue is cached
    path = tmp_path / "events.yaml"
    path.write_text(REPO_CATALOGUE.read_text().replace("routing_key: calls.hold.created",
                                                       "routing_key: calls.{x}.created"))
    for _ in range(2):  # a failure is never cached
        proc = subprocess.run([sys.executable, "-m", "validator", "check", "--catalogue",
                               str(path)], capture_output=True, text=True)
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.strip().splitlines() == [
            f"wazo-bus-validator: error: {path}: events[6] (call_held): routing_key: "
            "placeholder {x} is bound by nothing (add it to bindings or name_placeholders)"]
