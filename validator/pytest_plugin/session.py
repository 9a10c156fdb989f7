"""The plugin's hooks when it is on: one listener for the session, blame moved along the
tests' phases, a settle window and a verdict at the end of each test's call and teardown."""

from __future__ import annotations

import pytest

from .. import codes as C
from .blame import SESSION
from .fixture import WazoBus
from .listener import SessionListener
from .options import FAIL_ON, Settings, SettingsError
from .report import bad_events_section, terminal_lines, write_reports

MARKER = "wazo_bus"


def marker_policy(item, settings: Settings) -> tuple[frozenset[str], str]:
    """(codes ignored, fail-on) for a test: @pytest.mark.wazo_bus(ignore=[...], fail_on=...)
    over the session's settings. ValueError (one line) on a bad marker."""
    mark = item.get_closest_marker(MARKER)
    if mark is None:
        return frozenset(), settings.fail_on
    unknown = set(mark.kwargs) - {"ignore", "fail_on"}
    if mark.args or unknown:
        raise ValueError("@pytest.mark.wazo_bus takes only ignore=[codes] and fail_on=")
    ignore = mark.kwargs.get("ignore", ())
    if isinstance(ignore, str):
        ignore = [ignore]
    ignore = [str(c).strip().upper() for c in ignore]
    bad = C.validate_selectors(ignore)
    if bad:
        raise ValueError(f"@pytest.mark.wazo_bus ignore: unknown finding code {', '.join(bad)}")
    fail_on = mark.kwargs.get("fail_on", settings.fail_on)
    if fail_on not in FAIL_ON:
        raise ValueError(f"@pytest.mark.wazo_bus fail_on={fail_on!r}: use one of "
                         f"{', '.join(FAIL_ON)}")
    return frozenset(ignore), fail_on


class WazoBusSession:
    """Registered as a plugin by pytest_configure when --wazo-bus is given."""

    def __init__(self, config, settings: Settings):
        self.config = config
        self.settings = settings
        self.listener: SessionListener | None = None
        self.blamed: list[tuple[str, int]] = []   # (node id, bad events) per failed test
        self.tests = 0
        self.lines: list[str] = []
        self.session_bad = ([], 0)
        self.settled: list[str] = []   # the running test's settle windows: phase=outcome

    @property
    def blame(self):
        return self.listener.blame

    @property
    def version(self) -> str:
        return self.listener.total.wazo_version

    # -- session -------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session) -> None:
        try:
            self.listener = SessionListener(self.settings)
            self.listener.start()
        except SettingsError as exc:
            self.listener = None
            raise pytest.UsageError(f"wazo-bus: {exc}") from None

    def pytest_report_header(self, config) -> list[str]:
        if self.listener is None or self.listener.connected is None:
            return []
        info, s = self.listener.connected, self.settings
        return [f"wazo-bus: listening to exchange {s.exchange} on {info['url']} (own queue "
                f"{info['queue']}, bindings {' '.join(s.bindings)}); Wazo {self.version} "
                f"contract, fail on {s.fail_on}, settle {s.settle:g} s"]

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if self.listener is None:
            return
        listener, self.listener = self.listener, None
        total = listener.stop()
        self.session_bad = listener.blame.take_bad(listener.blame.session)
        notes = []
        if listener.error:
            notes.append(f"WARNING: {listener.error}")
        run = total.run
        if run.get("gaps"):
            notes.append(f"WARNING: the connection was lost {len(run['gaps'])} time(s); "
                         "messages sent meanwhile were not checked")
        elif run.get("may_have_lost"):
            notes.append("WARNING: the listener's bounded queue may have dropped messages "
                         f"(about {run.get('lost_estimate', 0)})")
        if listener.blame.internal_errors:
            notes.append(f"WARNING: {listener.blame.internal_errors} messages could not be "
                         "filed (a bug of the plugin)")
        try:
            notes += write_reports(total, self.settings.reports)
        except OSError as exc:
            notes.append(f"WARNING: the wazo-bus report could not be written: "
                         f"{exc.strerror or exc}")
        self.lines = terminal_lines(total, listener.blame.session, self.blamed,
                                    self.session_bad, notes)
        session_failed = self.session_bad[1] > 0 or listener.error is not None or \
            "broker-gone" in str(run.get("stop_reason", ""))
        if session_failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.lines:
            return
        bad = bool(self.blamed or self.session_bad[1])
        terminalreporter.write_sep("=", "wazo-bus", red=bad, green=not bad)
        for line in self.lines:
            terminalreporter.write_line(line)

    def pytest_unconfigure(self, config) -> None:
        if self.listener is not None:   # the session ended before sessionfinish
            self.listener.stop()
            self.listener = None

    # -- shared fixtures belong to the session -------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        if self.listener is None or fixturedef.scope == "function":
            return (yield)
        blame = self.blame
        what = f"fixture {fixturedef.argname} ({fixturedef.scope})"

        def leave():   # with its late events: a shared fixture's are the session's too
            blame.settle(self.settings.settle, self.settings.settle_bound)
            blame.leave_shared()
        # finalizers run last-in first-out: the first added runs after the fixture's own
        # teardown, the last added before it
        fixturedef.addfinalizer(leave)
        blame.enter_shared(f"{what} setup")
        try:
            return (yield)
        finally:
            leave()
            fixturedef.addfinalizer(lambda: blame.enter_shared(f"{what} teardown"))

    # -- the phases of a test ------------------------------------------------------
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self.listener is None:
            return (yield)
        blame = self.blame
        try:
            policy, error = marker_policy(item, self.settings), None
        except ValueError as exc:
            policy, error = (frozenset(), self.settings.fail_on), str(exc)
        blame.start_test(item.nodeid, *policy)
        if error:
            pytest.fail(error, pytrace=False)
        try:
            return (yield)
        finally:
            blame.phase_done()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        if self.listener is None:
            return (yield)
        self.blame.enter_phase("call")
        try:
            return (yield)
        finally:
            self.blame.phase_done()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        if self.listener is None:
            return (yield)
        self.blame.enter_phase("teardown")
        try:
            return (yield)
        finally:
            self.blame.phase_done()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if self.listener is None or call.when == "setup" or self.blame.test is None:
            return report
        blame, s = self.blame, self.settings
        owner = blame.test
        settled = blame.settle(s.settle, s.settle_bound)
        self.settled.append(f"{call.when}={settled}")
        listed, count = blame.take_bad(owner)
        if count:
            self._hold_against(report, bad_events_section(listed, count, owner, self.version,
                                                          call.when))
        if call.when == "teardown":
            blame.end_test()
            self.listener.total.merge(owner.summary)
            self.tests += 1
            if owner.bad_count:
                self.blamed.append((item.nodeid, owner.bad_count))
            report.user_properties += [("wazo_bus_messages", owner.summary.messages),
                                       ("wazo_bus_breaking", owner.bad_count),
                                       ("wazo_bus_settle", " ".join(self.settled))]
            self.settled = []
        return report

    @staticmethod
    def _hold_against(report, text: str) -> None:
        if report.passed and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = text
        else:
            report.sections.append(("wazo-bus", text))

    # -- fixtures' backends ----------------------------------------------------------
    def for_test(self) -> WazoBus:
        return WazoBus(self.blame, self.blame.test, self.version)

    def for_session(self) -> WazoBus:
        return WazoBus(self.blame, self.blame.session, self.version)


__all__ = ["SESSION", "WazoBusSession"]
