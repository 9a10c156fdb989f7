"""Integration tests of validator.sources.process.ProcessSource against the real RabbitMQ.

The consumer runs in a forked child and ships batches of deliveries to the parent over a
pipe.  Every test uses its own routing-key prefix; the child's queue is exclusive and
auto-delete, and every test checks that no child process is left behind.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from validator.sources import process as process_mod
from validator.sources.amqp import AmqpSource, Delivery, SourceError, SourceStats
from validator.sources.process import ProcessSource

REPO = Path(__file__).resolve().parents[2]
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"    # same as the broker_url fixture
pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]


def _source(prefix: str, batch_max: int = 512, **kwargs) -> ProcessSource:
    return ProcessSource(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"], **kwargs),
                         batch_max=batch_max)


def _assert_reaped(pid: int | None) -> None:
    """The child is neither running nor a zombie: it was waited for."""
    assert pid is not None
    assert pid not in [p.pid for p in multiprocessing.active_children()]
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _running_child_pid(src: ProcessSource) -> int:
    pid = src.child_pid
    assert pid is not None and _process_state(pid) not in (None, "Z")
    return pid


def _process_state(pid: int) -> str | None:
    """'R', 'S', 'Z'... from /proc, or None when the pid no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


# ---------------------------------------------------------------- delivery


@pytest.mark.parametrize("batch_max", [1, 7, 512])
def test_delivers_every_message_in_order_with_metadata(publisher, prefix, source_thread,
                                                       batch_max):
    src = _source(prefix, batch_max=batch_max)
    at_first_delivery = {}

    def record(d):
        if not at_first_delivery:
            at_first_delivery.update(kinds=st.kinds(), queue=src.queue_name)

    st = source_thread(src, callback=record, max_messages=100, duration=30)
    st.start()
    pid = _running_child_pid(src)
    expected = []
    for i in range(100):
        key = f"{prefix}.call.c{i}"
        body = publisher.publish_json(key, {"name": "call_created", "i": i, "é": "ü"},
                                      headers={"name": "call_created", "n": i},
                                      message_id=f"m{i}", timestamp=1_700_000_000 + i,
                                      delivery_mode=2)
        expected.append((key, body, i))
    publisher.publish(f"{prefix}.call.extra", b"{}")     # beyond max_messages: not handed
    stats = st.join(20)

    assert isinstance(stats, SourceStats)
    assert stats.stop_reason == "max-messages"
    assert stats.messages == 100 and len(st.deliveries) == 100
    for d, (key, body, i) in zip(st.deliveries, expected):
        assert isinstance(d, Delivery)
        assert d.routing_key == key
        assert d.body == body and isinstance(d.body, bytes)
        assert d.exchange == "xivo"
        assert d.properties == {"content_type": "application/json", "delivery_mode": 2,
                                "headers": {"name": "call_created", "n": i},
                                "message_id": f"m{i}", "timestamp": 1_700_000_000 + i}
        assert abs(d.received_at - time.time()) < 30
    assert stats.may_have_lost is False and stats.gaps == []
    # events come through, in order with the deliveries
    assert at_first_delivery["kinds"][:1] == ["connected"]
    info = st.events[0][1]
    assert info["queue"].startswith("amq.gen-") and "guest:***@" in info["url"]
    assert at_first_delivery["queue"] == info["queue"]          # queue_name is forwarded
    assert src.queue_name is None and src.child_pid is None     # ... and reset after run()
    _assert_reaped(pid)


def test_a_lone_message_is_flushed_without_waiting_for_a_full_batch(publisher, prefix,
                                                                     source_thread):
    st = source_thread(_source(prefix), duration=30)
    st.start()
    publisher.publish(f"{prefix}.k", b"alone")
    t0 = time.monotonic()
    st.wait_deliveries(1, timeout=2)
    assert time.monotonic() - t0 < 1.0
    assert time.time() - st.deliveries[0].received_at < 1.0
    stats = st.stop_and_join(timeout=10)
    assert stats.stop_reason == "stopped" and stats.messages == 1


