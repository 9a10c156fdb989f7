"""Fixtures for tests that talk to the real RabbitMQ at 127.0.0.1:5672."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid

import pika
import pika.exceptions
import pytest

BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
BROKER_ADDR = ("127.0.0.1", 5672)


def _broker_up() -> bool:
    try:
        conn = pika.BlockingConnection(pika.URLParameters(
            BROKER_URL + "?socket_timeout=2&stack_timeout=3&connection_attempts=1"))
    except Exception:
        return False
    conn.close()
    return True


@pytest.fixture(scope="session")
def broker_url() -> str:
    if not _broker_up():
        if os.environ.get("CI"):  # CI starts the broker: a missing one is a failure there
            pytest.fail("RabbitMQ is not reachable at 127.0.0.1:5672 in CI")
        pytest.skip("RabbitMQ is not reachable at 127.0.0.1:5672 "
                    "(start it with `rabbitmq-server -detached`)")
    return BROKER_URL


@pytest.fixture(scope="session")
def xivo_exchange(broker_url) -> str:
    """Declare ``xivo`` the way Wazo does (durable topic); fine if it already exists. An
    exchange these tests created is deleted at the end, one that was there is left alone."""
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        try:
            conn.channel().exchange_declare(exchange="xivo", passive=True)
            created = False
        except pika.exceptions.ChannelClosedByBroker:
            created = True
        conn.channel().exchange_declare(exchange="xivo", exchange_type="topic", durable=True)
    finally:
        conn.close()
    yield "xivo"
    if created:
        conn = pika.BlockingConnection(pika.URLParameters(broker_url))
        try:
            conn.channel().exchange_delete(exchange="xivo")
        finally:
            conn.close()


@pytest.fixture
def prefix() -> str:
    """Unique routing-key prefix so tests never see each other's traffic."""
    return "vt" + uuid.uuid4().hex[:10]


def wait_for_lines(path, count: int, timeout: float = 30) -> list[str]:
    """The lines of a file a live run writes (--record, ndjson), once it holds `count`."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


class Publisher:
    """pika BlockingConnection publisher that reopens itself when the broker closed it."""

    def __init__(self, url: str, exchange: str = "xivo"):
        self.url = url
        self.exchange = exchange
        self.conn = None
        self.ch = None

    def _channel(self):
        if self.conn is None or not self.conn.is_open or self.ch is None or not self.ch.is_open:
            self.close()
            self.conn = pika.BlockingConnection(pika.URLParameters(self.url))
            self.ch = self.conn.channel()
            # Each publish returns once the broker has routed the message into the queues
            # bound: a test knows its messages are there, without waiting.
            self.ch.confirm_delivery()
        return self.ch

    def publish(self, routing_key: str, body: bytes | str, exchange: str | None = None,
                **props) -> None:
        if isinstance(body, str):
            body = body.encode()
        props.setdefault("content_type", "application/json")
        properties = pika.BasicProperties(**props)
        for attempt in (1, 2):
            try:
                self._channel().basic_publish(exchange=exchange or self.exchange,
                                              routing_key=routing_key, body=body,
                                              properties=properties)
                return
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError):
                if attempt == 2:
                    raise
                self.close()

    def publish_json(self, routing_key: str, obj, **props) -> bytes:
        body = json.dumps(obj).encode()
        self.publish(routing_key, body, **props)
        return body

    def close(self):
        try:
            if self.conn is not None and self.conn.is_open:
                self.conn.close()
        except Exception:
            pass
        self.conn = self.ch = None


@pytest.fixture
def publisher(broker_url, xivo_exchange):
    pub = Publisher(broker_url)
    yield pub
    pub.close()


def rabbitmqctl(*args: str, timeout: float = 30) -> list[dict]:
    """Run ``rabbitmqctl <args> --formatter json -q`` and parse the rows."""
    out = subprocess.run(["rabbitmqctl", *args, "--formatter", "json", "-q"],
                         capture_output=True, text=True, timeout=timeout, check=True).stdout
    out = out.strip()
    return json.loads(out) if out else []


def rabbitmqctl_many(*commands: tuple[str, ...], timeout: float = 30) -> list[list[dict]]:
    """Several rabbitmqctl list commands in parallel (each takes ~1 s of CLI start-up)."""
    procs = [subprocess.Popen(["rabbitmqctl", *cmd, "--formatter", "json", "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cmd in commands]
    results = []
    for cmd, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(cmd)} failed: {err}")
        out = out.strip()
        results.append(json.loads(out) if out else [])
    return results


class SourceThread:
    """Runs ``AmqpSource.run`` in a background thread and records everything."""

    def __init__(self, source, callback=None, **run_kwargs):
        self.source = source
        self.deliveries = []
        self.events: list[tuple[str, dict]] = []
        self.stats = None
        self.error: BaseException | None = None
        self._callback = callback
        self._run_kwargs = run_kwargs
        self._cond = threading.Condition()
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _on_delivery(self, delivery):
        if self._callback is not None:
            self._callback(delivery)
        with self._cond:
            self.deliveries.append(delivery)
            self._cond.notify_all()

    def _on_event(self, kind, info):
        with self._cond:
            self.events.append((kind, info))
            self._cond.notify_all()

    def _main(self):
        try:
            self.stats = self.source.run(self._on_delivery, on_event=self._on_event,
                                         **self._run_kwargs)
        except BaseException as exc:  # surfaced by join()
            self.error = exc
        finally:
            with self._cond:
                self._cond.notify_all()

    def start(self, wait_connected: bool = True, timeout: float = 10.0) -> "SourceThread":
        self.thread.start()
        if wait_connected:
            self.wait_event("connected", timeout=timeout)
        return self

    def wait_for(self, predicate, timeout: float, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                if self.error is not None:
                    raise AssertionError(f"source failed while waiting for {what}: {self.error!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out waiting for {what}; events={self.kinds()}, "
                                         f"deliveries={len(self.deliveries)}")
                self._cond.wait(min(remaining, 0.1))

    def wait_event(self, kind: str, timeout: float = 10.0, count: int = 1) -> dict:
        self.wait_for(lambda: sum(1 for k, _ in self.events if k == kind) >= count
                      or not self.thread.is_alive(), timeout, f"event {kind!r}")
        matching = [i for k, i in self.events if k == kind]
        if len(matching) < count:
            raise AssertionError(f"source ended before event {kind!r}: error={self.error!r} "
                                 f"stats={self.stats!r}")
        return matching[count - 1]

    def wait_deliveries(self, n: int, timeout: float = 10.0):
        self.wait_for(lambda: len(self.deliveries) >= n, timeout, f"{n} deliveries")

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]

    def join(self, timeout: float = 15.0):
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.source.stop("test-cleanup")
            self.thread.join(10)
            raise AssertionError("source.run() did not return in time")
        if self.error is not None:
            raise self.error
        return self.stats

    def stop_and_join(self, reason: str = "stopped", timeout: float = 15.0):
        self.source.stop(reason)
        return self.join(timeout)


@pytest.fixture
def source_thread():
    """Factory: ``source_thread(source, callback=None, **run_kwargs)`` -> SourceThread.

    Every thread made through it is stopped and joined at teardown.
    """
    made: list[SourceThread] = []

    def make(source, callback=None, **run_kwargs) -> SourceThread:
        st = SourceThread(source, callback=callback, **run_kwargs)
        made.append(st)
        return st

    yield make
    for st in made:
        if st.thread.is_alive():
            st.source.stop("test-cleanup")
            st.thread.join(10)


@pytest.fixture(name="rabbitmqctl")
def rabbitmqctl_fixture():
    """The :func:`rabbitmqctl` helper (skips when the CLI is not installed)."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl not available")
    return rabbitmqctl


