"""Integration tests of validator.sources.amqp against the real RabbitMQ (127.0.0.1:5672).

Every test uses its own routing-key prefix, so concurrent traffic on ``xivo``
is invisible to it; temporary exchanges are deleted; the source's own queue is
exclusive/auto-delete and disappears with its connection.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pika
import pytest

from validator.sources import consume as consume_mod
from validator.sources import frames
from validator.sources.amqp import AmqpSource, Delivery, Gap, SourceError, SourceStats
from validator.urls import DEFAULT_URL, default_url, redact_url, scrub

REPO = Path(__file__).resolve().parents[2]
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"    # same as the broker_url fixture
broker = pytest.mark.broker


def _bodies(deliveries) -> list[bytes]:
    return [d.body for d in deliveries]


# ---------------------------------------------------------------- 1. delivery


@broker
def test_delivers_every_message_with_metadata(publisher, prefix, source_thread):
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.call.*", f"{prefix}.user.#"])
    st = source_thread(src, max_messages=40, duration=20)
    st.start()

    expected = []
    for i in range(40):
        key = f"{prefix}.call.c{i}" if i % 2 else f"{prefix}.user.u{i}.status"
        body = publisher.publish_json(key, {"name": "call_created", "i": i, "data": {"é": "ü"}},
                                      headers={"name": "call_created", "n": i},
                                      message_id=f"m{i}", timestamp=1_700_000_000 + i,
                                      delivery_mode=2)
        expected.append((key, body, i))
        # not matching any binding: must never be delivered
        publisher.publish(f"{prefix}.other.x{i}", b'{"nope": true}')
    stats = st.join(15)

    assert isinstance(stats, SourceStats)
    assert stats.stop_reason == "max-messages"
    assert stats.messages == 40 and len(st.deliveries) == 40
    for d, (key, body, i) in zip(st.deliveries, expected):
        assert isinstance(d, Delivery)
        assert d.routing_key == key
        assert d.body == body and isinstance(d.body, bytes)
        assert d.exchange == "xivo"
        assert d.properties["content_type"] == "application/json"
        assert d.properties["headers"] == {"name": "call_created", "n": i}
        assert d.properties["message_id"] == f"m{i}"
        assert d.properties["timestamp"] == 1_700_000_000 + i
        assert d.properties["delivery_mode"] == 2
        assert "reply_to" not in d.properties          # only properties that are set
        json.dumps(d.properties)                       # JSON-able
        assert abs(d.received_at - time.time()) < 30
    assert stats.gaps == [] and stats.reconnects == 0
    assert stats.may_have_lost is False and stats.lost_estimate == 0
    assert stats.queue_max_length == 10000
    assert stats.started_at <= stats.ended_at
    assert st.kinds()[0] == "connected"
    assert st.events[0][1]["queue"].startswith("amq.gen-")
    assert "guest:***@" in st.events[0][1]["url"]


@broker
def test_exotic_header_types_are_made_json_able(publisher, prefix, source_thread):
    st = source_thread(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]), max_messages=1,
                      duration=10)
    st.start()
    publisher.publish(f"{prefix}.x", b"{}", headers={
        "big": 2 ** 40, "dec": decimal.Decimal("1.25"),
        "when": datetime.datetime(2020, 1, 1, 12, 0, 0), "raw": b"\xff\x01",
        "nested": [1, "a", {"k": None, "t": True}]})
    st.join(10)
    headers = st.deliveries[0].properties["headers"]
    assert json.loads(json.dumps(headers)) == {
        "big": 2 ** 40, "dec": 1.25, "when": "2020-01-01T12:00:00+00:00", "raw": "\\xff\x01",
        "nested": [1, "a", {"k": None, "t": True}]}


@broker
def test_bodies_of_several_frames_and_none_arrive_whole_and_in_order(publisher, prefix,
                                                                     source_thread,
                                                                     monkeypatch):
    """The source decodes its deliveries itself (frames.py): a body larger than the broker's
    frame size (128 KiB) comes in several body frames, an empty one in none."""
    readers = []
    install = frames.install
    monkeypatch.setattr(frames, "install", lambda *a: readers.append(install(*a)) or readers[-1])
    st = source_thread(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]), max_messages=6,
                       duration=20)
    st.start()
    bodies = [b"", b"x" * 400_000, b"{}", bytes(range(256)) * 1000, b"", b"[1]"]
    for body in bodies:
        publisher.publish(f"{prefix}.big", body)
    st.join(15)
    assert [d.body for d in st.deliveries] == bodies
    assert all(d.routing_key == f"{prefix}.big" for d in st.deliveries)
    assert len(readers) == 1 and readers[0] is not None   # this pika has what it replaces


@broker
def test_max_messages_stops_exactly_at_n_even_with_more_buffered(publisher, prefix,
                                                                 source_thread):
    gate = threading.Event()
    st = source_thread(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]),
                      callback=lambda d: gate.wait(5), max_messages=7, duration=20)
    st.start()
    for i in range(50):           # no-ack: all 50 are sent to the client at once
        publisher.publish(f"{prefix}.k", str(i))
    time.sleep(0.3)
    gate.set()
    stats = st.join(10)
    assert stats.stop_reason == "max-messages"
    assert stats.messages == 7
    assert _bodies(st.deliveries) == [str(i).encode() for i in range(7)]


@broker
def test_duration_stop(xivo_exchange, prefix):
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"])
    sigint_before = signal.getsignal(signal.SIGINT)
    t0 = time.monotonic()
    stats = src.run(lambda d: None, duration=0.8)
    elapsed = time.monotonic() - t0
    assert signal.getsignal(signal.SIGINT) is sigint_before     # restored after run()
    assert stats.stop_reason == "duration"
    assert 0.75 <= elapsed < 2.0
    assert 0.75 <= stats.ended_at - stats.started_at < 2.0
    assert stats.messages == 0


@broker
def test_idle_stop_counts_from_consume_start_and_last_delivery(publisher, prefix,
                                                               source_thread):
    # nothing at all: stops `idle` seconds after consuming started
    t0 = time.monotonic()
    stats = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]).run(lambda d: None, idle=0.5,
                                                                 duration=10)
    assert stats.stop_reason == "idle" and 0.45 <= time.monotonic() - t0 < 2.0

    # traffic for a while, then quiet: stops `idle` after the last delivery
    st = source_thread(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]), idle=0.6, duration=20)
    st.start()
    for i in range(4):
        publisher.publish(f"{prefix}.k", str(i))
        last = time.monotonic()
        time.sleep(0.3)                       # < idle: keeps it alive
    stats = st.join(10)
    assert stats.stop_reason == "idle"
    assert stats.messages == 4
    assert 0.55 <= time.monotonic() - last < 2.0


# ---------------------------------------------------------------- 2. passive safety


def _topology(rabbitmqctl_many):
    exchanges, queues, bindings = rabbitmqctl_many(
        ("list_exchanges", "name", "type", "durable", "auto_delete", "arguments"),
        ("list_queues", "name", "durable", "auto_delete", "arguments"),
        ("list_bindings", "source_name", "source_kind", "destination_name",
         "destination_kind", "routing_key", "arguments"))

    def tup(row):
        return tuple(json.dumps(row[k], sort_keys=True) for k in sorted(row))

    ex = {tup(r) for r in exchanges}
    # server-named queues are other clients' (or other tests') private state
    qs = {tup(r) for r in queues if not r["name"].startswith("amq.gen-")}
    bs = {tup(r) for r in bindings if not r["destination_name"].startswith("amq.gen-")}
    return (ex, qs, bs), {r["name"] for r in queues}


@broker
def test_passive_safety_topology_unchanged_and_private_queue_shape(
        xivo_exchange, prefix, source_thread, rabbitmqctl_many):
    before, _ = _topology(rabbitmqctl_many)
    bindings = [f"{prefix}.a.#", f"{prefix}.b.*"]
    src = AmqpSource(BROKER_URL, bindings=bindings, max_length=1234)
    st = source_thread(src, duration=30)
    st.start()
    qname = src.queue_name
    assert qname and qname.startswith("amq.gen-")

    queues, qbindings = rabbitmqctl_many(
        ("list_queues", "name", "durable", "auto_delete", "exclusive", "arguments"),
        ("list_bindings", "source_name", "destination_name", "routing_key"))
    mine = [q for q in queues if q["name"] == qname]
    assert len(mine) == 1
    q = mine[0]
    assert q["durable"] is False
    assert q["auto_delete"] is True
    assert q["exclusive"] is True
    assert {a[0]: a[2] for a in q["arguments"]} == {"x-max-length": 1234}
    assert {(b["source_name"], b["routing_key"]) for b in qbindings
            if b["destination_name"] == qname} == {("xivo", bindings[0]),
                                                   ("xivo", bindings[1]),
                                                   ("", qname)}   # implicit default binding

    stats = st.stop_and_join()
    assert stats.stop_reason == "stopped"
    after, queue_names = _topology(rabbitmqctl_many)
    assert after == before
    assert qname not in queue_names          # the private queue went away with the connection


@broker
def test_missing_exchange_is_an_error_and_is_not_created(broker_url):
    name = "vt-missing-" + uuid.uuid4().hex[:10]
    t0 = time.monotonic()
    with pytest.raises(SourceError) as info:
        AmqpSource(broker_url, exchange=name).run(lambda d: None, duration=5)
    assert time.monotonic() - t0 < 5
    assert str(info.value) == (f"exchange '{name}' does not exist on "
                               f"amqp://guest:***@127.0.0.1:5672/%2F")
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as closed:
            conn.channel().exchange_declare(exchange=name, passive=True)
        assert closed.value.reply_code == 404
    finally:
        conn.close()


# ---------------------------------------------------------------- 3. unreachable / bad input


@broker
def test_unreachable_broker_fails_fast_without_leaking_password():
    t0 = time.monotonic()
    with pytest.raises(SourceError) as info:
        AmqpSource("amqp://guest:secretpw@127.0.0.1:1/%2F").run(lambda d: None, duration=30)
    assert time.monotonic() - t0 < 6
    msg = str(info.value)
    assert "secretpw" not in msg and "\n" not in msg
    assert "amqp://guest:***@127.0.0.1:1/%2F" in msg
    assert "secretpw" not in repr(info.value)


@broker
def test_silent_peer_times_out_within_connect_timeout():
    import socket
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)                      # accepts (kernel backlog) but never says a word
    port = lst.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(SourceError) as info:
            AmqpSource(f"amqp://guest:secretpw@127.0.0.1:{port}/%2F",
                       connect_timeout=1.0).run(lambda d: None, duration=30)
        assert time.monotonic() - t0 < 3
        assert "timed out" in str(info.value) and "secretpw" not in str(info.value)
    finally:
        lst.close()


@broker
def test_bad_credentials_and_vhost_do_not_leak():
    for url in ("amqp://guest:Wr0ngSecret@127.0.0.1:5672/%2F",
                "amqp://guest:guest@127.0.0.1:5672/no-such-vhost-vt"):
        with pytest.raises(SourceError) as info:
            AmqpSource(url).run(lambda d: None, duration=5)
        assert "Wr0ngSecret" not in str(info.value)
        assert "guest:guest" not in str(info.value)


@broker
@pytest.mark.usefixtures("rabbitmqctl")          # skips when the CLI is missing
def test_least_privilege_user_works_and_password_never_reaches_the_logs(
        caplog, tcp_proxy, prefix, publisher, source_thread):
    """A user that may only create/bind/read server-named queues and read ``xivo``
    is enough; its password shows up in no exception, event or log line
    (pika's DEBUG logging included), through connect, loss, reconnect and give-up."""
    caplog.set_level("DEBUG")
    user, secret = "vt-" + uuid.uuid4().hex[:8], "Sup3rSecret" + uuid.uuid4().hex[:6]

    def ctl(*args):
        subprocess.run(["rabbitmqctl", *args, "-q"], check=True, capture_output=True, timeout=30)

    ctl("add_user", user, secret)
    try:
        ctl("set_permissions", "-p", "/", user, r"^amq\.gen-.*", r"^amq\.gen-.*",
            r"^(xivo|amq\.gen-.*)$")
        for url in (f"amqp://{user}:wrong{secret}@127.0.0.1:5672/%2F",
                    f"amqp://{user}:{secret}@127.0.0.1:1/%2F",
                    f"amqps://{user}:{secret}@127.0.0.1:5672/%2F",
                    f"amqp://{user}:{secret}@127.0.0.1:5672/%2F?bad_option=1"):
            with pytest.raises(SourceError) as info:
                AmqpSource(url, connect_timeout=2).run(lambda d: None, duration=3)
            assert secret not in str(info.value)

        proxy = tcp_proxy()
        src = AmqpSource(f"amqp://{user}:{secret}@127.0.0.1:{proxy.port}/%2F",
                         bindings=[f"{prefix}.#"], give_up_after=1.0, max_reconnect_wait=0.2)
        st = source_thread(src, duration=20)
        st.start()
        publisher.publish(f"{prefix}.x", b"1")
        st.wait_deliveries(1)
        proxy.kill()                               # lost ...
        st.wait_event("disconnected", timeout=5)
        proxy.restart()                            # ... and back
        st.wait_event("reconnected", timeout=5)
        proxy.kill()                               # lost for good
        stats = st.join(10)
        assert stats.stop_reason == "broker-gone" and stats.reconnects == 1
        everything = caplog.text + repr(st.events) + repr(stats)
        assert secret not in everything
        assert f"{user}:***@" in caplog.text
    finally:
        ctl("delete_user", user)


@pytest.mark.parametrize("kwargs", [
    {"url": "amqp://guest:secretpw@127.0.0.1:56x72/%2F"},
    {"url": "http://guest:secretpw@127.0.0.1/"},
    {"url": "127.0.0.1:5672"},
    {"url": ""},
    {"url": "amqp://guest:secretpw@127.0.0.1/%2F?no_such_option=1"},
    {"url": BROKER_URL, "max_length": 0},
    {"url": BROKER_URL, "bindings": []},
    {"url": BROKER_URL, "exchange": ""},
    {"url": BROKER_URL, "give_up_after": -1},
])
def test_invalid_configuration_is_a_source_error(kwargs):
    with pytest.raises(SourceError) as info:
        AmqpSource(**kwargs)
    assert "secretpw" not in str(info.value)


def test_invalid_run_arguments_are_source_errors():
    src = AmqpSource(BROKER_URL)
    for kwargs in ({"duration": 0}, {"max_messages": 0}, {"idle": -1}):
        with pytest.raises(SourceError):
            src.run(lambda d: None, **kwargs)


@broker
def test_amqps_works_through_tls_and_verifies_certificates(publisher, prefix, tcp_proxy,
                                                           self_signed_cert, source_thread):
    cert, key = self_signed_cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(cert), str(key))
    proxy = tcp_proxy(tls_context=server_ctx)

    # default context: the self-signed certificate is rejected, cleanly
    with pytest.raises(SourceError) as info:
        AmqpSource(f"amqps://guest:secretpw@localhost:{proxy.port}/%2F",
                   connect_timeout=3).run(lambda d: None, duration=5)
    assert "certificate" in str(info.value) and "secretpw" not in str(info.value)

    # trusting that certificate via pika's ssl_options URL argument: works, host name checked
    opts = quote(repr({"ca_certs": str(cert)}))
    src = AmqpSource(f"amqps://guest:guest@localhost:{proxy.port}/%2F?ssl_options={opts}",
                     bindings=[f"{prefix}.#"], connect_timeout=3)
    st = source_thread(src, max_messages=3, duration=15)
    st.start()
    for i in range(3):
        publisher.publish(f"{prefix}.tls", str(i))
    stats = st.join(10)
    assert stats.stop_reason == "max-messages"
    assert _bodies(st.deliveries) == [b"0", b"1", b"2"]

    # plain AMQP port with amqps: a one-line TLS error, no hang
    with pytest.raises(SourceError) as info:
        AmqpSource("amqps://guest:secretpw@127.0.0.1:5672/%2F",
                   connect_timeout=3).run(lambda d: None, duration=5)
    assert "secretpw" not in str(info.value)


