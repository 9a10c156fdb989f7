"""A pyproject.toml read before comes from the cache (no tomllib at start-up); a changed
or broken one is read again."""

from __future__ import annotations

import pytest

from validator import cache, settings
from validator.errors import UsageError
from validator.settings import load


@pytest.fixture
def parses(tmp_path, monkeypatch):
    """The pyproject.toml files parsed with tomllib, in order."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    calls = []
    real = settings._section

    def spy(path, data):
        calls.append(path)
        return real(path, data)
    monkeypatch.setattr(settings, "_section", spy)
    return calls


def test_a_file_read_before_is_not_parsed_again(tmp_path, parses):
    (tmp_path / "pyproject.toml").write_text('[tool.wazo-bus-validator]\nselect = ["A"]\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "y"\n')
    first, second = load(inner, environ={}), load(inner, environ={})
    assert first == second
    assert second.values == {"select": ("A",)} and second.file == tmp_path / "pyproject.toml"
    assert parses == [inner / "pyproject.toml", tmp_path / "pyproject.toml"]


def test_a_changed_file_is_parsed_again(tmp_path, parses):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.wazo-bus-validator]\nselect = ["A"]\n')
    assert load(tmp_path, environ={}).values == {"select": ("A",)}
    path.write_text('[tool.wazo-bus-validator]\nselect = ["B"]\n')
    assert load(tmp_path, environ={}).values == {"select": ("B",)}
    path.write_text('[tool.wazo-bus-validator\n')
    for _ in range(2):  # a broken file is never cached
        with pytest.raises(UsageError, match="cannot read it"):
            load(tmp_path, environ={})
    assert len(parses) == 4


def test_a_broken_file_without_the_section_is_still_an_error(tmp_path, parses):
    (tmp_path / "pyproject.toml").write_text('[project\nname = "y"\n')
    with pytest.raises(UsageError, match="cannot read it"):
        load(tmp_path, environ={})
