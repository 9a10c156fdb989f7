"""The pytest plugin on the real broker: generated test files (pytester) publish good and bad
events on their own exchange, and the right tests fail, with the right sections, reports
and exit codes. The plugin is loaded with `-p validator.pytest_plugin` (the entry point
is checked separately, in tests/unit/pytest_plugin)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import shutil
import socket
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pika
import pytest
from messages import valid_message

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.broker

# Once the package is installed its entry point loads the plugin, and naming it again with
# -p would register it twice (pluggy refuses).
INSTALLED = any(ep.name == "wazo_bus" and ep.value == "validator.pytest_plugin"
                for ep in importlib.metadata.entry_points(group="pytest11"))
PLUGIN = ("-p", "no:cacheprovider") if INSTALLED else (
    "-p", "validator.pytest_plugin", "-p", "no:cacheprovider")

# The generated suite's helpers: a plain pika publisher on the run's own exchange, and the
# messages the outer test made (the catalogue's examples, some broken on purpose).
CONFTEST = '''
import json
import pika
import pytest

URL = {url!r}
EXCHANGE = {exchange!r}
MESSAGES = json.loads({messages!r})


class Publisher:
    def __init__(self):
        self.conn = pika.BlockingConnection(pika.URLParameters(URL))
        self.channel = self.conn.channel()

    def __call__(self, which, **data):
        routing_key, msg = MESSAGES[which]
        msg = json.loads(json.dumps(msg))
        msg["data"].update(data)
        self.channel.basic_publish(
            EXCHANGE, routing_key, json.dumps(msg).encode(),
            pika.BasicProperties(content_type="application/json"))


@pytest.fixture(scope="session")
def publish():
    publisher = Publisher()
    yield publisher
    publisher.conn.close()


@pytest.fixture(scope="session")
def stack(publish, wazo_bus_session):
    """A session fixture, as a docker-compose start would be: its events are the session's."""
    publish("bad_status")
    wazo_bus_session.expect("user_status_update", timeout=10)
    yield


@pytest.fixture(scope="module")
def cleanup(publish, wazo_bus_session):
    """Torn down within the module's last test's teardown: its events are the session's."""
    yield
    publish("bad_call", call_id="1000.60")
    wazo_bus_session.expect("call_created", timeout=10, call_id="1000.60")


LATE = []
CONFIG = []


def pytest_configure(config):
    CONFIG.append(config)


def pytest_runtest_makereport(item, call):
    # After a test's call phase ended: the plugin's settle window is still to come.
    if call.when == "call" and item.name == "test_late_event":
        LATE[0]("bad_call", call_id="1000.99")


def pytest_runtest_logfinish(nodeid, location):
    # Between two tests: published, and seen by the session before the next test starts.
    if nodeid.endswith("::test_after_late"):
        LATE[0]("bad_call", call_id="1000.50")
        session = CONFIG[0].pluginmanager.get_plugin("wazo-bus-session").for_session()
        session.expect("call_created", timeout=10, call_id="1000.50")
'''

SUITE = '''
import pytest

from conftest import LATE


def test_quiet(cleanup):
    pass


def test_good(wazo_bus, publish, stack):
    publish("good_call", call_id="1000.1")
    event = wazo_bus.expect("call_created", timeout=10, call_id="1000.1")
    assert event.ok and event.phase == "call" and event.findings == ()
    assert [e.name for e in wazo_bus.events()] == ["call_created"]
    wazo_bus.assert_conforms()


def test_bad(wazo_bus, publish):
    publish("bad_call", call_id="1000.2")
    event = wazo_bus.expect("call_created", timeout=10, call_id="1000.2")
    assert event.verdict == "fail"


def test_late_event(wazo_bus, publish):
    LATE.append(publish)
    publish("good_call", call_id="1000.3")
    wazo_bus.expect("call_created", timeout=10, call_id="1000.3")


def test_after_late(wazo_bus):
    assert wazo_bus.events() == []


@pytest.mark.wazo_bus(ignore=["A5", "D6"])
def test_ignored_codes(wazo_bus, publish):
    publish("bad_call", call_id="1000.4")
    assert wazo_bus.expect("call_created", timeout=10, call_id="1000.4").ok


