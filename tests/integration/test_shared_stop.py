"""The stop of a `--shared-queue` worker on the real RabbitMQ, its moments made deterministic:
the worker talks to the broker through a relay (127.0.0.1) that, once armed, holds whatever
the broker sends from the moment the worker's Basic.Cancel passes, until the test releases
it. The worker then sits in its cancel for as long as the test wants, as a worker on a busy
2-core machine did for up to 10 s (reading back thousands of deliveries it hands back), and
the test looks at the broker meanwhile. docs/shared-queue.md says what the stop guarantees."""

from __future__ import annotations

import socket
import struct
import threading
import time
import uuid

import pytest

import test_shared_queue
from conftest import BROKER_ADDR, SourceThread
from validator.sources import consume
from validator.sources.amqp import AmqpSource
from validator.sources.shared import PREFETCH

pytestmark = pytest.mark.broker

BASIC_CANCEL = (60, 30)   # AMQP class and method ids


class CancelRelay:
    """Forwards one AMQP connection to the broker. Armed with hold_at_cancel(), it stops
    passing the broker's bytes on as the client's Basic.Cancel goes up (before the broker
    has it: its Cancel-Ok is held), sets `cancel_sent`, and passes them on after release()."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.armed = False
        self.cancel_sent = threading.Event()
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def hold_at_cancel(self):
        self.armed = True

    def release(self):
        self.open.set()

    def _serve(self):
        client, _ = self.listener.accept()
        broker = socket.create_connection(BROKER_ADDR, timeout=5)
        broker.settimeout(None)
        self.socks += [client, broker]
        threading.Thread(target=self._down, args=(broker, client), daemon=True).start()
        self._up(client, broker)

    def _up(self, client, broker):
        """Client to broker, frame by frame (after the 8-byte protocol header)."""
        buf = b""
        header = 8
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    return
                buf += data
                if header:
                    n = min(header, len(buf))
                    broker.sendall(buf[:n])
                    buf, header = buf[n:], header - n
                while len(buf) >= 7:
                    kind, _channel, size = struct.unpack(">BHI", buf[:7])
                    if len(buf) < 8 + size:
                        break
                    frame, buf = buf[:8 + size], buf[8 + size:]
                    if kind == 1 and struct.unpack(">HH", frame[7:11]) == BASIC_CANCEL \
                            and self.armed:
                        self.armed = False
                        self.open.clear()
                        self.cancel_sent.set()
                    broker.sendall(frame)
        except OSError:
            return

    def _down(self, broker, client):
        try:
            while True:
                data = broker.recv(65536)
                if not data:
                    return
                self.open.wait()
                client.sendall(data)
        except OSError:
            return

    def close(self):
        self.open.set()
        for s in [self.listener, *self.socks]:
            try:
                s.close()
            except OSError:
                pass


class Broker(test_shared_queue.Broker):
    """The shared-queue tests' broker, publishing with confirms, n numbered bodies at a time."""

    def __init__(self, url):
        super().__init__(url, confirm=True)

    def publish(self, rk, n):
        for i in range(n):
            self.ch.basic_publish(exchange="xivo", routing_key=rk, body=b'{"n": %d}' % i)

    def wait_consumers(self, name, n, timeout=30):
        deadline = time.monotonic() + timeout
        while (state := self.queue(name)) is None or state[1] != n:
            assert time.monotonic() < deadline, f"queue {name}: {state}, not {n} consumers"
            self.conn.sleep(0.02)   # polling the broker's state, not waiting for time


@pytest.fixture
def broker(broker_url, xivo_exchange):
    b = Broker(broker_url)
    yield b
    b.conn.close()


@pytest.fixture
def relay():
    r = CancelRelay()
    yield r
    r.close()


class Clock:
    """consume.py's `time`, whose monotonic clock the test moves on."""

    def __init__(self):
        self.offset = 0.0

    def monotonic(self):
        return time.monotonic() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