# ---------------------------------------------------------------- 4. reconnect


def _connection_pids_of(source) -> list[str]:
    """Erlang pids of the source's connections, found by its client connection_name.

    (The JSON formatter prints pids as ``#PID<...>``, which close_connection
    does not accept; the table output prints ``<rabbit@host.N.M.0>``, which it does.)
    """
    out = subprocess.run(["rabbitmqctl", "list_connections", "pid", "client_properties",
                          "-q", "--no-table-headers"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return [line.split("\t", 1)[0].strip() for line in out.splitlines()
            if source.connection_name in line]


@broker
@pytest.mark.usefixtures("rabbitmqctl")
def test_reconnects_after_broker_closes_the_connection(publisher, prefix, source_thread):
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"], max_reconnect_wait=2,
                     give_up_after=30)
    st = source_thread(src, duration=40)
    st.start()
    first_queue = src.queue_name
    for i in range(10):
        publisher.publish(f"{prefix}.before", f"a{i}")
    st.wait_deliveries(10, timeout=10)

    # Close only this source's connection (close_all_connections would also
    # break unrelated clients of this shared broker).
    pids = _connection_pids_of(src)
    assert len(pids) == 1
    subprocess.run(["rabbitmqctl", "close_connection", pids[0], "vt-test-forced-close", "-q"],
                   check=True, capture_output=True, timeout=30)
    info = st.wait_event("reconnected", timeout=15)
    assert info["queue"] != first_queue and info["queue"] == src.queue_name

    after = [f"b{i}".encode() for i in range(20)]
    for body in after:
        publisher.publish(f"{prefix}.after", body)
    st.wait_deliveries(30, timeout=10)
    stats = st.stop_and_join()

    got = _bodies(st.deliveries)
    assert got[:10] == [f"a{i}".encode() for i in range(10)]
    assert got[10:] == after                         # everything after the reconnect, in order
    assert stats.stop_reason == "stopped"
    assert stats.reconnects == 1
    assert len(stats.gaps) == 1
    gap = stats.gaps[0]
    assert isinstance(gap, Gap)
    assert gap.end is not None and gap.start < gap.end < gap.start + 10
    assert "CONNECTION_FORCED" in gap.reason
    assert st.kinds()[:1] == ["connected"]
    assert [k for k in st.kinds() if k != "backlog"] == ["connected", "disconnected",
                                                         "reconnected"]
    assert stats.messages == 30


@broker
@pytest.mark.usefixtures("rabbitmqctl")
def test_reconnects_when_its_queue_is_deleted_by_an_admin(publisher, prefix, source_thread):
    """The broker cancels the consumer (Basic.Cancel): treated like a lost connection."""
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"], give_up_after=20)
    st = source_thread(src, duration=30)
    st.start()
    first = src.queue_name
    subprocess.run(["rabbitmqctl", "delete_queue", first, "-q"], check=True,
                   capture_output=True, timeout=30)
    st.wait_event("reconnected", timeout=10)
    assert src.queue_name != first
    publisher.publish(f"{prefix}.x", b"after")
    st.wait_deliveries(1, timeout=5)
    stats = st.stop_and_join()
    assert stats.reconnects == 1 and "cancelled" in stats.gaps[0].reason


@broker
def test_gives_up_when_broker_stays_gone(prefix, xivo_exchange, tcp_proxy, source_thread):
    proxy = tcp_proxy()
    src = AmqpSource(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F",
                     bindings=[f"{prefix}.#"], max_reconnect_wait=0.5, give_up_after=1.5)
    st = source_thread(src, duration=30)
    st.start()
    proxy.kill()
    t_kill = time.monotonic()
    stats = st.join(10)
    assert stats.stop_reason == "broker-gone"
    assert 1.0 <= time.monotonic() - t_kill < 5
    assert len(stats.gaps) == 1 and stats.gaps[0].end is None
    assert stats.reconnects == 0
    assert st.kinds()[:2] == ["connected", "disconnected"]


@broker
def test_backoff_reconnects_when_broker_comes_back(prefix, publisher, tcp_proxy,
                                                   source_thread):
    proxy = tcp_proxy()
    src = AmqpSource(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F",
                     bindings=[f"{prefix}.#"], max_reconnect_wait=0.5, give_up_after=20)
    st = source_thread(src, duration=30)
    st.start()
    proxy.kill()
    st.wait_event("disconnected", timeout=5)
    time.sleep(1.2)                     # a few refused attempts (0.5 s, then capped 0.5 s)
    proxy.restart()
    info = st.wait_event("reconnected", timeout=10)
    assert info["attempts"] >= 2
    publisher.publish(f"{prefix}.x", b"after")
    st.wait_deliveries(1, timeout=5)
    stats = st.stop_and_join()
    assert stats.reconnects == 1 and len(stats.gaps) == 1
    assert stats.gaps[0].end - stats.gaps[0].start >= 1.0


@broker
def test_no_reconnect_mode_stops_as_broker_gone(prefix, xivo_exchange, tcp_proxy,
                                                source_thread):
    proxy = tcp_proxy()
    st = source_thread(AmqpSource(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F",
                                 bindings=[f"{prefix}.#"], reconnect=False), duration=30)
    st.start()
    proxy.kill()
    stats = st.join(5)
    assert stats.stop_reason == "broker-gone"
    assert len(stats.gaps) == 1 and stats.gaps[0].end is None


# ---------------------------------------------------------------- 5. stop / signals / drain


@broker
def test_stop_from_another_thread_returns_promptly(xivo_exchange, prefix, source_thread):
    st = source_thread(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]), duration=60)
    st.start()
    t0 = time.monotonic()
    stats = st.stop_and_join(timeout=5)
    assert stats.stop_reason == "stopped"
    assert time.monotonic() - t0 < 1.5


