"""Settings from `[tool.wazo-bus-validator]` in pyproject.toml and from WAZO_BUS_* variables.

The command line wins over the environment, which wins over the file. The file is the
nearest pyproject.toml, from the current folder up, that has the section (as ruff finds
its own). They become the defaults of the report options, so that any option given on the
command line replaces them; `record()` says in the report which of them applied.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import NamedTuple

from . import cache
from .codes import validate_selectors
from .errors import UsageError

SECTION = "wazo-bus-validator"
FAIL_ON = ("error", "warning", "never")
COLORS = ("auto", "always", "never")


class Key(NamedTuple):  # not a frozen dataclass: ten times cheaper to define at start-up
    name: str       # as written in pyproject.toml
    dest: str       # the argparse destination
    env: str        # the environment variable
    is_list: bool


KEYS = (
    Key("select", "select", "WAZO_BUS_SELECT", True),
    Key("ignore", "ignore", "WAZO_BUS_IGNORE", True),
    Key("fail-on", "fail_on", "WAZO_BUS_FAIL_ON", False),
    Key("require", "require", "WAZO_BUS_REQUIRE", True),
    Key("wazo-version", "wazo_version", "WAZO_BUS_WAZO_VERSION", False),
    Key("format", "formats", "WAZO_BUS_FORMAT", True),
    Key("color", "color", "WAZO_BUS_COLOR", False),
)
BY_NAME = {k.name: k for k in KEYS}
ALIASES = {"formats": "format", "fail_on": "fail-on", "wazo_version": "wazo-version",
           "colour": "color"}


class Settings:
    """The values found and where each came from ("pyproject.toml" path or env name)."""

    # Not a dataclass: defining one costs ~1 ms of start-up (its methods are exec'd).
    def __init__(self, values: dict | None = None, origins: dict | None = None,
                 file: Path | None = None):
        self.values = {} if values is None else values     # dest -> value (lists as tuples)
        self.origins = {} if origins is None else origins  # dest -> where it came from
        self.file = file

    def __repr__(self) -> str:
        return f"Settings(values={self.values!r}, origins={self.origins!r}, file={self.file!r})"

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return ((self.values, self.origins, self.file)
                    == (other.values, other.origins, other.file))
        return NotImplemented

    def record(self, args) -> dict:
        """The settings that applied to this run: those the command line did not replace."""
        applied = {}
        for key in KEYS:
            if key.dest not in self.values:
                continue
            value = getattr(args, key.dest, None)
            if value is self.values[key.dest] or (not key.is_list and value == self.values[key.dest]):
                applied[key.name] = {"value": list(value) if key.is_list else value,
                                     "from": self.origins[key.dest]}
        return {"file": str(self.file) if self.file else None, "applied": applied}


def find_pyproject(start: Path) -> tuple[Path, dict] | None:
    """The nearest pyproject.toml with a [tool.wazo-bus-validator] section, and the section."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            data = candidate.read_bytes()
        except OSError as exc:
            raise UsageError(f"{candidate}: cannot read it: {exc}") from None
        # Most pyproject.toml files have no section of ours: the cache remembers that (and
        # the section of those that have one) without importing tomllib at every start-up.
        section = cache.cached("settings", [SECTION.encode(), data],
                               lambda: _section(candidate, data))
        if section is not None:
            if not isinstance(section, dict):
                raise UsageError(f"{candidate}: [tool.{SECTION}] is not a table")
            return candidate, section
    return None


def _section(path: Path, data: bytes):
    import tomllib

    try:
        return tomllib.loads(data.decode()).get("tool", {}).get(SECTION)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None


def _check(key: Key, value, where: str):
    """The value in the shape the option has, or a one-line UsageError naming `where`."""
    if key.is_list:
        if isinstance(value, str):
            value = [v for v in value.split(",")]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{where}: {key.name} must be a list of strings")
        value = tuple(v.strip() for v in value if v.strip())
        if key.dest in ("select", "ignore"):
            unknown = validate_selectors([v.upper() for v in value])
            if unknown:
                raise UsageError(f"{where}: {key.name}: unknown finding code {', '.join(unknown)}")
        if key.dest == "formats":
            from .outputs import parse_formats
            try:
                value = parse_formats(",".join(value))
            except Exception as exc:
                raise UsageError(f"{where}: format: {exc}") from None
        return value
    if not isinstance(value, str):
        raise UsageError(f"{where}: {key.name} must be a string")
    choices = {"fail_on": FAIL_ON, "color": COLORS}.get(key.dest)
    if choices and value not in choices:
        raise UsageError(f"{where}: {key.name} must be one of {', '.join(choices)}, "
                         f"not {value!r}")
    return value


def load(cwd: Path | None = None, environ=None) -> Settings:
    environ = os.environ if environ is None else environ
    settings = Settings()
    found = find_pyproject((cwd or Path.cwd()).resolve())
    if found is not None:
        path, section = found
        settings.file = path
        for name, value in section.items():
            key = BY_NAME.get(ALIASES.get(name, name))
            if key is None:
                raise UsageError(f"{path}: [tool.{SECTION}] has an unknown key {name!r} (known: "
                                 f"{', '.join(BY_NAME)})")
            settings.values[key.dest] = _check(key, value, f"{path} [tool.{SECTION}]")
            settings.origins[key.dest] = str(path)
    for key in KEYS:
        value = environ.get(key.env)
        if value:
            settings.values[key.dest] = _check(key, value, f"environment {key.env}")
            settings.origins[key.dest] = f"environment {key.env}"
    return settings


_cache: dict = {}


def current() -> Settings:
    """Loaded once per process for a current folder and environment."""
    marker = (os.getcwd(), tuple(sorted((k.env, os.environ.get(k.env, "")) for k in KEYS)))
    if marker not in _cache:
        _cache.clear()
        _cache[marker] = load()
    return _cache[marker]


class ReplacingAppend(argparse.Action):
    """An 'append' whose first use on the command line replaces the default (the settings'
    list) instead of adding to it: the command line wins, as with ruff's --select."""

    def __call__(self, parser, namespace, values, option_string=None):
        current = getattr(namespace, self.dest, None)
        items = [] if current is self.default or current is None else list(current)
        items.append(values)
        setattr(namespace, self.dest, items)
