"""Passive, production-safe AMQP consumer for the Wazo ``xivo`` topic exchange.

Safety by construction
======================
The source is meant to be attached to a *production* bus, so the only things
it ever does to the broker are:

* ``exchange.declare(passive=True)`` on the configured exchange (checks that it
  exists; a missing exchange is a :class:`SourceError`, never created);
* ``queue.declare`` of **its own** server-named (``queue=''``), exclusive,
  auto-delete, non-durable queue with ``arguments={"x-max-length": N}``; the
  queue lives and dies with the connection, and the bound means a slow or stuck
  validator can never make the broker hold more than ``N`` ready messages
  on its behalf (plus what it already wrote to the socket, see below);
* ``queue.bind`` of that queue to the exchange, once per binding key;
* ``basic.consume`` (no-ack) on that queue, and ``queue.unbind`` of its own
  bindings when it stops (see draining);
* ``queue.declare(passive=True)`` on that queue, to read its depth.

It never publishes, never declares/deletes/binds exchanges, never touches any
other queue.

Acknowledgement mode
====================
``auto_ack=True`` (no-ack).  Acknowledgements buy nothing here: the queue is
exclusive and auto-delete, so a message the broker would requeue after a
crash dies with the queue anyway.  And they cost: measured on the development
machine (2 cores shared with the broker, 60k pre-queued messages), manual
cumulative acks make RabbitMQ spend ~35 us of CPU per message instead of
~21 us, which caps any acking consumer at ~0.68x a no-ack one, whatever the
client does.  Bounds with no-ack: RabbitMQ's internal flow control stops
the queue from handing messages to the connection once enough are on their
way, so a slow or stuck validator leaves the backlog in the bounded queue,
where drop-head applies.  What is already on its way is not bounded by
``x-max-length``: measured here with a stuck or slow validator, ~7,600 to
8,000 messages (of 420 bytes or 1 KB alike) beyond the queue's bound reached
the client afterwards.  They are never lost (see draining below), but the
drop estimate cannot see them: it may count too few drops.  The client reads
at most ~100 KiB ahead of the callback (pika's read limit per readiness event;
it dispatches what it read before reading again).

Stopping and draining
=====================
:meth:`AmqpSource.stop` only stores the reason (one attribute assignment), so
it is safe from any thread and from a signal handler; :meth:`AmqpSource.run`
drives pika with ``process_data_events(time_limit<=0.1)`` and checks the flag
between slices (PEP 475 makes ``select`` resume after a signal handler ran;
no pika I/O ever happens in the handler).  A slice hands over at most what one
readiness event brought (~100 KiB: ~200 messages of 420 bytes).
If SIGINT still has Python's default handler when run() starts in the main
thread, run() temporarily replaces it: the first Ctrl-C is a graceful
``stop('signal:SIGINT')``, a second one raises KeyboardInterrupt inside run(),
which cuts the drain short (stats are still returned).
When a stop is decided (signal, :meth:`stop`, duration, idle) the source
unbinds its own queue (``queue.unbind``: no new message can enter it; nothing
else is touched) and keeps handing over deliveries until the queue is empty
and nothing arrived for DRAIN_QUIET (0.25 s): what was on its way and what
the queue still held are checked, none is dropped.  ``basic.cancel`` would
not do: pika silently discards no-ack deliveries that arrive for a cancelled
consumer.  Hand-overs after a stop request are capped at DRAIN_MAX (10 s,
for a very slow callback: one ~100 KiB read can bring ~1,000 tiny messages);
what is then received but not handed over, plus what the queue still holds,
is ``SourceStats.undrained`` and sets ``may_have_lost``.  The exception is
``max_messages``: exactly N deliveries are handed over and anything beyond is
not (by request).

Dropped-message estimate
========================
The queue is bounded with the default ``drop-head`` overflow, so under
overload the broker silently discards the oldest ready messages, and no
counter of those discards is visible to a plain AMQP client.  The source
samples its own queue's ready count with a passive ``queue.declare`` on a
second channel - every 1 s when quiet, every 0.25 s while messages flow,
every 0.1 s once the backlog exceeds 10% of the bound, and 0.1 s after traffic
starts (a passive declare is a single cheap RPC; in practice a busy loop
samples about every 0.2 s).  Samples are taken at the end of a loop slice.
``peak_backlog`` is the highest sample.

* ``may_have_lost`` becomes True when a sample shows the queue at its bound
  (``ready >= x-max-length``: a drop-head queue can only be full if it was
  discarding or about to) or when the connection was lost while the queue
  held a backlog (that backlog dies with the exclusive queue).
* ``lost_estimate``: between two samples the messages that entered the queue
  and survived are ``survived = received_delta + ready_delta`` (exact up to
  what is in flight on the socket).  For an interval ending below the bound no drop
  is assumed and ``survived / dt`` becomes the reference arrival rate (``dt``
  starts at the first delivery if the queue was empty at the start).  For an
  interval ending *at* the bound the arrival rate is unobservable; it is
  assumed to be ``max(reference rate, survived / dt)`` and
  ``rate * dt - survived`` is added to the estimate.  Plus the last sampled
  backlog when a connection is lost.  It is a rough order of magnitude: it
  under-estimates when traffic keeps accelerating while the queue is full or
  while the client works through what is in flight (the reference rate is
  then the client's, not the publishers'), and
  over-estimates when traffic stops while a stalled consumer keeps the queue
  full.  Messages published while disconnected are not counted here; they are
  described by :attr:`SourceStats.gaps`.
  (The management HTTP API could give an exact figure, but its statistics lag
  by the collection interval - 5 s by default - and the plugin is optional,
  so it is not used.)

Reconnection
============
If the connection is lost mid-run (broker restart, ``close_connection``,
network failure, heartbeat timeout, consumer cancelled by the broker) a
:class:`Gap` is opened, the source retries with exponential backoff (0.5 s,
doubling, capped at ``max_reconnect_wait``), re-declares only a new private
queue and its bindings, closes the gap when consuming resumes, and goes on.
After ``give_up_after`` seconds without success it returns with
``stop_reason='broker-gone'``.  A failure to connect at *start* is a
:class:`SourceError` instead (bounded by ``connect_timeout``).

Passwords: every URL mentioned in a message, exception or log line goes
through :func:`validator.urls.redact_url`; texts from pika go through
:func:`validator.urls.scrub`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import logging
import os
import signal
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions
from pika.adapters.utils import connection_workflow as _cw

from validator.urls import redact_url, scrub

__all__ = ["AmqpSource", "Delivery", "Gap", "SourceError", "SourceStats"]

_LOG = logging.getLogger(__name__)

LOOP_SLICE = 0.1           # longest process_data_events call between stop checks
POLL_QUIET = 1.0           # backlog poll period when nothing flows
POLL_TRAFFIC = 0.25        # ... while messages flow
POLL_BUSY = 0.1            # ... while backlog >= 10% of the bound
BACKLOG_EVENT_PERIOD = 1.0  # 'backlog' events at most this often (plus on saturation)
DRAIN_QUIET = 0.25         # at a stop: done when the queue is empty and this quiet
DRAIN_MAX = 10.0           # at a stop: the longest drain (then what is left is reported)



class SourceError(Exception):
    """One-line, user-facing; the CLI prints it and exits 2."""


@dataclass
class Delivery:
    routing_key: str | None
    body: bytes
    properties: dict      # JSON-able; only the properties that are set
    exchange: str
    received_at: float    # time.time()


@dataclass
class Gap:
    start: float          # epoch seconds when the connection was lost
    end: float | None     # when consuming resumed (None if never resumed)
    reason: str


@dataclass
class SourceStats:
    stop_reason: str      # 'duration' | 'max-messages' | 'idle' | 'signal:SIGTERM' | 'signal:SIGINT' | 'stopped' | 'broker-gone'
    messages: int
    gaps: list[Gap]
    reconnects: int
    peak_backlog: int
    may_have_lost: bool
    lost_estimate: int
    queue_max_length: int
    started_at: float
    ended_at: float
    # a stop's drain cut short (DRAIN_MAX, or a second Ctrl-C): what was received but not
    # handed over plus what the private queue still held; more may have been on their way
    # (may_have_lost is set)
    undrained: int = 0


# --------------------------------------------------------------------------
# helpers


class _ConnectionLost(Exception):
    def __init__(self, reason: str, at: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.at = time.time() if at is None else at


class _CallbackFailed(Exception):
    """Carries an exception raised by the user's callback through pika."""

    def __init__(self, exc: BaseException):
        super().__init__(repr(exc))
        self.exc = exc


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)      # pika decodes 64-bit ints as a private int subclass
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(_jsonable(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _fields(*fields) -> tuple:
    """A Delivery's fields as a plain tuple: run(raw=True)'s delivery."""
    return fields


def _properties_dict(props: pika.spec.BasicProperties | None) -> dict:
    """The properties that are set, JSON-able (on every message: kept cheap)."""
    if props is None:
        return {}
    out: dict[str, Any] = {}
    # pika's BasicProperties keeps exactly its 14 fields in __dict__, unset ones None.
    for name, value in props.__dict__.items():
        if value is not None:
            out[name] = value if type(value) is str else _jsonable(value)
    return out


def _describe(exc: BaseException) -> str:
    """A short human description of a pika/socket error (not yet scrubbed)."""
    if isinstance(exc, pika.exceptions.AMQPConnectionError) and exc.args:
        inner = exc.args[0]
        if isinstance(inner, BaseException) and not isinstance(exc, pika.exceptions.ConnectionClosed):
            return _describe(inner)
    if isinstance(exc, _cw.AMQPConnectionWorkflowFailed) and exc.exceptions:
        return _describe(exc.exceptions[-1])
    if isinstance(exc, _cw.AMQPConnectorPhaseErrorBase):
        return _describe(exc.exception)
    if isinstance(exc, _cw.AMQPConnectorStackTimeout):
        return "timed out while connecting (TCP/TLS/AMQP handshake)"
    if isinstance(exc, pika.exceptions.ProbableAuthenticationError):
        return "authentication refused (check user and password)"
    if isinstance(exc, pika.exceptions.ProbableAccessDeniedError):
        return "access denied (check the virtual host and permissions)"
    if isinstance(exc, pika.exceptions.IncompatibleProtocolError):
        return "peer does not speak AMQP 0-9-1"
    if isinstance(exc, pika.exceptions.ConnectionClosedByBroker):
        return f"connection closed by broker ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, pika.exceptions.ConnectionClosed):
        return f"connection closed ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, pika.exceptions.ChannelClosed):
        return f"channel closed ({exc.reply_code} {exc.reply_text})"
    if isinstance(exc, pika.exceptions.AMQPHeartbeatTimeout):
        return "heartbeat timeout"
    if isinstance(exc, pika.exceptions.StreamLostError):
        inner = exc.args[0] if exc.args else ""
        return f"connection lost ({inner})" if inner else "connection lost"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed ({exc.verify_message or exc})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _BacklogEstimator:
    """Peak backlog and drop estimate from periodic ready-count samples.

    See the module docstring for the method.
    """

    def __init__(self, max_length: int):
        self.max_length = max_length
        self.peak = 0
        self.lost = 0.0
        self.may_have_lost = False
        self.rate_ref = 0.0
        self.last_ready = 0
        self._prev: tuple[float, int, int] | None = None

    def sample(self, t: float, ready: int, received: int, traffic_start: float | None) -> bool:
        """Record a sample; ``t`` and ``traffic_start`` on the same (monotonic) clock.

        ``received`` is the running count of deliveries that reached the
        client; ``traffic_start`` the time of the first delivery since the
        previous sample (None if none).  Returns True when the queue is full.
        """
        ready = max(0, int(ready))
        self.peak = max(self.peak, ready)
        self.last_ready = ready
        saturated = ready >= self.max_length
        if saturated:
            self.may_have_lost = True
        prev, self._prev = self._prev, (t, ready, received)
        if prev is None:
            return saturated
        t0, q0, r0 = prev
        dt = t - t0
        if dt <= 0:
            return saturated
        if q0 == 0 and traffic_start is not None and traffic_start > t0:
            # the queue was empty: traffic (arrivals) began around the first delivery
            dt = max(t - traffic_start, min(dt, 0.02))
        survived = max(0, (received - r0) + (ready - q0))
        rate = survived / dt
        if saturated:
            ref = max(self.rate_ref, rate)
            self.lost += max(0.0, ref * dt - survived)
            self.rate_ref = ref
        else:
            self.rate_ref = rate
        return saturated

    def connection_lost(self) -> None:
        """The exclusive queue died with the connection, and its backlog with it."""
        if self.last_ready > 0:
            self.lost += self.last_ready
            self.may_have_lost = True
        self.last_ready = 0
        self._prev = None

    @property
    def lost_estimate(self) -> int:
        return int(round(self.lost))


class _Session:
    """One connection: consuming channel + backlog-poll channel."""

    def __init__(self, connection: pika.BlockingConnection, channel, poll_channel, queue: str):
        self.connection = connection
        self.channel = channel
        self.poll_channel = poll_channel
        self.queue = queue
        self.consumer_tag: str | None = None
        self.cancelled: str | None = None

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except Exception as exc:  # already dead, or died while closing
            _LOG.debug("ignoring error while closing connection: %s", type(exc).__name__)


# --------------------------------------------------------------------------


class AmqpSource:
    """Passive consumer of one topic exchange; see the module docstring."""

    def __init__(self, url: str, exchange: str = "xivo", bindings: Sequence[str] = ("#",),
                 max_length: int = 10000, connect_timeout: float = 5.0,
                 reconnect: bool = True, max_reconnect_wait: float = 30.0,
                 give_up_after: float | None = 60.0):
        self.url = url
        self.redacted_url = redact_url(url)
        if not isinstance(exchange, str) or not exchange:
            raise SourceError("exchange name must be a non-empty string")
        if isinstance(bindings, str):
            bindings = (bindings,)
        bindings = tuple(bindings)
        if not bindings or not all(isinstance(b, str) for b in bindings):
            raise SourceError("bindings must be a non-empty list of routing-key patterns")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise SourceError(f"max_length must be a positive integer, got {max_length!r}")
        for name, value in (("connect_timeout", connect_timeout),
                            ("max_reconnect_wait", max_reconnect_wait)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise SourceError(f"{name} must be a positive number, got {value!r}")
        if give_up_after is not None and (not isinstance(give_up_after, (int, float))
                                          or isinstance(give_up_after, bool) or give_up_after <= 0):
            raise SourceError(f"give_up_after must be a positive number or None, got {give_up_after!r}")

        self.exchange = exchange
        self.bindings = bindings
        self.max_length = max_length
        self.connect_timeout = float(connect_timeout)
        self.reconnect = bool(reconnect)
        self.max_reconnect_wait = float(max_reconnect_wait)
        self.give_up_after = None if give_up_after is None else float(give_up_after)
        #: shown by ``rabbitmqctl list_connections client_properties``
        self.connection_name = f"wazo-bus-validator pid={os.getpid()} {uuid.uuid4().hex[:12]}"
        self._params = self._build_parameters()

        #: name of the private queue of the current connection (None when not connected)
        self.queue_name: str | None = None
        self._stop_request: str | None = None
        self._run_lock = threading.Lock()

    # ------------------------------------------------------------------ setup

    def _build_parameters(self) -> pika.URLParameters:
        url = self.url
        where = self.redacted_url
        if not isinstance(url, str) or not url.strip():
            raise SourceError("bus URL is empty")
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
        except Exception:
            raise SourceError(f"invalid bus URL {where}") from None
        if scheme not in ("amqp", "amqps"):
            raise SourceError(f"invalid bus URL {where}: scheme must be amqp:// or amqps://")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
            params = pika.URLParameters(url)
        except Exception as exc:
            raise SourceError(f"invalid bus URL {where}: {_one_line(scrub(str(exc), url))}") from None
        try:
            query = parse_qs(parts.query)
        except Exception:
            query = {}
        if "socket_timeout" not in query:
            params.socket_timeout = self.connect_timeout
        if "stack_timeout" not in query:
            params.stack_timeout = self.connect_timeout
        if "connection_attempts" not in query:
            params.connection_attempts = 1
        if "retry_delay" not in query:
            params.retry_delay = 0.5
        props = dict(params.client_properties or {})
        props.setdefault("connection_name", self.connection_name)
        params.client_properties = props
        if params.ssl_options is not None and params.ssl_options.server_hostname is None:
            # pika's default context checks host names but pika passes no
            # server_hostname, which makes every handshake fail; use the URL host
            # (also enables SNI).
            params.ssl_options = pika.SSLOptions(params.ssl_options.context,
                                                 server_hostname=params.host)
        return params

    def _open_session(self, on_message, on_cancel) -> _Session:
        """Connect, check the exchange, declare+bind the private queue, consume.

        Raises SourceError (one line, password-free) on any failure.
        """
        where = self.redacted_url
        try:
            connection = pika.BlockingConnection(self._params)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                raise
            raise SourceError(f"cannot connect to {where}: "
                              f"{_one_line(scrub(_describe(exc), self.url))}") from None
        try:
            channel = connection.channel()
            try:
                channel.exchange_declare(exchange=self.exchange, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == 404:
                    raise SourceError(f"exchange {self.exchange!r} does not exist on {where}") from None
                raise SourceError(f"cannot access exchange {self.exchange!r} on {where}: "
                                  f"{_one_line(scrub(_describe(exc), self.url))}") from None
            declared = channel.queue_declare(queue="", durable=False, exclusive=True,
                                             auto_delete=True,
                                             arguments={"x-max-length": self.max_length})
            queue = declared.method.queue
            for key in self.bindings:
                channel.queue_bind(queue=queue, exchange=self.exchange, routing_key=key)
            poll_channel = connection.channel()
            session = _Session(connection, channel, poll_channel, queue)
            channel.add_on_cancel_callback(lambda frame: on_cancel(session, frame))
            session.consumer_tag = channel.basic_consume(
                queue=queue, auto_ack=True,
                on_message_callback=functools.partial(on_message, session))
            return session
        except SourceError:
            _Session(connection, None, None, "").close()
            raise
        except Exception as exc:
            _Session(connection, None, None, "").close()
            raise SourceError(f"cannot set up the consumer on {where}: "
                              f"{_one_line(scrub(_describe(exc), self.url))}") from None

    # ------------------------------------------------------------------ control

    def stop(self, reason: str = "stopped") -> None:
        """Ask :meth:`run` to finish; safe from any thread and from a signal handler.

        Only stores the reason (the first one wins; no I/O, no locks); run()
        notices it within ~0.1 s - or, while deliveries are being handed over,
        after at most one read's worth of callbacks - unbinds the private
        queue, hands over what is on its way and what the queue holds (for
        DRAIN_MAX at most) and returns its stats.  Called before run(),
        it makes run() stop right after connecting.
        """
        if self._stop_request is None:
            self._stop_request = str(reason)

    # ------------------------------------------------------------------ run

    def run(self, on_delivery: Callable[[Delivery], None], *, duration: float | None = None,
            max_messages: int | None = None, idle: float | None = None,
            on_event: Callable[[str, dict], None] | None = None,
            on_slice: Callable[[], None] | None = None, raw: bool = False) -> SourceStats:
        """Consume until a stop condition; returns stats on every way out.

        With ``raw=True`` on_delivery gets the tuple of a Delivery's fields instead of a
        Delivery (``Delivery(*t)`` rebuilds it), for a caller that passes deliveries on
        (ProcessSource) and should not pay for an object per message.

        ``on_slice()``, if given, is called after every slice of pika I/O (at
        most ~0.1 s apart while consuming, and once after the drain): a
        caller that batches deliveries flushes there.

        Raises SourceError only when the *first* connection/setup fails (or on
        invalid arguments); exceptions raised by ``on_delivery``/``on_event``
        propagate after the connection is closed.
        """
        if duration is not None and (not isinstance(duration, (int, float)) or duration <= 0):
            raise SourceError(f"duration must be a positive number of seconds, got {duration!r}")
        if max_messages is not None and (isinstance(max_messages, bool)
                                         or not isinstance(max_messages, int) or max_messages < 1):
            raise SourceError(f"max_messages must be a positive integer, got {max_messages!r}")
        if idle is not None and (not isinstance(idle, (int, float)) or idle <= 0):
            raise SourceError(f"idle must be a positive number of seconds, got {idle!r}")
        if not self._run_lock.acquire(blocking=False):
            raise RuntimeError("AmqpSource.run() is already running")
        restore_sigint = self._install_sigint_handler()
        try:
            return _Run(self, on_delivery, duration, max_messages, idle, on_event,
                        on_slice, raw).execute()
        finally:
            if restore_sigint:
                try:
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                except (ValueError, OSError):
                    pass
            self.queue_name = None
            self._stop_request = None
            self._run_lock.release()

    def _install_sigint_handler(self) -> bool:
        """If SIGINT still has Python's default handler (KeyboardInterrupt), replace
        it for the duration of run(): the first Ctrl-C becomes ``stop('signal:SIGINT')``
        (graceful, drained), a second one raises KeyboardInterrupt, which skips the
        drain.  A KeyboardInterrupt raised inside pika's dispatch loop could leave
        buffered deliveries undispatched.  Callers that installed their own handler
        (the CLI) are left alone."""
        if threading.current_thread() is not threading.main_thread():
            return False
        try:
            if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
                return False
            signal.signal(signal.SIGINT, self._on_sigint)
            return True
        except (ValueError, OSError):
            return False

    def _on_sigint(self, signum, frame) -> None:
        if self._stop_request is None:
            self.stop("signal:SIGINT")
        else:
            raise KeyboardInterrupt


class _Run:
    """State of one AmqpSource.run() call."""

    def __init__(self, source: AmqpSource, on_delivery, duration, max_messages, idle, on_event,
                 on_slice=None, raw=False):
        self.src = source
        self.on_slice = on_slice
        self.pack = _fields if raw else Delivery   # what on_delivery gets
        self.on_delivery = on_delivery
        self.max_messages = max_messages
        self.idle = idle
        self.on_event = on_event
        self.started_at = time.time()
        self.started_mono = time.monotonic()
        self.deadline = None if duration is None else self.started_mono + duration
        self.messages = 0          # handed to the callback
        self.received = 0          # reached the client (includes any beyond max_messages)
        self.gaps: list[Gap] = []
        self.reconnects = 0
        self.est = _BacklogEstimator(source.max_length)
        self.max_reached = False
        self.undrained = 0         # left in the queue when a drain was cut short
        self.drain_cut = False
        self.cutoff: float | None = None   # set at the first delivery after a stop request
        self.unchecked = 0         # received after the cutoff, not handed over
        self.last_activity = self.started_mono   # idle timer base
        self.first_rx_since_poll: float | None = None
        self.last_rx_mono: float | None = None
        self.next_poll = 0.0
        self.last_backlog_event = 0.0
        self.was_saturated = False
        self.session: _Session | None = None

    # --------------------------------------------------------------- events

    def emit(self, kind: str, **info) -> None:
        if self.on_event is not None:
            self.on_event(kind, info)

    # --------------------------------------------------------------- pika callbacks

    # The per-message path is kept to the minimum (listen's rate is bounded by it): the
    # timers that only need slice precision (idle, backlog sampling) are updated per
    # process_data_events slice in consume(), not per message.

    def on_message(self, session: _Session, channel, method, properties, body) -> None:
        self.received += 1
        if self.max_reached:
            return  # beyond max_messages: not handed over (by request)
        if self.src._stop_request is not None and self.past_cutoff():
            return
        self.messages += 1
        try:
            self.on_delivery(self.pack(method.routing_key, body, _properties_dict(properties),
                                       method.exchange, time.time()))
        except Exception as exc:
            raise _CallbackFailed(exc) from exc
        if self.messages == self.max_messages:
            self.max_reached = True

    def past_cutoff(self) -> bool:
        """After a stop request, hand-overs continue for DRAIN_MAX at most: a slow callback
        must not hold a stop for the ~1,000 tiny messages one ~100 KiB read can bring."""
        now = time.monotonic()
        if self.cutoff is None:
            self.cutoff = now + DRAIN_MAX
        if now < self.cutoff:
            return False
        self.drain_cut = True
        self.unchecked += 1
        return True

    def after_slice(self, received_before: int, messages_before: int, started: float) -> None:
        """Per-slice bookkeeping of what on_message no longer does per message."""
        if self.received != received_before:
            now = time.monotonic()
            if self.first_rx_since_poll is None:
                self.first_rx_since_poll = started
                # traffic (re)started: sample soon, so a burst's fill rate is measured
                self.next_poll = min(self.next_poll, now + POLL_BUSY)
            self.last_rx_mono = now
            if self.messages != messages_before:
                # idle counts from the end of the last hand-over: a slow callback is not idle
                self.last_activity = now
        if self.on_slice is not None:
            self.on_slice()

    def on_cancel(self, session: _Session, frame) -> None:
        session.cancelled = "consumer cancelled by the broker (queue deleted?)"

    # --------------------------------------------------------------- main

    def execute(self) -> SourceStats:
        src = self.src
        self.session = self.connect()   # SourceError propagates: failure at start
        stop_reason = None
        try:
            self.emit("connected", url=src.redacted_url, queue=self.session.queue,
                      exchange=src.exchange, bindings=list(src.bindings),
                      max_length=src.max_length)
            while stop_reason is None:
                try:
                    stop_reason = self.consume(self.session)
                except _ConnectionLost as lost:
                    self.session.close()
                    self.session = None
                    src.queue_name = None
                    gap = Gap(start=lost.at, end=None, reason=_one_line(scrub(lost.reason, src.url)))
                    self.gaps.append(gap)
                    self.est.connection_lost()
                    _LOG.warning("lost connection to %s: %s", src.redacted_url, gap.reason)
                    self.emit("disconnected", reason=gap.reason, at=gap.start,
                              may_have_lost=self.est.may_have_lost)
                    if not src.reconnect:
                        stop_reason = "broker-gone"
                        break
                    stop_reason = self.reconnect_loop(gap)
        finally:
            if self.session is not None:
                self.session.close()
                self.session = None
            src.queue_name = None
        return SourceStats(
            stop_reason=stop_reason,
            messages=self.messages,
            gaps=self.gaps,
            reconnects=self.reconnects,
            peak_backlog=self.est.peak,
            may_have_lost=self.est.may_have_lost or self.drain_cut,
            lost_estimate=self.est.lost_estimate,
            undrained=max(self.undrained, self.unchecked),
            queue_max_length=src.max_length,
            started_at=self.started_at,
            ended_at=time.time(),
        )

    def connect(self) -> _Session:
        session = self.src._open_session(self.on_message, self.on_cancel)
        self.src.queue_name = session.queue
        now = time.monotonic()
        self.last_activity = now          # idle timer (re)starts when consuming (re)starts
        self.first_rx_since_poll = None
        self.next_poll = now              # baseline backlog sample right away
        _LOG.info("consuming from %r on %s via queue %s (bindings %s)", self.src.exchange,
                  self.src.redacted_url, session.queue, ", ".join(self.src.bindings))
        return session

    def reconnect_loop(self, gap: Gap) -> str | None:
        """Returns None once consuming resumed, else the stop reason."""
        src = self.src
        delay = 0.5
        lost_mono = time.monotonic() - max(0.0, time.time() - gap.start)
        give_up_at = None if src.give_up_after is None else lost_mono + src.give_up_after
        attempt = 0
        while True:
            wake = time.monotonic() + delay
            if give_up_at is not None:
                wake = min(wake, give_up_at)
            while True:
                reason = self.pending_stop(time.monotonic(), connected=False)
                if reason is not None:
                    return reason
                now = time.monotonic()
                if give_up_at is not None and now >= give_up_at:
                    _LOG.error("giving up: no connection to %s for %.0f s", src.redacted_url,
                               src.give_up_after)
                    return "broker-gone"
                if now >= wake:
                    break
                try:
                    time.sleep(min(0.1, wake - now))
                except KeyboardInterrupt:
                    return "signal:SIGINT"
            attempt += 1
            try:
                self.session = self.connect()
            except KeyboardInterrupt:
                return "signal:SIGINT"
            except SourceError as exc:
                _LOG.info("reconnect attempt %d to %s failed: %s", attempt, src.redacted_url, exc)
                delay = min(delay * 2, src.max_reconnect_wait)
                continue
            gap.end = time.time()
            self.reconnects += 1
            _LOG.warning("reconnected to %s after %.1f s", src.redacted_url, gap.end - gap.start)
            self.emit("reconnected", queue=self.session.queue, attempts=attempt,
                      gap_seconds=gap.end - gap.start, reconnects=self.reconnects)
            return None

    def pending_stop(self, now: float, connected: bool = True) -> str | None:
        if self.src._stop_request is not None:
            return self.src._stop_request
        if self.max_reached:
            return "max-messages"
        if self.deadline is not None and now >= self.deadline:
            return "duration"
        if connected and self.idle is not None and now - self.last_activity >= self.idle:
            return "idle"
        return None

    def consume(self, session: _Session) -> str:
        """Consume until a stop condition (returned) or raise _ConnectionLost."""
        connection = session.connection
        try:
            while True:
                now = time.monotonic()
                reason = self.pending_stop(now)
                if reason is not None:
                    break
                if session.cancelled:
                    raise _ConnectionLost(session.cancelled)
                limit = LOOP_SLICE
                if self.deadline is not None:
                    limit = min(limit, self.deadline - now)
                if self.idle is not None:
                    limit = min(limit, self.last_activity + self.idle - now)
                limit = min(limit, max(0.0, self.next_poll - now))
                received, messages = self.received, self.messages
                connection.process_data_events(time_limit=max(0.0, limit))
                self.after_slice(received, messages, now)
                if time.monotonic() >= self.next_poll:
                    self.poll(session, time.monotonic())
        except _CallbackFailed as failed:
            session.close()
            raise failed.exc from None
        except KeyboardInterrupt:
            # no handler installed by the caller: treat like a SIGINT stop request
            self.src.stop("signal:SIGINT")
            reason = self.src._stop_request
        except (pika.exceptions.AMQPError, _cw.AMQPConnectorException, OSError) as exc:
            raise _ConnectionLost(_describe(exc)) from None

        if reason != "max-messages":
            self.drain(session)
        try:
            self.poll(session, time.monotonic(), final=True)
        except Exception:
            pass
        session.close()
        return reason

    def drain(self, session: _Session) -> None:
        """Unbind the private queue, then hand over everything until the queue is empty
        and nothing arrived for DRAIN_QUIET (see the module docstring)."""
        if self.cutoff is None:
            self.cutoff = time.monotonic() + DRAIN_MAX
        try:
            for key in self.src.bindings:   # own queue only: no new message can enter it
                session.poll_channel.queue_unbind(queue=session.queue,
                                                  exchange=self.src.exchange, routing_key=key)
            last = self.received
            quiet_since = time.monotonic()
            while not self.max_reached and not session.cancelled:
                if self.drain_cut or time.monotonic() >= self.cutoff:
                    self.cut_drain(session, f"after {DRAIN_MAX:g} s")
                    break
                received, messages = self.received, self.messages
                session.connection.process_data_events(time_limit=0.05)
                self.after_slice(received, messages, time.monotonic())
                if self.received != last:
                    last = self.received
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= DRAIN_QUIET:
                    if self.ready_count(session) == 0:
                        break
                    quiet_since = time.monotonic()
        except _CallbackFailed as failed:
            session.close()
            raise failed.exc from None
        except KeyboardInterrupt:
            try:
                self.cut_drain(session, "by a second interrupt")
            except Exception:
                pass   # counting needs the connection; the cut is recorded either way
        except (pika.exceptions.AMQPError, _cw.AMQPConnectorException, OSError) as exc:
            _LOG.info("connection lost while draining: %s", scrub(_describe(exc), self.src.url))
            self.drain_cut = True
        finally:
            if self.on_slice is not None:
                self.on_slice()

    def cut_drain(self, session: _Session, why: str) -> None:
        self.drain_cut = True
        self.undrained = self.unchecked + self.ready_count(session)
        _LOG.warning("stopped draining %s: %d messages received or left in the private queue "
                     "(and any on their way) were not checked", why, self.undrained)

    def ready_count(self, session: _Session) -> int:
        return session.poll_channel.queue_declare(queue=session.queue,
                                                  passive=True).method.message_count

    def poll(self, session: _Session, now: float, final: bool = False) -> None:
        """Sample the private queue's ready count (passive declare, own queue only)."""
        ready = self.ready_count(session)
        t = time.monotonic()
        saturated = self.est.sample(t, ready, self.received, self.first_rx_since_poll)
        self.first_rx_since_poll = None
        if ready * 10 >= self.src.max_length:
            period = POLL_BUSY
        elif self.last_rx_mono is not None and t - self.last_rx_mono < 1.0:
            period = POLL_TRAFFIC
        else:
            period = POLL_QUIET
        self.next_poll = t + period
        if final:
            return
        newly_saturated = saturated and not self.was_saturated
        if saturated and not self.was_saturated:
            _LOG.warning("private queue reached its bound (%d messages): the broker is "
                         "dropping the oldest messages", self.src.max_length)
        self.was_saturated = saturated
        if (newly_saturated or (ready > 0 and t - self.last_backlog_event >= BACKLOG_EVENT_PERIOD)
                or (ready == 0 and self.est.peak > 0 and t - self.last_backlog_event >= 5.0)):
            self.last_backlog_event = t
            self.emit("backlog", backlog=ready, peak_backlog=self.est.peak,
                      max_length=self.src.max_length, saturated=saturated,
                      messages=self.messages, may_have_lost=self.est.may_have_lost,
                      lost_estimate=self.est.lost_estimate)
