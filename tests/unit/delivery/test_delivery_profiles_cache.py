"""The profiles and delivery files go through the user's cache like the catalogue: a file
that passed is not parsed nor checked again while it is unchanged; a broken one is refused
every time."""

from __future__ import annotations

import shutil

import pytest

from validator.delivery import profiles as P


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("WAZO_BUS_CACHE_DIR", str(folder))
    return folder


def test_a_valid_file_is_checked_once_then_read_from_the_cache(cache_dir, tmp_path, monkeypatch):
    copy = tmp_path / "profiles.yaml"
    shutil.copy(P.spec_path("profiles.yaml"), copy)
    first = P.load_profiles(copy)
    assert list(cache_dir.glob("profiles-*.json"))

    def never(*args):
        raise AssertionError("checked again although unchanged")
    monkeypatch.setattr(P, "_checked", never)
    assert P.load_profiles(copy) == first
    copy.write_text(copy.read_text() + "\n# changed\n")
    with pytest.raises(AssertionError):  # a changed file misses the cache
        P.load_profiles(copy)


def test_a_broken_file_is_refused_every_time(cache_dir, tmp_path):
    broken = tmp_path / "profiles.yaml"
    broken.write_text("profiles: [not, a, mapping]\n")
    for _ in range(2):
        with pytest.raises(P.ProfileError, match="profiles"):
            P.load_profiles(broken)
    assert not list(cache_dir.glob("profiles-*.json"))