def test_attributes_are_forwarded_and_run_can_be_repeated(xivo_exchange, prefix):
    amqp = AmqpSource(BROKER_URL, bindings=[f"{prefix}.a", f"{prefix}.b"], max_length=321)
    src = ProcessSource(amqp)
    assert src.redacted_url == "amqp://guest:***@127.0.0.1:5672/%2F"
    assert (src.exchange, src.bindings, src.max_length) == ("xivo", amqp.bindings, 321)
    assert src.connection_name == amqp.connection_name
    assert src.queue_name is None and src.child_pid is None
    for _ in range(2):
        stats = src.run(lambda d: None, duration=0.3)
        assert stats.stop_reason == "duration" and stats.queue_max_length == 321
    for bad in (0, -1, 1.5, True, "8"):
        with pytest.raises(SourceError):
            ProcessSource(amqp, batch_max=bad)


# ---------------------------------------------------------------- stop


def test_stop_from_another_thread_returns_promptly(xivo_exchange, prefix, source_thread):
    src = _source(prefix)
    st = source_thread(src, duration=60)
    st.start()
    pid = _running_child_pid(src)
    t0 = time.monotonic()
    stats = st.stop_and_join(timeout=10)
    assert stats.stop_reason == "stopped" and stats.messages == 0
    assert time.monotonic() - t0 < 1.5
    _assert_reaped(pid)


def test_stop_before_run_stops_right_after_connecting(xivo_exchange, prefix):
    src = _source(prefix)
    src.stop("early")
    src.stop("later")                        # the first reason wins
    kinds = []
    t0 = time.monotonic()
    stats = src.run(lambda d: None, duration=30, on_event=lambda k, i: kinds.append(k))
    assert stats.stop_reason == "early" and stats.messages == 0
    assert kinds[:1] == ["connected"]
    assert time.monotonic() - t0 < 5
    assert src.run(lambda d: None, duration=0.2).stop_reason == "duration"   # reason was reset


@pytest.mark.parametrize("total,size", [
    (300, 2000),
    (3000, 4000),
])
def test_stop_hands_over_everything_that_left_the_broker(publisher, prefix, source_thread,
                                                         rabbitmqctl, total, size):
    """A stuck parent: the child blocks on the pipe and stops reading the socket.  0.6 MB
    fit in the pipe and socket buffers, 12 MB do not: then the backlog stays in the
    broker's queue.  After stop() the drain hands over every message, in order: what had
    left the queue and what the queue still held (it is unbound, then emptied)."""
    gate = threading.Event()
    src = _source(prefix, batch_max=64)
    st = source_thread(src, callback=lambda d: gate.wait(30), duration=50)
    st.start()
    queue = src.queue_name
    pad = b"x" * (size - 6)
    for i in range(total):
        publisher.publish(f"{prefix}.k", b"%06d" % i + pad)
    publisher.ch.exchange_declare("xivo", passive=True)   # a round trip: all were routed

    def ready() -> int:
        rows = rabbitmqctl("list_queues", "name", "messages_ready")
        return next(r["messages_ready"] for r in rows if r["name"] == queue)

    previous, held = -1, ready()
    deadline = time.monotonic() + 20
    while held != previous:                  # wait until nothing leaves the queue any more
        assert time.monotonic() < deadline, "the queue never settled"
        time.sleep(0.3)
        previous, held = held, ready()
    if total * size < 1_000_000:
        assert held == 0
    else:
        assert 0 < held < total              # backpressure: the backlog is in the broker

    src.stop("stopped")
    time.sleep(0.3)                          # the child has the request before it unblocks
    gate.set()
    stats = st.join(30)
    n = stats.messages
    assert stats.stop_reason == "stopped"
    assert n == len(st.deliveries)
    assert n == total
    assert [d.body[:6] for d in st.deliveries] == [b"%06d" % i for i in range(n)]


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("where", ["delivery", "event"])
def test_callback_exception_propagates_and_the_child_is_reaped(publisher, prefix, where):
    class Boom(Exception):
        pass

    src = _source(prefix, batch_max=4)
    seen, pids = [], []

    def on_delivery(d):
        seen.append(d)
        if len(seen) == 5:
            raise Boom("on message 5")

    def on_event(kind, info):
        pids.append(src.child_pid)
        if where == "event":
            raise Boom("on event")
        for i in range(50):              # the child consumes now; the pipe buffers them
            publisher.publish(f"{prefix}.k", str(i))

    t0 = time.monotonic()
    with pytest.raises(Boom):
        src.run(on_delivery, on_event=on_event, duration=30)
    assert time.monotonic() - t0 < 10
    assert len(seen) == (5 if where == "delivery" else 0)   # nothing handed after the failure
    _assert_reaped(pids[0])
    assert src.queue_name is None and src.child_pid is None


