"""The user's cache folder. Read before the package's bytecode cache is in place (see
bytecode.py), this module is compiled at every start: it stays this small."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "WAZO_BUS_CACHE_DIR"


def cache_dir(environ=None) -> Path | None:
    environ = os.environ if environ is None else environ
    if ENV in environ:
        return Path(environ[ENV]) if environ[ENV] else None
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative: the XDG spec says to ignore it
        home = environ.get("HOME") or os.path.expanduser("~")
        if not os.path.isabs(home):  # no home folder: no cache
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "wazo-bus-validator"