def _worker(url, queue, key) -> AmqpSource:
    return AmqpSource(url, bindings=(key,), shared_queue=queue, reconnect=False)


def test_a_cancel_longer_than_the_drain_budget_still_drains_the_queue(broker, relay,
                                                                     monkeypatch):
    """The last worker's drain has its whole DRAIN_MAX however long its cancel took.
    (Found on the broker: three workers stopped with a backlog, the last one's cancel took
    10 s, the budget counted from the stop request was spent, its drain ended at once and
    the queue was deleted with 7,000-8,800 messages in it.)"""
    clock = Clock()
    monkeypatch.setattr(consume, "time", clock)
    queue, key = f"vt-shared-{uuid.uuid4().hex[:10]}", f"vt{uuid.uuid4().hex[:10]}.x"
    total = 3 * PREFETCH
    worker = _worker(relay.url(), queue, key)
    seen = []

    def on_delivery(delivery):
        seen.append(delivery)
        if len(seen) == 1:     # a stop request in the middle of a batch of deliveries
            worker.stop("test")

    st = SourceThread(worker, callback=on_delivery).start()
    try:
        broker.wait_consumers(queue, 1)
        relay.open.clear()          # the deliveries wait in the relay, to come as one batch
        relay.hold_at_cancel()
        broker.publish(key, total)
        relay.release()
        assert relay.cancel_sent.wait(30)
        broker.wait_consumers(queue, 0)   # the broker cancelled it; the worker waits
        clock.offset += consume.DRAIN_MAX + 1   # ... for longer than DRAIN_MAX
        relay.release()
        stats = st.join(60)
    finally:
        relay.release()
        worker.stop("test-cleanup")
        st.thread.join(30)
    assert len(seen) > 1             # some were checked after the stop request
    assert stats.messages == len(seen) == total, stats
    assert stats.may_have_lost is False and stats.undrained == 0, stats
    assert broker.queue(queue) is None


def test_a_queue_deleted_while_a_worker_hands_back_its_deliveries_is_a_reported_loss(
        broker, relay, broker_url):
    """What a worker holds between the broker's Cancel-Ok and its rejections reaching the
    queue is in no count AMQP shows: another worker that stops then finds the queue empty
    and unused and deletes it. The worker that held them finds the queue gone when it
    looks, and says so (the only loss a stop can still cause; docs/shared-queue.md)."""
    queue, key = f"vt-shared-{uuid.uuid4().hex[:10]}", f"vt{uuid.uuid4().hex[:10]}.x"
    total = 3 * PREFETCH
    held = _worker(relay.url(), queue, key)
    other = _worker(broker_url, queue, key)
    busy = threading.Event()
    go_on = threading.Event()

    def slow(delivery):          # the held worker's first check lasts until go_on
        busy.set()
        assert go_on.wait(60)

    st_held = SourceThread(held, callback=slow).start()
    st_other = None
    try:
        broker.wait_consumers(queue, 1)
        st_other = SourceThread(other).start()
        broker.wait_consumers(queue, 2)
        relay.hold_at_cancel()
        broker.publish(key, total)
        assert busy.wait(30)
        st_other.wait_for(lambda: broker.queue(queue)[0] == 0, 60, "the ready ones checked")
        held.stop("test")
        go_on.set()
        assert relay.cancel_sent.wait(30)
        broker.wait_consumers(queue, 1)    # the held worker's consumer is gone
        other_stats = st_other.stop_and_join(timeout=60)
        assert broker.queue(queue) is None     # deleted: it saw nothing of the held ones
        relay.release()
        held_stats = st_held.join(60)
    finally:
        go_on.set()
        relay.release()
        for s in (st_held, st_other):
            if s is not None:
                s.source.stop("test-cleanup")
                s.thread.join(30)
    assert other_stats.may_have_lost is False
    assert held_stats.may_have_lost is True, held_stats
    assert held_stats.messages + other_stats.messages < total
