"""What the tool derives from its data files (the validated catalogue, what a pyproject.toml
holds for it), kept in the user's cache folder so that a run whose files did not change
neither parses nor checks them again.

An entry is named by a hash of everything its value depends on (the files' bytes, the code
that checks them, the tool's version), so a change to any of them misses and recomputes;
nothing is ever invalidated by time. The folder is $WAZO_BUS_CACHE_DIR (empty: no cache),
else $XDG_CACHE_HOME/wazo-bus-validator, else ~/.cache/wazo-bus-validator. A cache that
cannot be read or written is no cache: the value is computed as without one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable


try:  # hashlib's blake2b is this one; hashlib itself loads OpenSSL (~3 ms of start-up)
    from _blake2 import blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b

from . import __version__
from .folders import ENV, cache_dir  # noqa: F401 (ENV: the variable's name, for the tests)

KEEP = 8  # entries of one kind: a few catalogues in use at once, never a growing pile


def key_of(kind: str, inputs: Iterable[bytes]) -> str:
    digest = blake2b(f"{kind}\0{__version__}".encode(), digest_size=20)
    for data in inputs:
        digest.update(len(data).to_bytes(8, "little"))  # so that no two splits collide
        digest.update(data)
    return digest.hexdigest()


def cached(kind: str, inputs: Iterable[bytes], compute: Callable[[], Any]) -> Any:
    """compute()'s JSON value, from the cache when it holds one for these inputs. What
    compute raises (a broken file) passes through and is not cached; a value JSON would not
    give back equal (a YAML date, a non-string key) is returned but not cached."""
    folder = cache_dir()
    if folder is None:
        return compute()
    import orjson  # here, not at import: `import validator` alone must stay light
    key = key_of(kind, inputs)
    path = folder / f"{kind}-{key}.json"
    try:
        entry = orjson.loads(path.read_bytes())
        if isinstance(entry, dict) and entry.get("key") == key and "value" in entry:
            _touch(path)
            return entry["value"]
    except (OSError, orjson.JSONDecodeError):
        pass
    value = compute()
    _store(folder, kind, path, key, value)
    return value


def _store(folder: Path, kind: str, path: Path, key: str, value) -> None:
    import tempfile

    import orjson
    try:
        data = orjson.dumps({"key": key, "value": value})
    except TypeError:
        return
    if orjson.loads(data)["value"] != value:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)  # readers see the whole entry or none
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(folder, kind)
    except OSError:
        pass


def _touch(path: Path) -> None:
    """Pruning keeps the entries used last."""
    try:
        os.utime(path)
    except OSError:
        pass


def _prune(folder: Path, kind: str) -> None:
    entries = sorted(folder.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