@broker
def test_stop_hands_over_everything_already_delivered(publisher, prefix, source_thread):
    """stop() while the callback is stuck and 300 messages were published: the broker
    sent them all (no-ack, far below what a socket holds), so the drain after basic.cancel
    hands over every one, in order, before run() returns; nothing is dropped."""
    handed_after_return = []
    done = threading.Event()
    gate = threading.Event()
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"])

    def stuck_then_slow(d):
        if done.is_set():
            handed_after_return.append(d)
        if d.body == b"0":
            gate.wait(10)
        time.sleep(0.001)

    st = source_thread(src, callback=stuck_then_slow, duration=30)
    st.start()
    for i in range(300):
        publisher.publish(f"{prefix}.k", str(i))
    time.sleep(0.5)
    src.stop()
    gate.set()
    stats = st.join(10)
    done.set()
    assert stats.stop_reason == "stopped"
    assert stats.messages == len(st.deliveries) == 300
    assert _bodies(st.deliveries) == [str(i).encode() for i in range(300)]
    assert handed_after_return == []


SIGNAL_SCRIPT = textwrap.dedent("""
    import dataclasses, json, signal, sys, time
    from validator.sources.amqp import AmqpSource
    url, binding, out, mode = sys.argv[1:5]
    src = AmqpSource(url, bindings=[binding])
    if mode == "handler":                # what the CLI does
        signal.signal(signal.SIGTERM, lambda signum, frame: src.stop("signal:SIGTERM"))
        signal.signal(signal.SIGINT, lambda signum, frame: src.stop("signal:SIGINT"))
    f = open(out, "a", buffering=1)
    def on_event(kind, info):
        if kind == "connected":
            print("READY", flush=True)
    def on_delivery(d):
        f.write(d.body.decode() + "\\n")
        time.sleep(0.02)                 # slow validator: most messages still buffered
    stats = src.run(on_delivery, on_event=on_event, duration=30)
    f.close()
    print(json.dumps(dataclasses.asdict(stats)), flush=True)
""")