@pytest.mark.wazo_bus(fail_on="never")
def test_report_only(wazo_bus, publish):
    publish("bad_call", call_id="1000.5")
    assert not wazo_bus.expect("call_created", timeout=10, call_id="1000.5").ok


def test_conforms_now(wazo_bus, publish):
    publish("bad_call", call_id="1000.7")
    wazo_bus.expect("call_created", timeout=10, call_id="1000.7")
    wazo_bus.assert_conforms()
    raise AssertionError("assert_conforms let a bad event through")


def test_expect_times_out(wazo_bus, publish):
    publish("good_call", call_id="1000.6")
    wazo_bus.expect("call_created", timeout=0.5, call_id="2000.1")
'''


def broken_call(msg: dict) -> dict:
    """A call_created that breaks two rules: no required_acl (A500), status a number (D601)."""
    msg = json.loads(json.dumps(msg))
    del msg["required_acl"]
    msg["data"]["status"] = 42
    return msg


def broken_status(msg: dict) -> dict:
    msg = json.loads(json.dumps(msg))
    msg["data"]["status"] = 7
    return msg


@contextlib.contextmanager
def own_exchange(broker_url):
    """The run's own topic exchange, deleted afterwards (never the shared xivo)."""
    name = f"wbv-pytest-{uuid.uuid4().hex[:10]}"
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        conn.channel().exchange_declare(name, exchange_type="topic", auto_delete=False)
    finally:
        conn.close()
    try:
        yield name
    finally:
        conn = pika.BlockingConnection(pika.URLParameters(broker_url))
        try:
            conn.channel().exchange_delete(name)
        finally:
            conn.close()


@pytest.fixture
def exchange(broker_url):
    with own_exchange(broker_url) as name:
        yield name


def write_suite(folder: Path, broker_url: str, exchange: str) -> None:
    call_rk, call = valid_message("call_created")
    status_rk, status = valid_message("user_status_update")
    messages = {"good_call": (call_rk, call), "bad_call": (call_rk, broken_call(call)),
                "bad_status": (status_rk, broken_status(status))}
    (folder / "conftest.py").write_text(CONFTEST.format(
        url=broker_url, exchange=exchange, messages=json.dumps(messages)))
    (folder / "test_suite.py").write_text(SUITE)


def run(pytester, broker_url, exchange, *args):
    return pytester.runpytest_subprocess(
        *PLUGIN, "--wazo-bus", "--wazo-bus-url", broker_url, "--wazo-bus-exchange", exchange,
        *args)


def junit_cases(path: Path) -> dict[str, dict]:
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        kinds = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        out[case.get("name")] = {"props": props, "outcome": kinds, "text": "".join(
            (c.get("message") or "") + (c.text or "") for c in case)}
    return out


# -- the suite: blame, messages, reports, exit code -----------------------------------------

@pytest.fixture(scope="module")
def suite_run(broker_url, tmp_path_factory):
    """The generated suite, run once for the tests below (pytester's runs are per test)."""
    folder = tmp_path_factory.mktemp("suite")
    with own_exchange(broker_url) as exchange:
        write_suite(folder, broker_url, exchange)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *PLUGIN, "--wazo-bus", "--wazo-bus-url",
             broker_url, "--wazo-bus-exchange", exchange, "--wazo-bus-settle", "1",
             "--junitxml", "junit.xml", "--wazo-bus-report", "bus.json",
             "--wazo-bus-report", "bus.xml", "--wazo-bus-report", "bus.md", "-rA"],
            check=False, cwd=folder, capture_output=True, text=True, timeout=240)
    return done, folder


def test_the_tests_that_cause_bad_events_fail_and_only_they(suite_run):
    done, path = suite_run
    cases = junit_cases(path / "junit.xml")
    failed = sorted(n for n, c in cases.items() if c["outcome"])
    assert failed == ["test_bad", "test_conforms_now", "test_expect_times_out",
                      "test_late_event"], done.stdout
    assert "4 failed, 5 passed" in done.stdout
    assert done.returncode == 1
    breaking = {n: c["props"]["wazo_bus_breaking"] for n, c in cases.items()}
    assert breaking == {"test_quiet": "0", "test_good": "0", "test_bad": "1",
                        "test_late_event": "1", "test_after_late": "0",
                        "test_ignored_codes": "0", "test_report_only": "0",
                        "test_conforms_now": "1", "test_expect_times_out": "0"}


def test_a_bad_event_is_listed_with_code_path_message_routing_key_and_body(suite_run):
    done, path = suite_run
    text = junit_cases(path / "junit.xml")["test_bad"]["text"]
    assert "1 bus event blamed on this test (call) breaks the Wazo 17.08 contract" in text
    assert "call_created  routing key 'calls.call.created', fail, during call" in text
    assert "A500 error at $.required_acl: required_acl is missing" in text
    assert "D601 error at $.data.status: 42 is not of type \"string\"" in text
    assert '"call_id": "1000.2"' in text and '"caller_id_name": "Some One"' in text
    assert "FAILED test_suite.py::test_bad - wazo-bus: 1 bus event blamed" in done.stdout


def test_a_late_event_is_blamed_on_the_test_that_caused_it(suite_run):
    _, path = suite_run
    cases = junit_cases(path / "junit.xml")
    late = cases["test_late_event"]["text"]
    assert "after call ended (settle window)" in late and '"call_id": "1000.99"' in late
    assert cases["test_after_late"]["outcome"] == []
    assert cases["test_after_late"]["props"]["wazo_bus_messages"] == "0"


def test_a_quiet_test_does_not_wait_and_a_busy_one_waits_for_quiet(suite_run):
    _, path = suite_run
    cases = junit_cases(path / "junit.xml")
    assert cases["test_quiet"]["props"]["wazo_bus_settle"] == "call=none teardown=none"
    assert cases["test_bad"]["props"]["wazo_bus_settle"] == "call=quiet teardown=none"


def test_assert_conforms_fails_at_once_with_the_bad_events(suite_run):
    _, path = suite_run
    text = junit_cases(path / "junit.xml")["test_conforms_now"]["text"]
    assert "wazo-bus: 1 bus event of this test breaks the Wazo 17.08 contract:" in text
    assert "let a bad event through" not in text


def test_expect_times_out_with_what_was_seen_instead(suite_run):
    _, path = suite_run
    text = junit_cases(path / "junit.xml")["test_expect_times_out"]["text"]
    assert "wazo-bus: no call_created with call_id='2000.1' within 0.5 s" in text
    assert "1 call_created event seen, none matching" in text and "'1000.6'" in text


def test_events_of_session_fixtures_and_between_tests_belong_to_the_session(suite_run):
    done, path = suite_run
    report = json.loads((path / "bus.json").read_text())
    blamed = {(m["test"], m["phase"], m["name"]) for m in report["failing_messages"]}
    assert blamed == {
        ("(session)", "fixture stack (session) setup", "user_status_update"),
        ("(session)", "between tests", "call_created"),
        ("(session)", "fixture cleanup (module) teardown", "call_created"),
        ("test_suite.py::test_bad", "call", "call_created"),
        ("test_suite.py::test_late_event", "call", "call_created"),
        ("test_suite.py::test_report_only", "call", "call_created"),
        ("test_suite.py::test_conforms_now", "call", "call_created"),
    }
    assert ("outside any test (session fixtures, between tests): 3 messages, "
            "3 breaking the contract") in done.stdout
    assert "test_suite.py::test_bad: 1 event" in done.stdout


def test_the_session_report_is_the_merge_of_the_tests(suite_run):
    done, path = suite_run
    report = json.loads((path / "bus.json").read_text())
    # 10 call_created: good in good, late, expect_times_out; bad in bad, ignored_codes,
    # report_only, conforms_now, the late one, the one between tests and the module
    # fixture's clean-up; plus the session fixture's user_status_update
    assert report["totals"]["messages"] == 11
    assert report["events"]["call_created"]["count"] == 10
    # the ignored test's codes are out of its summary, so out of the merge
    assert report["events"]["call_created"]["verdicts"] == {"ok": 4, "fail": 6}
    assert report["run"]["stop_reason"] == "session-end"
    assert ET.parse(path / "bus.xml").getroot().tag in ("testsuites", "testsuite")
    assert "call_created" in (path / "bus.md").read_text()
    assert f"json report written to {path / 'bus.json'}" in done.stdout


def test_bad_events_outside_tests_fail_the_run_even_when_every_test_passes(
        pytester, broker_url, exchange):
    write_suite(pytester.path, broker_url, exchange)
    pytester.makepyfile(test_only="def test_fine(stack):\n    pass\n")
    result = run(pytester, broker_url, exchange, "test_only.py")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*outside any test*: 1 messages, 1 breaking the contract",
                                 "*user_status_update*fixture stack (session) setup"])


# -- redaction, passwords, a missing broker --------------------------------------------------

def test_redact_keeps_personal_data_out_of_sections_and_reports(pytester, broker_url,
                                                                exchange):
    write_suite(pytester.path, broker_url, exchange)
    result = run(pytester, broker_url, exchange, "--wazo-bus-redact",
                 "--wazo-bus-report", "bus.json", "-k", "test_bad")
    result.assert_outcomes(failed=1)
    out = result.stdout.str() + result.stderr.str()
    report = (pytester.path / "bus.json").read_text()
    assert "D601 error at $.data.status" in out
    for personal in ("Some One", '"1001"'):
        assert personal not in out and personal not in report


@pytest.fixture
def bus_user(broker_url):
    """A broker user with a password that appears nowhere else (deleted afterwards)."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl not available")
    name, password = f"wbv-pytest-{uuid.uuid4().hex[:8]}", f"Pw{uuid.uuid4().hex[:12]}"
    subprocess.run(["rabbitmqctl", "add_user", name, password], check=True,
                   capture_output=True, timeout=60)
    try:
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", "/", name, ".*", ".*", ".*"],
                       check=True, capture_output=True, timeout=60)
        yield name, password
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", name], check=False, capture_output=True,
                       timeout=60)


def test_the_password_is_nowhere_in_output_reports_or_tracebacks(pytester, exchange,
                                                                 bus_user):
    name, password = bus_user
    url = f"amqp://{name}:{password}@127.0.0.1:5672/%2F"
    write_suite(pytester.path, url, exchange)
    result = pytester.runpytest_subprocess(
        *PLUGIN, "--wazo-bus", "--wazo-bus-url", url, "--wazo-bus-exchange", exchange,
        "--wazo-bus-report", "bus.json", "--wazo-bus-report", "bus.md",
        "--junitxml", "junit.xml", "-l", "--tb=long", "-rA", "-k", "bad or times_out")
    result.assert_outcomes(failed=2)
    out = result.stdout.str() + result.stderr.str()
    assert f"amqp://{name}:***@127.0.0.1:5672/%2F" in out
    for produced in ("bus.json", "bus.md", "junit.xml"):
        assert password not in (pytester.path / produced).read_text()
    assert password not in out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_missing_broker_is_one_line_and_a_usage_error(pytester):
    port = closed_port()
    pytester.makeini(f"""
        [pytest]
        wazo_bus = true
        wazo_bus_url = amqp://guest:Sesame1234@127.0.0.1:{port}/%2F
    """)
    pytester.makepyfile("def test_never_runs():\n    raise AssertionError\n")
    result = pytester.runpytest_subprocess(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line] == [f"ERROR: wazo-bus: cannot connect to "
                                   f"amqp://guest:***@127.0.0.1:{port}/%2F: connection refused"]
    assert "Sesame1234" not in result.stdout.str()


# -- off unless asked for ----------------------------------------------------------------------

def test_off_it_connects_to_nothing_imports_nothing_heavy_and_skips_its_fixture(pytester):
    with socket.socket() as listener:   # a "broker" that records any connection attempt
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        pytester.makepyfile("""
            import sys

            def test_uses_the_fixture(wazo_bus):
                raise AssertionError("never runs")

            def test_nothing_heavy_imported():
                heavy = {"pika", "validator.check", "validator.sources", "jsonschema", "orjson"}
                assert not heavy & set(sys.modules)
        """)
        result = pytester.runpytest_subprocess(
            *PLUGIN, "--wazo-bus-url", f"amqp://guest:guest@127.0.0.1:{port}/%2F", "-rs")
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*the wazo-bus plugin is off: run pytest with "
                                 "--wazo-bus (or set wazo_bus = true in the ini file)*"])
    assert result.ret == 0