@pytest.fixture(name="rabbitmqctl_many")
def rabbitmqctl_many_fixture():
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl not available")
    return rabbitmqctl_many


class TcpProxy:
    """Tiny TCP (optionally TLS-terminating) forwarder to the broker on 127.0.0.1.

    ``kill()`` drops every proxied connection and stops listening, which looks
    like a broker that went away; ``restart()`` listens again on the same port.
    """

    def __init__(self, target=BROKER_ADDR, tls_context: ssl.SSLContext | None = None):
        self.target = target
        self.tls_context = tls_context
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._alive = False
        self._acceptor: threading.Thread | None = None

    def start(self) -> "TcpProxy":
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", self.port))
        lst.listen(16)
        lst.settimeout(0.2)
        self.port = lst.getsockname()[1]
        self._listener = lst
        self._alive = True
        self._acceptor = threading.Thread(target=self._accept_loop, args=(lst,), daemon=True)
        self._acceptor.start()
        return self

    restart = start

    def _accept_loop(self, lst):
        while self._alive and self._listener is lst:
            try:
                client, _ = lst.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket):
        upstream = None
        try:
            client.settimeout(5)
            if self.tls_context is not None:
                client = self.tls_context.wrap_socket(client, server_side=True)
            client.settimeout(None)
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
            with self._lock:
                if not self._alive:
                    raise OSError("proxy killed")
                self._sockets.update((client, upstream))
            self._pump(client, upstream)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
            with self._lock:
                self._sockets.discard(client)
                self._sockets.discard(upstream)

    def _pump(self, a: socket.socket, b: socket.socket):
        peers = {a: b, b: a}
        while self._alive:
            pending = [s for s in (a,) if isinstance(s, ssl.SSLSocket) and s.pending()]
            ready = pending or select.select([a, b], [], [], 0.2)[0]
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                peers[s].sendall(data)

    def kill(self):
        self._alive = False
        lst, self._listener = self._listener, None
        if lst is not None:
            try:
                lst.shutdown(socket.SHUT_RDWR)   # stop listening now (wakes accept())
            except OSError:
                pass
            lst.close()
            self._acceptor.join(2)
        with self._lock:
            socks = list(self._sockets)
            self._sockets.clear()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def tcp_proxy():
    proxies: list[TcpProxy] = []

    def make(**kwargs) -> TcpProxy:
        proxy = TcpProxy(**kwargs).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.kill()


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory):
    """(cert_path, key_path) for CN/SAN localhost, made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=30)
    return cert, key