@broker
@pytest.mark.parametrize("sig,mode,expected", [
    (signal.SIGTERM, "handler", "signal:SIGTERM"),
    (signal.SIGINT, "handler", "signal:SIGINT"),
    (signal.SIGINT, "no-handler", "signal:SIGINT"),   # Python's default SIGINT handler
])
def test_signal_in_subprocess_stops_cleanly_and_drains(publisher, prefix, tmp_path, sig, mode,
                                                       expected):
    out = tmp_path / "received.txt"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", SIGNAL_SCRIPT, BROKER_URL,
                             f"{prefix}.#", str(out), mode], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", (line, proc.stderr.read() if proc.poll() else "")
        for i in range(50):
            publisher.publish(f"{prefix}.k", str(i))
        deadline = time.monotonic() + 5
        while not (out.exists() and out.read_text().count("\n") >= 3):
            assert time.monotonic() < deadline, "subprocess received nothing"
            time.sleep(0.02)
        t0 = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=15)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    stats = json.loads(stdout.strip().splitlines()[-1])
    assert stats["stop_reason"] == expected
    lines = out.read_text().splitlines()
    assert "Traceback" not in stderr
    # all 50 were sent to the client (no-ack): every one is handed over before exit
    # (without a handler, run() turns the first Ctrl-C into stop('signal:SIGINT'))
    assert lines == [str(i) for i in range(50)]
    assert stats["messages"] == 50
    assert elapsed < 5


