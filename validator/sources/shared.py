"""The shared-queue mode of the AMQP source (`listen --shared-queue NAME`): several workers
consume from one named queue, RabbitMQ spreading the traffic over them (competing
consumers). This module holds what differs from the private queue: the declare (and its
argument check), manual acknowledgements, and the stop that never unbinds the queue while
others consume from it and lets the last worker drain and delete it. Why, and what each
step guarantees: docs/shared-queue.md."""

from __future__ import annotations

import functools
import logging

import pika
import pika.exceptions

from validator.urls import scrub

from .connection import SourceError, describe, one_line

_LOG = logging.getLogger(__name__)

EXPIRES_MS = 30_000  # x-expires: a queue no worker uses any more is deleted this soon after
PREFETCH = 2000     # unacknowledged deliveries per worker (what its stop hands back)
REBIND_PERIOD = 1.0  # seconds between two bindings of the keys by a consuming worker


def check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SourceError("--shared-queue needs a queue name")
    if len(name.encode()) > 255:
        raise SourceError("--shared-queue: a queue name is at most 255 bytes")
    if name.startswith("amq."):
        raise SourceError(f"--shared-queue {name}: names starting with 'amq.' are reserved")
    return name


class SharedQueue:
    """The shared queue of one worker: its name, and the settings every worker must share."""

    def __init__(self, name: str, exchange: str, bindings: tuple, max_length: int, url: str,
                 where: str):
        self.name = check_name(name)
        self.exchange = exchange
        self.bindings = bindings
        self.max_length = max_length
        self.url = url
        self.where = where
        self.bound_at = 0.0

    # ------------------------------------------------------------------ start

    def declare(self, connection) -> tuple:
        """Join the queue, creating it if no worker did; returns (channel, created).

        A passive declare tells whether it exists. AMQP's declare-ok carries no arguments,
        so they are checked the one way AMQP offers: a declare with this worker's arguments,
        which the broker accepts only when they equal the existing queue's (406 otherwise,
        which closes the channel: it is reported as one line, SourceError)."""
        channel = connection.channel()
        try:
            channel.queue_declare(queue=self.name, passive=True)
            created = False
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 404:
                raise self.refused(exc) from None
            channel = connection.channel()
            created = True
        try:
            channel.queue_declare(queue=self.name, durable=False, exclusive=False,
                                  auto_delete=False,
                                  arguments={"x-max-length": self.max_length,
                                             "x-expires": EXPIRES_MS})
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise self.refused(exc) from None
        channel.basic_qos(prefetch_count=PREFETCH)
        return channel, created

    def refused(self, exc) -> SourceError:
        text = one_line(scrub(describe(exc), self.url))
        if exc.reply_code == 406:
            why = one_line(scrub(str(exc.reply_text), self.url)).split(" - ", 1)[-1]
            return SourceError(
                f"queue {self.name!r} on {self.where} exists with other settings ({why}): "
                f"give every worker the same --max-length, or choose another --shared-queue")
        if exc.reply_code == 405:
            return SourceError(f"queue {self.name!r} on {self.where} is another connection's "
                               f"exclusive queue: choose another --shared-queue")
        return SourceError(f"cannot use queue {self.name!r} on {self.where}: {text}")

    def keep_bound(self, channel, now: float) -> None:
        """Bind the keys again every REBIND_PERIOD while consuming (binding twice is a
        no-op): a last worker stopping just as this one joined may have unbound them."""
        if now - self.bound_at >= REBIND_PERIOD:
            self.bound_at = now
            for key in self.bindings:
                channel.queue_bind(queue=self.name, exchange=self.exchange, routing_key=key)

    # ------------------------------------------------------------------ stop

    def stop(self, run, session, drain: bool) -> None:
        """Leave the queue without losing what was on its way, see docs/shared-queue.md.

        1. Cancel this worker's consumer: pika hands back (rejects, requeue) what it
           received and had not dispatched yet and what still arrives until the
           Cancel-Ok; acknowledge what was checked, hand back the rest (give_back).
        2. Look at the queue on that same channel (look): the broker answers after it has
           taken back what the channel handed back, so what this worker held is counted.
        3. If other workers still consume, that is all: the queue stays bound for them.
        4. Otherwise this worker is the last: it unbinds, consumes again until the queue is
           empty (run.drain), hands back, looks again, and deletes the queue if unused and
           empty; a refused delete (another worker consumes, or messages came back) makes
           it look again. The drain's DRAIN_MAX starts here, not at the stop request: the
           cancel alone can take seconds on a busy broker."""
        channel = session.channel
        channel.basic_cancel(session.consumer_tag)
        self.give_back(run, session)
        run.restart_drain_budget()
        drained = False
        while not self.lost_queue(run, session):
            consumers, ready = self.look(run, channel)
            if consumers is None:
                return
            if consumers:
                _LOG.info("leaving shared queue %s to its %d other consumer(s)", self.name,
                          consumers)
                handed_back(run)
                return
            draining = drain and not run.drain_spent()
            if not draining or (drained and not ready):
                if self.delete(run, session, if_empty=draining):
                    return
                continue   # refused: someone consumes it again, or messages came back
            session.consumer_tag = channel.basic_consume(
                queue=self.name, auto_ack=False,
                on_message_callback=functools.partial(run.on_message, session))
            run.drain(session)     # even from an empty queue: its quiet spell lets the
            drained = True         # hand-backs of workers stopping with this one arrive
            channel.basic_cancel(session.consumer_tag)
            self.give_back(run, session)

    @staticmethod
    def give_back(run, session) -> None:
        """After a Cancel-Ok: acknowledge what was checked, hand back all else this channel
        still holds (what came past a cut or beyond --max-messages: pika rejected only what
        it had not dispatched), so that the next look counts it in the queue."""
        run.ack(session)
        session.channel.basic_nack(delivery_tag=0, multiple=True, requeue=True)

    def look(self, run, channel) -> tuple:
        """(consumers, ready) of the queue, asked on the consuming channel after its
        acknowledgements and rejections; (None, None) when the queue is gone: what this
        worker handed back since its consumer was cancelled went nowhere (a worker that
        deleted it meanwhile could not see it, nor can x-expires), so it says so."""
        try:
            method = channel.queue_declare(queue=self.name, passive=True).method
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 404:
                raise
            _LOG.warning("shared queue %s was deleted while this worker handed its "
                         "deliveries back: they may be lost", self.name)
            run.drain_cut = True
            return None, None
        return method.consumer_count, method.message_count

    def lost_queue(self, run, session) -> bool:
        """The broker cancelled this worker's consumer: the queue was deleted under it."""
        if session.cancelled:
            _LOG.warning("shared queue %s was deleted while this worker consumed it: what it "
                         "had not checked may be lost", self.name)
            run.drain_cut = True
            return True
        return False

    def delete(self, run, session, if_empty: bool) -> bool:
        """Delete the queue if unused (and empty, while this worker can still drain it).
        False: refused while draining, look again; True: this worker is done with it."""
        scratch = session.connection.channel()   # a refused delete closes its channel
        try:
            left = scratch.queue_delete(queue=self.name, if_unused=True,
                                        if_empty=if_empty).method.message_count
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 406 and if_empty:
                return False
            # 406: another worker consumes (one also stopping, which deletes it after its
            # own drain, or one that just joined); 404: one stopping with us deleted it
            # (empty: every worker deletes only an empty queue while it can drain)
            _LOG.info("shared queue %s left to another worker (%s)", self.name,
                      one_line(scrub(describe(exc), self.url)))
            handed_back(run)
            return True
        if left:
            _LOG.warning("deleted shared queue %s with %d unchecked messages", self.name, left)
            run.undrained = max(run.undrained, left)
            run.drain_cut = True
        else:
            _LOG.info("deleted shared queue %s (the last worker stopped)", self.name)
        return True


def handed_back(run) -> None:
    """What this worker received and did not check (a stop cut short) is unacknowledged:
    the broker gave it back to the queue, where another worker consumes: not a loss."""
    run.drain_cut = False
    run.undrained = run.unchecked = 0


def unacked_note(unacked: int) -> str:
    """Said in a gap's reason: what another worker may check again after this loss."""
    return (f"; {unacked} checked messages were not acknowledged: the broker hands them to "
            f"another worker, which may count them again") if unacked else ""
