"""The plugin's options: the entry point, how command line, ini and environment combine,
one-line errors for bad values, and the marker's policy."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from validator.pytest_plugin import options
from validator.pytest_plugin.options import SettingsError, enabled, settings
from validator.pytest_plugin.session import marker_policy

ROOT = Path(__file__).resolve().parents[3]


class FakeConfig:
    def __init__(self, cli=None, ini=None):
        self.cli, self.ini = cli or {}, ini or {}

    def getoption(self, name, default=None):
        return self.cli.get(name, default)

    def getini(self, name):
        return self.ini.get(name)


def test_the_pytest11_entry_point_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"wazo_bus": "validator.pytest_plugin"}


def test_off_unless_the_flag_or_the_ini_turns_it_on():
    assert not enabled(FakeConfig())
    assert enabled(FakeConfig(cli={"wazo_bus": True}))
    assert enabled(FakeConfig(ini={"wazo_bus": True}))


def test_the_command_line_beats_the_ini_which_beats_the_environment(monkeypatch):
    monkeypatch.setenv("WAZO_BUS_URL", "amqp://env:pw@envhost/%2F")
    assert settings(FakeConfig()).url == "amqp://env:pw@envhost/%2F"
    ini = {"wazo_bus_url": "amqp://ini:pw@inihost/%2F", "wazo_bus_settle": "2",
           "wazo_bus_ignore": ["N300", "E202,B105"], "wazo_bus_fail_on": "warning"}
    chosen = settings(FakeConfig(ini=ini))
    assert chosen.url == "amqp://ini:pw@inihost/%2F" and chosen.settle == 2.0
    assert chosen.ignore == ("N300", "E202", "B105") and chosen.fail_on == "warning"
    chosen = settings(FakeConfig(cli={"wazo_bus_url": "amqp://cli:pw@clihost/%2F",
                                      "wazo_bus_settle": "0"}, ini=ini))
    assert chosen.url == "amqp://cli:pw@clihost/%2F" and chosen.settle == 0.0
    monkeypatch.delenv("WAZO_BUS_URL")
    default = settings(FakeConfig())
    assert default.url == "amqp://guest:guest@localhost:5672/%2F"
    assert (default.exchange, default.bindings, default.fail_on, default.settle) == (
        "xivo", ("#",), "error", options.DEFAULT_SETTLE)


def test_report_formats_go_by_suffix():
    chosen = settings(FakeConfig(cli={"wazo_bus_report": ["r/a.json", "b.xml", "c.md", "d.txt"]}))
    assert [fmt for _, fmt in chosen.reports] == ["json", "junit", "markdown", "text"]
    assert chosen.reports[0][0] == Path.cwd() / "r" / "a.json"
    with pytest.raises(SettingsError, match=r"--wazo-bus-report r\.html: the suffix"):
        settings(FakeConfig(cli={"wazo_bus_report": ["r.html"]}))


@pytest.mark.parametrize("value", ["x", "-1", "inf", "nan"])
def test_a_bad_settle_is_one_line(value):
    with pytest.raises(SettingsError, match="--wazo-bus-settle"):
        settings(FakeConfig(cli={"wazo_bus_settle": value}))


def test_a_bad_fail_on_in_the_ini_is_one_line():
    with pytest.raises(SettingsError, match="wazo_bus_fail_on 'sometimes'"):
        settings(FakeConfig(ini={"wazo_bus_fail_on": "sometimes"}))


def test_the_settings_repr_never_shows_the_url():
    chosen = settings(FakeConfig(cli={"wazo_bus_url": "amqp://u:Sesame99@h/%2F"}))
    assert "Sesame99" not in repr(chosen)


def item(*args, **kwargs):
    mark = SimpleNamespace(args=args, kwargs=kwargs) if (args or kwargs) else None
    return SimpleNamespace(get_closest_marker=lambda name: mark)


def test_the_marker_adjusts_a_tests_policy():
    chosen = settings(FakeConfig())
    assert marker_policy(item(), chosen) == (frozenset(), "error")
    assert marker_policy(item(ignore="n300", fail_on="never"), chosen) == (
        frozenset({"N300"}), "never")
    assert marker_policy(item(ignore=["A5", "D601"]), chosen) == (frozenset({"A5", "D601"}),
                                                                 "error")


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("N300",), {}, "takes only ignore="),
    ((), {"ignores": ["N300"]}, "takes only ignore="),
    ((), {"ignore": ["Z999"]}, "unknown finding code Z999"),
    ((), {"fail_on": "sometimes"}, "fail_on='sometimes'"),
])
def test_a_bad_marker_is_one_line(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        marker_policy(item(*args, **kwargs), settings(FakeConfig()))