# ---------------------------------------------------------------- 6. drops


@broker
def test_overload_sets_may_have_lost_and_estimates_drops(publisher, prefix, source_thread):
    """A validator stuck on its first message while 30,000 messages of 1 KB are published:
    the broker keeps at most the bound in the queue (plus the ~8k it already sent to the
    client), drops the oldest, and the source says so once it resumes."""
    release = threading.Event()
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"], max_length=200)
    st = source_thread(src, callback=lambda d: release.wait(60), idle=1.0, duration=120)
    st.start()
    total = 30_000
    pad = "x" * 1000
    for sent in range(total):
        publisher.publish(f"{prefix}.load", f"{sent} {pad}")
    release.set()
    stats = st.join(90)

    true_lost = total - stats.messages
    print(f"\noverload: handed={stats.messages} true_lost={true_lost} "
          f"estimate={stats.lost_estimate} peak={stats.peak_backlog}")
    assert stats.stop_reason == "idle"
    assert true_lost > 1000                       # the scenario really overloads
    assert stats.may_have_lost is True
    # a lower bound: the ~8k in flight reach the client at its own rate, which is all
    # the estimator can observe (see docs/design.md)
    assert 0 <= stats.lost_estimate <= true_lost
    assert 150 <= stats.peak_backlog <= 200
    assert any(k == "backlog" and i["saturated"] for k, i in st.events)
    # what was delivered is in publication order (drop-head drops whole stretches)
    nums = [int(b.split()[0]) for b in _bodies(st.deliveries)]
    assert nums == sorted(nums) and len(set(nums)) == len(nums)


