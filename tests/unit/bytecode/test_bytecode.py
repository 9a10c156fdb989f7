"""The package's bytecode in the cache folder: read back while the source is unchanged,
compiled again when it changed or the entry is broken, and never an error when the folder
cannot be written."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from validator import bytecode


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package `wbvpkg` with a module `m` whose VALUE is 1, found through a finder of its
    own (removed afterwards, with what it imported)."""
    root = tmp_path / "src"
    (root / "wbvpkg").mkdir(parents=True)
    (root / "wbvpkg" / "__init__.py").write_text("")
    (root / "wbvpkg" / "m.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(root))
    finder = bytecode.CachedBytecodeFinder("wbvpkg.", str(tmp_path / "cache"))
    sys.meta_path.insert(0, finder)
    yield root / "wbvpkg" / "m.py", tmp_path / "cache"
    sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n.split(".")[0] == "wbvpkg"]:
        del sys.modules[name]


def _fresh_value():
    sys.modules.pop("wbvpkg.m", None)
    import wbvpkg.m
    return wbvpkg.m.VALUE


def _entry(cache: Path) -> Path:
    (entry,) = cache.glob("*.pyc")
    return entry


def test_the_first_import_stores_the_code_and_the_next_reads_it(package):
    source, cache = package
    assert _fresh_value() == 1
    entry = _entry(cache)
    # Replace the stored code (its stamp kept): the next import must take it from the cache.
    stamp = bytecode._stamp(str(source))
    entry.write_bytes(stamp + marshal.dumps(compile("VALUE = 2\n", str(source), "exec")))
    assert _fresh_value() == 2
    import wbvpkg.m
    assert type(wbvpkg.m.__loader__).__name__ == "Loader"
    assert wbvpkg.m.__file__ == str(source)


def test_a_changed_source_is_compiled_again_and_stored(package):
    source, cache = package
    assert _fresh_value() == 1
    source.write_text("VALUE = 33\n")
    st = os.stat(source)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert _fresh_value() == 33
    assert _entry(cache).read_bytes().startswith(bytecode._stamp(str(source)))


@pytest.mark.parametrize("damage", [b"", b"garbage", None])
def test_a_broken_entry_is_compiled_again(package, damage):
    source, cache = package
    assert _fresh_value() == 1
    entry = _entry(cache)
    stamp = bytecode._stamp(str(source))
    entry.write_bytes(stamp + b"\xff\x00" if damage is None else damage)
    assert _fresh_value() == 1
    assert marshal.loads(entry.read_bytes()[len(stamp):]) is not None  # rewritten whole


def test_a_folder_that_cannot_be_written_is_no_cache(tmp_path, monkeypatch):
    root = tmp_path / "src"
    (root / "wbvpkg").mkdir(parents=True)
    (root / "wbvpkg" / "__init__.py").write_text("")
    (root / "wbvpkg" / "m.py").write_text("VALUE = 5\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.syspath_prepend(str(root))
    finder = bytecode.CachedBytecodeFinder("wbvpkg.", str(blocker / "cache"))
    sys.meta_path.insert(0, finder)
    try:
        assert _fresh_value() == 5
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.split(".")[0] == "wbvpkg"]:
            del sys.modules[name]


def test_install_only_when_bytecode_is_not_written_and_there_is_a_folder(monkeypatch, tmp_path):
    before = list(sys.meta_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert bytecode.install("wbvnothing", tmp_path) is None
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert bytecode.install("wbvnothing", None) is None
    assert sys.meta_path == before
    finder = bytecode.install("wbvnothing", tmp_path)
    try:
        from importlib.machinery import PathFinder
        assert sys.meta_path.index(finder) == sys.meta_path.index(PathFinder) - 1
    finally:
        sys.meta_path.remove(finder)


def _loader_in_a_fresh_interpreter(env_cache: str) -> str:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", WAZO_BUS_CACHE_DIR=env_cache)
    out = subprocess.run(
        [sys.executable, "-c", "import sys, validator.summary; "
         "print(type(sys.modules['validator.summary'].__loader__).__name__)"],
        capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_package_keeps_its_bytecode_in_the_cache_folder(tmp_path):
    assert _loader_in_a_fresh_interpreter(str(tmp_path)) == "Loader"
    assert len(list((tmp_path / "bytecode").glob("*.pyc"))) >= 2
    assert _loader_in_a_fresh_interpreter("") == "SourceFileLoader"  # no cache: none