def test_killed_child_is_reported_as_source_died_without_hanging(publisher, prefix,
                                                                 source_thread):
    src = _source(prefix, batch_max=1)
    st = source_thread(src, duration=60)
    st.start()
    pid = _running_child_pid(src)
    for i in range(5):
        publisher.publish(f"{prefix}.k", str(i))
    st.wait_deliveries(5, timeout=5)
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    stats = st.join(10)
    assert time.monotonic() - t0 < 3
    assert stats.stop_reason == "source-died: SIGKILL"
    assert stats.may_have_lost is True
    assert stats.messages == len(st.deliveries) == 5
    assert stats.queue_max_length == 10000 and stats.started_at <= stats.ended_at
    _assert_reaped(pid)


def test_a_stuck_child_is_killed_after_a_stop_request(xivo_exchange, prefix, source_thread,
                                                      monkeypatch):
    monkeypatch.setattr(process_mod, "STOP_GRACE", 1.0)
    src = _source(prefix)
    st = source_thread(src, duration=60)
    st.start()
    pid = _running_child_pid(src)
    os.kill(pid, signal.SIGSTOP)             # alive, but will never answer
    try:
        t0 = time.monotonic()
        src.stop("stopped")
        stats = st.join(10)
    finally:
        if _process_state(pid) == "T":
            os.kill(pid, signal.SIGKILL)
    assert 1.0 <= time.monotonic() - t0 < 4
    assert stats.stop_reason == "source-died: SIGKILL" and stats.may_have_lost is True
    _assert_reaped(pid)


def test_source_errors_are_one_line_and_password_free(broker_url):
    missing = "vt-missing-" + uuid.uuid4().hex[:10]
    cases = [
        (ProcessSource(AmqpSource("amqp://guest:secretpw@127.0.0.1:1/%2F")), {},
         "cannot connect to amqp://guest:***@127.0.0.1:1/%2F"),
        (ProcessSource(AmqpSource(broker_url, exchange=missing)), {},
         f"exchange '{missing}' does not exist on amqp://guest:***@127.0.0.1:5672/%2F"),
        (ProcessSource(AmqpSource(broker_url)), {"duration": -1},
         "duration must be a positive number"),
    ]
    for src, kwargs, expected in cases:
        t0 = time.monotonic()
        with pytest.raises(SourceError) as info:
            src.run(lambda d: None, **{"duration": 10, **kwargs})
        assert time.monotonic() - t0 < 6
        msg = str(info.value)
        assert msg.startswith(expected), msg
        assert "\n" not in msg and "secretpw" not in msg and "guest:guest" not in msg
    assert multiprocessing.active_children() == []


# ---------------------------------------------------------------- signals, dead parent