@broker
def test_no_overload_no_loss(publisher, prefix, source_thread):
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"])
    st = source_thread(src, max_messages=500, duration=20)
    st.start()
    for i in range(500):
        publisher.publish(f"{prefix}.k", str(i))
        if i % 100 == 99:
            time.sleep(0.05)
    stats = st.join(15)
    assert stats.messages == 500
    assert stats.may_have_lost is False
    assert stats.lost_estimate == 0
    assert stats.peak_backlog < 10000


# ---------------------------------------------------------------- 7. urls


@pytest.mark.parametrize("url,expected", [
    ("amqp://guest:guest@localhost:5672/%2F", "amqp://guest:***@localhost:5672/%2F"),
    ("amqps://wazo:s3cr%40t@bus.example.com:5671/%2F?heartbeat=30&socket_timeout=5",
     "amqps://wazo:***@bus.example.com:5671/%2F?heartbeat=30&socket_timeout=5"),
    ("amqp://guest@localhost/", "amqp://guest@localhost/"),
    ("amqp://localhost:5672/%2F", "amqp://localhost:5672/%2F"),
    ("amqp://:pw@localhost/", "amqp://:***@localhost/"),
    ("amqp://user:p@ss@host/vh", "amqp://user:***@host/vh"),
    ("amqp://user:pa/ss@host/vh", "amqp://user:***@host/vh"),
    ("amqp://user:pa?ss#x@host/", "amqp://user:***@host/"),
    ("AMQP://u:p@h", "AMQP://u:***@h"),
    ("amqps://u:p@h/?ssl_options={'certfile':'c.pem','password':'keypw'}",
     "amqps://u:***@h/?ssl_options={'certfile':'c.pem','password':***}"),
    ("amqp://u@h/?password=zz&x=1", "amqp://u@h/?password=***&x=1"),
    ("not a url", "not a url"),
    ("", ""),
    ("user:secret@host", "user:***@host"),
])
def test_redact_url(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize("garbage", [None, 12, b"amqp://u:p@h", object(), "amqp://[::1", "::::@@@@",
                                     "amqp://u:p@[bad", "\x00\udcff"])
def test_redact_url_never_raises(garbage):
    out = redact_url(garbage)
    assert isinstance(out, str)
    if isinstance(garbage, str) and "p@" in garbage:
        assert ":p@" not in out


def test_scrub_and_default_url(monkeypatch):
    url = "amqp://guest:S3cretPw@h:5672/%2F"
    assert scrub(f"failed {url}: bad S3cretPw", url) == \
        "failed amqp://guest:***@h:5672/%2F: bad ***"
    assert scrub("nothing here", "garbage") == "nothing here"
    monkeypatch.delenv("WAZO_BUS_URL", raising=False)
    assert default_url() == DEFAULT_URL == "amqp://guest:guest@localhost:5672/%2F"
    monkeypatch.setenv("WAZO_BUS_URL", "amqps://u:p@bus:5671/wazo")
    assert default_url() == "amqps://u:p@bus:5671/wazo"
    monkeypatch.setenv("WAZO_BUS_URL", "")
    assert default_url() == DEFAULT_URL


@broker
def test_a_drain_cut_short_is_reported(publisher, prefix, source_thread, monkeypatch):
    """A callback too slow to drain within DRAIN_MAX: run() still returns, and the stats
    say messages may have gone unchecked."""
    monkeypatch.setattr(consume_mod, "DRAIN_MAX", 0.5)
    src = AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"])
    first = threading.Event()

    def slow(d):
        first.set()
        time.sleep(0.01)

    st = source_thread(src, callback=slow, duration=30)
    st.start()
    for i in range(500):
        publisher.publish(f"{prefix}.k", str(i))
    assert first.wait(5)
    t0 = time.monotonic()
    src.stop()
    stats = st.join(10)
    assert time.monotonic() - t0 < 3
    assert stats.stop_reason == "stopped"
    assert stats.messages < 500
    assert stats.may_have_lost is True
    # what is counted is what the source saw (received after the cutoff, or still in its
    # queue); what no-ack had already pushed into the client's buffers cannot be counted
    assert 0 <= stats.undrained <= 500 - stats.messages


@broker
def test_sparse_traffic_is_handed_over_in_batches(publisher, prefix, source_thread,
                                                  monkeypatch):
    # After a slice of one message the source pauses (here 2 s, a bound no publish of ten
    # messages comes near), so that the ten published meanwhile come in one slice.
    monkeypatch.setattr(consume_mod, "COALESCE", 2.0)
    handed = []
    st = source_thread(AmqpSource(BROKER_URL, bindings=[f"{prefix}.#"]), max_messages=11,
                       duration=30, on_slice=lambda: handed.append(len(st.deliveries)))
    st.start()
    publisher.publish(f"{prefix}.k", "0")
    st.wait_deliveries(1)
    for i in range(1, 11):
        publisher.publish(f"{prefix}.k", str(i))
    assert st.join(20).stop_reason == "max-messages"
    batches = [b - a for a, b in zip([0] + handed, handed) if b > a]
    assert batches == [1, 10]
    assert _bodies(st.deliveries) == [str(i).encode() for i in range(11)]
