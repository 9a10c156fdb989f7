"""The cache of derived data: used when its inputs are the same, recomputed when they are
not, and no cache at all (never an error) when its folder cannot be written."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from validator import cache


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class Compute:
    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_the_same_inputs_give_the_stored_value_without_computing(folder):
    value = {"a": [1, 2.5, None, True, "x"], "b": {"c": "d"}}
    first, second = Compute(value), Compute("not this")
    assert cache.cached("kind", [b"one", b"two"], first) == value
    assert cache.cached("kind", [b"one", b"two"], second) == value
    assert (first.calls, second.calls) == (1, 0)
    assert len(list(folder.glob("kind-*.json"))) == 1


def test_changed_inputs_compute_again(folder):
    cache.cached("kind", [b"one", b"two"], Compute(1))
    for inputs in ([b"one", b"three"], [b"onet", b"wo"], [b"one"], [b"one", b"two", b""]):
        again = Compute(2)
        assert cache.cached("kind", inputs, again) == 2
        assert again.calls == 1
    assert cache.cached("other", [b"one", b"two"], Compute(3)) == 3


def test_another_version_of_the_tool_computes_again(folder, monkeypatch):
    cache.cached("kind", [b"x"], Compute(1))
    monkeypatch.setattr(cache, "__version__", "99.0")
    assert cache.cached("kind", [b"x"], Compute(2)) == 2


def test_an_error_passes_through_and_is_not_stored(folder):
    def broken():
        raise ValueError("broken")
    with pytest.raises(ValueError):
        cache.cached("kind", [b"x"], broken)
    assert not list(folder.glob("kind-*.json"))


@pytest.mark.parametrize("value", [{"d": datetime.date(2017, 8, 1)}, {1: "int key"},
                                   {"x": float("nan")}])
def test_a_value_json_would_change_is_returned_but_not_stored(folder, value):
    assert cache.cached("kind", [b"x"], Compute(value)) is value
    assert not list(folder.glob("kind-*.json"))


def test_a_damaged_entry_is_computed_again(folder):
    cache.cached("kind", [b"x"], Compute({"v": 1}))
    [entry] = folder.glob("kind-*.json")
    for damage in (b"", b'{"v": ', b"[]", b'{"key": "other", "value": 5}'):
        entry.write_bytes(damage)
        again = Compute({"v": 1})
        assert cache.cached("kind", [b"x"], again) == {"v": 1}
        assert again.calls == 1


def test_an_unwritable_folder_is_no_cache(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(cache.ENV, str(tmp_path / "file" / "cache"))  # root writes anywhere else
    for _ in range(2):
        again = Compute([1])
        assert cache.cached("kind", [b"x"], again) == [1]
        assert again.calls == 1


def test_an_empty_variable_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, "")
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        again = Compute(1)
        cache.cached("kind", [b"x"], again)
        assert again.calls == 1
    assert not list(tmp_path.iterdir())


def test_only_the_last_used_entries_of_a_kind_are_kept(folder):
    for i in range(cache.KEEP + 3):
        cache.cached("kind", [str(i).encode()], Compute(i))
    cache.cached("other", [b"x"], Compute(0))
    assert len(list(folder.glob("kind-*.json"))) == cache.KEEP
    assert len(list(folder.glob("other-*.json"))) == 1
    assert not list(folder.glob(".*"))  # no temporary file left


def test_the_default_folder_follows_xdg():
    assert cache.cache_dir({"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}) == \
        Path("/x/cache/wazo-bus-validator")
    assert cache.cache_dir({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}) == \
        Path("/home/u/.cache/wazo-bus-validator")
    assert cache.cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/home/u", cache.ENV: "/y"}) == \
        Path("/y")
    assert cache.cache_dir({cache.ENV: ""}) is None
