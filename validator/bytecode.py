"""The package's own bytecode, kept in the cache folder when the interpreter was told not to
write it beside the sources (PYTHONDONTWRITEBYTECODE, -B): without it every run compiles its
modules again, a third of a short check's start-up (docs/speed.md, "Start-up")."""

from __future__ import annotations

import marshal
import os
import sys
from importlib.machinery import PathFinder, SourceFileLoader

try:  # as in cache.py: hashlib itself loads OpenSSL
    from _blake2 import blake2b
except ImportError:
    from hashlib import blake2b

from importlib.util import MAGIC_NUMBER


def _stamp(path: str) -> bytes:
    """What the compiled code depends on: the interpreter's bytecode version and the
    source's modification time and size (what CPython's own .pyc files check)."""
    st = os.stat(path)
    return MAGIC_NUMBER + st.st_mtime_ns.to_bytes(8, "little", signed=True) + (
        st.st_size.to_bytes(8, "little"))


class CachedBytecodeLoader(SourceFileLoader):
    """A module's source loader that reads and writes its code object in `folder`."""

    folder: str = ""

    def get_code(self, fullname):
        source = self.path
        name = blake2b(os.path.abspath(source).encode(), digest_size=16).hexdigest()
        where = os.path.join(self.folder, f"{name}.{sys.implementation.cache_tag}.pyc")
        try:
            stamp = _stamp(source)
            with open(where, "rb") as f:
                data = f.read()
            if data[:len(stamp)] == stamp:
                return marshal.loads(memoryview(data)[len(stamp):])
        except (OSError, ValueError, EOFError, TypeError):
            pass  # no entry, or a stale or broken one: compiled again below
        code = super().get_code(fullname)
        try:
            _write(self.folder, where, stamp + marshal.dumps(code))
        except (OSError, ValueError):
            pass  # a cache that cannot be written is no cache
        return code


def _write(folder: str, where: str, data: bytes) -> None:
    os.makedirs(folder, exist_ok=True)
    tmp = f"{where}.{os.getpid()}.tmp"  # (not tempfile: its import costs more than this)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, where)  # readers see the whole entry or none
    except BaseException:
        os.unlink(tmp)
        raise


class CachedBytecodeFinder:
    """Finds the modules under `prefix` as the path finder does, loaded by a
    CachedBytecodeLoader of `folder`."""

    def __init__(self, prefix: str, folder: str):
        self.prefix = prefix
        self.loader = type("Loader", (CachedBytecodeLoader,), {"folder": folder})

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.prefix):
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and type(spec.loader) is SourceFileLoader:
            spec.loader = self.loader(spec.loader.name, spec.loader.path)
        return spec

    def invalidate_caches(self):
        pass


def install(package: str, cache_folder) -> CachedBytecodeFinder | None:
    """Loads `package`'s modules through the cache when bytecode is not written beside the
    sources and there is a cache folder; placed just before the path finder, so that an
    import hook ahead of it (pytest's assertion rewriting) keeps its place."""
    if not sys.dont_write_bytecode or cache_folder is None:
        return None
    finder = CachedBytecodeFinder(package + ".",
                                  os.path.join(cache_folder, "bytecode"))
    try:
        at = sys.meta_path.index(PathFinder)
    except ValueError:
        at = len(sys.meta_path)
    sys.meta_path.insert(at, finder)
    return finder
