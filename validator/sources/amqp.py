"""Passive, production-safe AMQP consumer of the Wazo `xivo` topic exchange: its own
bounded, exclusive, auto-delete queue, no-ack, a drain on every stop, reconnection, and a
drop estimate. Why it is safe on a production bus, and how it drains and estimates losses:
docs/design.md. With `shared_queue`, workers share one named queue instead (shared.py,
docs/shared-queue.md)."""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import uuid
from typing import Callable, Sequence

import pika
import pika.exceptions

from validator.urls import redact_url, scrub

from .connection import SourceError, Tls, connect, describe, one_line, parameters
from .consume import _Run
from . import frames
from .model import Delivery, Gap, SourceStats, _Session
from .shared import SharedQueue

__all__ = ["AmqpSource", "Delivery", "Gap", "SourceError", "SourceStats"]

_LOG = logging.getLogger(__name__)


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

    def _open_session(self, on_message, on_cancel, make=Delivery) -> _Session:
        """Connect, check the exchange, declare+bind the private queue, consume.

        Raises SourceError (one line, password-free) on any failure. `make` builds what
        the reader of a private queue hands over from a tuple of a Delivery's fields.
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
            if self.shared is None:   # pika's callback stays for what it already holds
                session.reader = frames.install(connection, channel.channel_number,
                                                session.consumer_tag, make)
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