SCRIPT = textwrap.dedent("""
    import dataclasses, json, os, signal, sys, time
    from validator.sources.amqp import AmqpSource
    from validator.sources.process import ProcessSource
    url, binding, out, mode, pause = sys.argv[1:6]
    src = ProcessSource(AmqpSource(url, bindings=[binding]), batch_max=8)
    if mode == "handler":                # what the CLI does (stop_on_signals)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: src.stop(
                "signal:" + signal.Signals(signum).name))
    f = open(out, "a", buffering=1)
    def on_event(kind, info):
        if kind == "connected":
            print("READY", src.child_pid, flush=True)
    def on_delivery(d):
        f.write(d.body.decode() + "\\n")
        time.sleep(float(pause))         # slow validator: most messages still on their way
    stats = src.run(on_delivery, on_event=on_event, duration=30)
    f.close()
    print(json.dumps(dataclasses.asdict(stats)), flush=True)
""")


def _start_script(prefix, out):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return lambda mode, pause=0.02: subprocess.Popen(
        [sys.executable, "-c", SCRIPT, BROKER_URL, f"{prefix}.#", str(out), mode, str(pause)],
        cwd=REPO,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)          # its own process group, like a terminal job


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _process_state(pid) not in (None, "Z"):
        assert time.monotonic() < deadline, f"process {pid} still there"
        time.sleep(0.05)


def _publish_50_once_ready(proc, publisher, prefix, out, seen: int) -> int:
    """Wait for the script's READY line, publish 0..49, wait until it wrote `seen` of them;
    returns the consumer child's pid."""
    line = proc.stdout.readline().split()
    assert line[:1] == ["READY"], (line, proc.stderr.read() if proc.poll() else "")
    for i in range(50):
        publisher.publish(f"{prefix}.k", str(i))
    deadline = time.monotonic() + 5
    while not (out.exists() and out.read_text().count("\n") >= seen):
        assert time.monotonic() < deadline, "subprocess received nothing"
        time.sleep(0.02)
    return int(line[1])


@pytest.mark.parametrize("sig,mode,expected", [
    (signal.SIGINT, "no-handler", "signal:SIGINT"),   # Python's default SIGINT handler
    (signal.SIGINT, "handler", "signal:SIGINT"),
    (signal.SIGTERM, "handler", "signal:SIGTERM"),
])
def test_signal_to_the_process_group_stops_cleanly_and_drains(publisher, prefix, tmp_path,
                                                               sig, mode, expected):
    """A Ctrl-C on the terminal hits parent and child: the child ignores it, the parent
    stops the source, and every message published before is handed over."""
    out = tmp_path / "received.txt"
    proc = _start_script(prefix, out)(mode)
    try:
        child = _publish_50_once_ready(proc, publisher, prefix, out, 3)
        os.killpg(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    stats = json.loads(stdout.strip().splitlines()[-1])
    assert stats["stop_reason"] == expected
    assert out.read_text().splitlines() == [str(i) for i in range(50)]
    assert stats["messages"] == 50
    assert _process_state(child) is None


def test_a_second_ctrl_c_abandons_the_drain(publisher, prefix, tmp_path):
    out = tmp_path / "received.txt"
    proc = _start_script(prefix, out)("no-handler", 0.2)    # 50 messages = 10 s of checking
    try:
        child = _publish_50_once_ready(proc, publisher, prefix, out, 2)
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.3)
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=15)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr
    stats = json.loads(stdout.strip().splitlines()[-1])
    assert stats["stop_reason"] == "signal:SIGINT"
    assert stats["may_have_lost"] is True
    handed = out.read_text().splitlines()
    assert handed == [str(i) for i in range(len(handed))] and len(handed) < 50
    assert stats["messages"] >= len(handed)      # received from the child
    assert elapsed < 2
    assert _process_state(child) is None


def test_the_child_does_not_outlive_a_killed_parent(publisher, prefix, tmp_path):
    out = tmp_path / "received.txt"
    proc = _start_script(prefix, out)("handler")
    try:
        line = proc.stdout.readline().split()
        assert line[:1] == ["READY"], (line, proc.stderr.read() if proc.poll() else "")
        child = int(line[1])
        for i in range(20):
            publisher.publish(f"{prefix}.k", str(i))
        proc.kill()                      # the parent only: the child sees end-of-file
        proc.wait(10)
        _wait_gone(child, timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
