"""The plugin's command-line and ini options, and the settings they resolve to.

Light on purpose: pytest imports this module on every run, enabled or not, so it imports
nothing of the checker or of pika."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..urls import default_url

FAIL_ON = ("error", "warning", "never")
DEFAULT_SETTLE = 0.5
SETTLE_BOUND_FACTOR = 10     # a settle window lasts at most this many settle times
# report file suffix -> report format (the formats `listen --format` writes)
REPORT_FORMATS = {".json": "json", ".xml": "junit", ".md": "markdown", ".markdown": "markdown",
                  ".txt": "text"}
HOW_TO_ENABLE = ("the wazo-bus plugin is off: run pytest with --wazo-bus "
                 "(or set wazo_bus = true in the ini file)")


def add_options(parser) -> None:
    group = parser.getgroup("wazo-bus", "Wazo bus contract (wazo-bus-validator)")

    def option(flag, ini, help, ini_type="string", **kw):
        group.addoption(flag, dest=ini, default=None, help=help + f" (ini: {ini})", **kw)
        parser.addini(ini, help=help, type=ini_type, default=None)

    option("--wazo-bus", "wazo_bus", "check every bus event the tests cause, and blame it "
           "on the test that was running", ini_type="bool", action="store_true")
    option("--wazo-bus-url", "wazo_bus_url", "the broker (default: env WAZO_BUS_URL, else "
           "amqp://guest:guest@localhost:5672/%%2F)", metavar="URL")
    option("--wazo-bus-exchange", "wazo_bus_exchange", "the topic exchange (default: xivo)",
           metavar="NAME")
    option("--wazo-bus-bind", "wazo_bus_bind", "a binding key of the listener's own queue "
           "(repeatable; default: #)", ini_type="linelist", action="append", metavar="KEY")
    option("--wazo-bus-version", "wazo_bus_version", "the target Wazo version (default: "
           "the catalogue's, 17.08)", metavar="V")
    option("--wazo-bus-fail-on", "wazo_bus_fail_on", "what fails the test that caused it: "
           "error (default), warning, or never (report only)", choices=FAIL_ON)
    option("--wazo-bus-ignore", "wazo_bus_ignore", "finding codes or prefixes never held "
           "against a test (repeatable, comma-separated)", ini_type="linelist",
           action="append", metavar="CODE")
    option("--wazo-bus-report", "wazo_bus_report", "write the session's report; the format "
           "goes by the suffix: .json, .xml (JUnit), .md (Markdown), .txt (repeatable)",
           ini_type="linelist", action="append", metavar="FILE")
    option("--wazo-bus-redact", "wazo_bus_redact", "keep personal data out of the reports "
           "and the failure sections", ini_type="bool", action="store_true")
    option("--wazo-bus-settle", "wazo_bus_settle", "after each test, wait until the bus has "
           f"been quiet this long (default: {DEFAULT_SETTLE}; at most "
           f"{SETTLE_BOUND_FACTOR}x; 0: no wait)", metavar="SECONDS")


class SettingsError(ValueError):
    """A bad option or ini value: pytest shows it as a usage error (exit 4)."""


@dataclass(frozen=True)
class Settings:
    url: str = field(repr=False)   # a repr lands in tracebacks: never the password
    exchange: str
    bindings: tuple[str, ...]
    wazo_version: str | None
    fail_on: str
    ignore: tuple[str, ...]
    reports: tuple[tuple[Path, str], ...]   # (path, format)
    redact: bool
    settle: float

    @property
    def settle_bound(self) -> float:
        return self.settle * SETTLE_BOUND_FACTOR


def _value(config, name):
    """The command line's value, else the ini file's (None when neither is set)."""
    value = config.getoption(name, default=None)
    if value is None or value == []:
        value = config.getini(name)
    return None if value in (None, "", []) else value


def enabled(config) -> bool:
    value = _value(config, "wazo_bus")
    return bool(value) and value not in ("0", "false", "no")


def _split(values) -> tuple[str, ...]:
    return tuple(c.strip() for v in values or () for c in str(v).split(",") if c.strip())


def _settle(text) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise SettingsError(f"--wazo-bus-settle {text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value >= 0):
        raise SettingsError(f"--wazo-bus-settle {text!r} must be 0 or a positive number of "
                            "seconds")
    return value


def _reports(values, start: Path) -> tuple[tuple[Path, str], ...]:
    """Paths relative to the folder pytest was started in (tests may change folders)."""
    out = []
    for text in values or ():
        path = start / Path(text)
        fmt = REPORT_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise SettingsError(f"--wazo-bus-report {text}: the suffix says the format; use "
                                + ", ".join(REPORT_FORMATS))
        out.append((path.resolve(), fmt))
    return tuple(out)


def settings(config) -> Settings:
    fail_on = _value(config, "wazo_bus_fail_on") or "error"
    if fail_on not in FAIL_ON:
        raise SettingsError(f"wazo_bus_fail_on {fail_on!r}: use one of {', '.join(FAIL_ON)}")
    settle = _value(config, "wazo_bus_settle")
    return Settings(
        url=_value(config, "wazo_bus_url") or default_url(),
        exchange=_value(config, "wazo_bus_exchange") or "xivo",
        bindings=_split(_value(config, "wazo_bus_bind")) or ("#",),
        wazo_version=_value(config, "wazo_bus_version"),
        fail_on=fail_on,
        ignore=tuple(c.upper() for c in _split(_value(config, "wazo_bus_ignore"))),
        reports=_reports(_value(config, "wazo_bus_report"), Path(
            getattr(getattr(config, "invocation_params", None), "dir", None) or Path.cwd())),
        redact=bool(_value(config, "wazo_bus_redact")),
        settle=DEFAULT_SETTLE if settle is None else _settle(settle),
    )
