"""Passive, production-safe AMQP consumer of the Wazo `xivo` topic exchange: its own
bounded, exclusive, auto-delete queue, no-ack, a drain on every stop, reconnection, and a
drop estimate. Why it is safe on a production bus, and how it drains and estimates losses:
docs/design.md. With `shared_queue`, workers share one named queue instead (shared.py,
docs/shared-queue.md)."""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import logging
import os
import signal
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pika
import pika.exceptions
from pika.adapters.utils import connection_workflow as _cw

from validator.urls import redact_url, scrub

from .backlog import BacklogEstimator
from .connection import SourceError, Tls, connect, describe, one_line, parameters
from .shared import SharedQueue, unacked_note

__all__ = ["AmqpSource", "Delivery", "Gap", "SourceError", "SourceStats"]

_LOG = logging.getLogger(__name__)

LOOP_SLICE = 0.1           # longest process_data_events call between stop checks
POLL_QUIET = 1.0           # backlog poll period when nothing flows
POLL_TRAFFIC = 0.25        # ... while messages flow
POLL_BUSY = 0.1            # ... while backlog >= 10% of the bound
BACKLOG_EVENT_PERIOD = 1.0  # 'backlog' events at most this often (plus on saturation)
DRAIN_QUIET = 0.25         # at a stop: done when the queue is empty and this quiet
DRAIN_MAX = 10.0           # at a stop: the longest drain (then what is left is reported)



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
                 give_up_after: float | None = 60.0, tls: Tls | None = None,
                 shared_queue: str | None = None):
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
        self._params = parameters(url, connect_timeout=self.connect_timeout,
                                  connection_name=self.connection_name, tls=tls)
        #: the named queue shared with other workers (None: a private queue)
        self.shared = None if shared_queue is None else SharedQueue(
            shared_queue, exchange, bindings, max_length, url, self.redacted_url)

        #: name of the private queue of the current connection (None when not connected)
        self.queue_name: str | None = None
        self._stop_request: str | None = None
        self._cut_request = False
        self._run_lock = threading.Lock()

    # ------------------------------------------------------------------ setup

    def _open_session(self, on_message, on_cancel) -> _Session:
        """Connect, check the exchange, declare+bind the private queue, consume.

        Raises SourceError (one line, password-free) on any failure.
        """
        where = self.redacted_url
        connection = connect(self._params, self.url)
        try:
            channel = connection.channel()
            try:
                channel.exchange_declare(exchange=self.exchange, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == 404:
                    raise SourceError(f"exchange {self.exchange!r} does not exist on {where}") from None
                raise SourceError(f"cannot access exchange {self.exchange!r} on {where}: "
                                  f"{one_line(scrub(describe(exc), self.url))}") from None
            if self.shared is not None:
                channel, _ = self.shared.declare(connection)
                queue = self.shared.name
            else:
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
                queue=queue, auto_ack=self.shared is None,
                on_message_callback=functools.partial(on_message, session))
            return session
        except SourceError:
            _Session(connection, None, None, "").close()
            raise
        except Exception as exc:
            _Session(connection, None, None, "").close()
            raise SourceError(f"cannot set up the consumer on {where}: "
                              f"{one_line(scrub(describe(exc), self.url))}") from None

    # ------------------------------------------------------------------ control

    def stop(self, reason: str = "stopped") -> None:
        """Ask :meth:`run` to finish; safe from any thread and from a signal handler.

        Only stores the reason (the first one wins; no I/O, no locks); run() notices it
        within ~0.1 s, unbinds the private queue, hands over what is on its way and what
        the queue holds (for DRAIN_MAX at most) and returns its stats. A second call cuts
        that drain short (what is left is counted as undrained). Called before run(), it
        makes run() stop right after connecting.
        """
        if self._stop_request is None:
            self._stop_request = str(reason)
        else:
            self._cut_request = True

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
            self._cut_request = False
            self._run_lock.release()

    def _install_sigint_handler(self) -> bool:
        """If SIGINT still has Python's default handler (KeyboardInterrupt), replace
        it for the duration of run(): the first Ctrl-C becomes ``stop('signal:SIGINT')``
        (graceful, drained), a second one cuts the drain short (stop() called twice).
        A KeyboardInterrupt raised inside pika's dispatch loop could leave
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
        self.stop("signal:SIGINT")


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
        self.est = BacklogEstimator(source.max_length)
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
        # shared mode acknowledges what was handed over, once per slice (shared.py)
        self.acking = source.shared is not None
        self.last_tag = 0          # delivery tag of the last hand-over on this channel
        self.acked_tag = 0
        self.acked_messages = 0    # self.messages when last acknowledged

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
        self.last_tag = method.delivery_tag
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
        if now < self.cutoff and not self.src._cut_request:
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
        if self.acking:
            self.ack(self.session)

    def ack(self, session: _Session) -> None:
        """Acknowledge every hand-over so far (one cumulative ack; after the callback)."""
        if self.last_tag > self.acked_tag:
            session.channel.basic_ack(delivery_tag=self.last_tag, multiple=True)
            self.acked_tag = self.last_tag
            self.acked_messages = self.messages

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
                    unacked = self.messages - self.acked_messages if self.acking else 0
                    gap = Gap(start=lost.at, end=None, reason=one_line(
                        scrub(lost.reason, src.url)) + unacked_note(unacked))
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
        self.last_tag = self.acked_tag = 0   # delivery tags are per channel
        self.acked_messages = self.messages
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
            raise _ConnectionLost(describe(exc)) from None

        if self.src.shared is not None:
            self.leave_shared(session, drain=reason != "max-messages")
        elif reason != "max-messages":
            self.drain(session)
        try:
            self.poll(session, time.monotonic(), final=True)
        except Exception:
            pass
        session.close()
        return reason

    def leave_shared(self, session: _Session, drain: bool) -> None:
        try:
            self.src.shared.stop(self, session, drain)
        except _CallbackFailed as failed:
            session.close()
            raise failed.exc from None
        except (pika.exceptions.AMQPError, _cw.AMQPConnectorException, OSError) as exc:
            # unacknowledged messages go back to the queue, for the other workers
            _LOG.info("connection lost while leaving the shared queue: %s",
                      scrub(describe(exc), self.src.url))
            self.drain_cut = True

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
                if self.src._cut_request:
                    self.cut_drain(session, "by a second stop request")
                    break
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
            _LOG.info("connection lost while draining: %s", scrub(describe(exc), self.src.url))
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
        if self.src.shared is not None:
            self.src.shared.keep_bound(session.poll_channel, t)
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
