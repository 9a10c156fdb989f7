"""pytest plugin (entry point `wazo_bus`): every bus event a test causes is checked against
the Wazo contract and blamed on that test. Off unless `--wazo-bus` (or ini `wazo_bus =
true`). User guide: docs/pytest-plugin.md.

This module is imported on every pytest run that has the package installed, so it imports
only pytest and the options module; the checker and pika are imported when it is on."""

from __future__ import annotations

import pytest

from .options import HOW_TO_ENABLE, SettingsError, add_options, enabled, settings

SESSION_PLUGIN = "wazo-bus-session"


def pytest_addoption(parser) -> None:
    add_options(parser)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "wazo_bus(ignore=[codes], fail_on='error'|'warning'|'never'): how the "
                   "wazo-bus plugin judges the bus events this test causes")
    if not enabled(config) or config.option.collectonly:
        return
    if getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        # every xdist worker would see every event, so blame could not tell the tests apart
        raise pytest.UsageError("wazo-bus: does not run with pytest-xdist (-n); the session "
                                "needs one listener that sees the tests one at a time")
    try:
        chosen = settings(config)
    except SettingsError as exc:
        raise pytest.UsageError(f"wazo-bus: {exc}") from None
    from .session import WazoBusSession  # the heavy part: the checker, pika
    config.pluginmanager.register(WazoBusSession(config, chosen), SESSION_PLUGIN)


def _session(request):
    plugin = request.config.pluginmanager.get_plugin(SESSION_PLUGIN)
    if plugin is None or plugin.listener is None:
        pytest.skip(HOW_TO_ENABLE)
    return plugin


@pytest.fixture
def wazo_bus(request):
    """This test's bus events, checked: expect(name, timeout=, **data_fields),
    events(name=None), assert_conforms()."""
    return _session(request).for_test()


@pytest.fixture(scope="session")
def wazo_bus_session(request):
    """The bus events outside any test (session fixtures, between tests), with the same
    methods as wazo_bus: for a session fixture that waits for an event."""
    return _session(request).for_session()
