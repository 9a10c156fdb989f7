"""One AmqpSource.run(): consuming, draining at a stop, reconnecting, sampling the queue's
depth (docs/design.md). The per-message path is kept to the minimum."""

from __future__ import annotations

import logging
import time

import pika
import pika.exceptions
from pika.adapters.utils import connection_workflow as _cw

from validator.urls import scrub

from .backlog import BacklogEstimator
from .connection import SourceError, describe, one_line
from .model import Delivery, Gap, SourceStats, _CallbackFailed, _ConnectionLost, _fields, \
    properties_dict, _Session
from .shared import unacked_note

_LOG = logging.getLogger("validator.sources.amqp")

LOOP_SLICE = 0.1           # longest process_data_events call between stop checks
POLL_QUIET = 1.0           # backlog poll period when nothing flows
POLL_TRAFFIC = 0.25        # ... while messages flow
POLL_BUSY = 0.1            # ... while backlog >= 10% of the bound
BACKLOG_EVENT_PERIOD = 1.0  # 'backlog' events at most this often (plus on saturation)
DRAIN_QUIET = 0.25         # at a stop: done when the queue is empty and this quiet
DRAIN_MAX = 10.0           # at a stop: the longest drain (then what is left is reported)
# Sparse traffic: a slice that waited less than COALESCE for fewer than COALESCE_BELOW messages
# is followed by a COALESCE pause, so that the next one reads those that came meanwhile in one
# go; otherwise each message costs a wake-up of its own (~100 us of CPU here, more than the
# checking). A full slice, or a long wait (a trickle), is not.
COALESCE = 0.005
COALESCE_BELOW = 16


def coalesce_pause(received: int, waited: float) -> float:
    """The pause before the next slice, after one that received `received` messages in
    `waited` seconds."""
    return COALESCE if 0 < received < COALESCE_BELOW and waited < COALESCE else 0.0


class _Run:
    """State of one AmqpSource.run() call."""

    def __init__(self, source, on_delivery, duration, max_messages, idle, on_event,
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
        """A delivery through pika's own path (shared mode; in private mode, what pika
        held when the reader took over): after what the reader decoded before it."""
        if session.reader is not None and session.reader.pending:
            self.hand_over(session)
        self.received += 1
        if self.max_reached:
            return  # beyond max_messages: not handed over (by request)
        if self.src._stop_request is not None and self.past_cutoff():
            return
        self.messages += 1
        self.last_tag = method.delivery_tag
        try:
            self.on_delivery(self.pack(method.routing_key, body, properties_dict(properties),
                                       method.exchange, time.time()))
        except Exception as exc:
            raise _CallbackFailed(exc) from exc
        if self.messages == self.max_messages:
            self.max_reached = True

    def hand_over(self, session: _Session) -> None:
        """What the reader decoded (frames.py), in order, as on_message would one by one."""
        reader = session.reader
        if reader is None or not reader.pending:
            return
        deliver, src = self.on_delivery, self.src
        for item in reader.take():    # a Delivery, or its tuple (raw): made by the reader
            self.received += 1
            if self.max_reached:
                continue  # beyond max_messages: not handed over (by request)
            if src._stop_request is not None and self.past_cutoff():
                continue
            self.messages += 1
            try:
                deliver(item)
            except Exception as exc:
                raise _CallbackFailed(exc) from exc
            if self.messages == self.max_messages:
                self.max_reached = True

    def rescue(self, session: _Session) -> None:
        """The connection failed: what the reader had decoded is handed over all the same
        (it reached this client; dropping it would lose it silently)."""
        try:
            self.hand_over(session)
        except _CallbackFailed as failed:
            session.close()
            raise failed.exc from None

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

    def restart_drain_budget(self) -> None:
        """A shared queue's drain gets its DRAIN_MAX from when it starts (shared.py): the
        cancel before it can take seconds on a busy broker. A cut stays cut."""
        if not self.drain_cut:
            self.cutoff = time.monotonic() + DRAIN_MAX

    def drain_spent(self) -> bool:
        return (self.drain_cut or self.max_reached or self.src._cut_request
                or (self.cutoff is not None and time.monotonic() >= self.cutoff))

    def after_slice(self, received_before: int, messages_before: int, started: float) -> None:
        """Per-slice bookkeeping of what on_message no longer does per message."""
        self.hand_over(self.session)
        if self.received != received_before:
            now = time.monotonic()
            if self.first_rx_since_poll is None:
                self.first_rx_since_poll = started
                if self.last_rx_mono is None or now - self.last_rx_mono >= POLL_QUIET:
                    # traffic (re)started after a quiet spell: sample soon, so a burst's fill
                    # rate is measured (not after every sample: each one costs ~250 us)
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
        session = self.src._open_session(self.on_message, self.on_cancel,
                                         tuple if self.pack is _fields else Delivery)
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
                pause = coalesce_pause(self.received - received, time.monotonic() - now)
                if pause:
                    time.sleep(pause)
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
            self.rescue(session)
            raise _ConnectionLost(describe(exc)) from None

        if self.src.shared is not None:
            self.leave_shared(session, drain=reason != "max-messages")
        elif reason != "max-messages":
            self.drain(session)
        try:
            self.poll(session, time.monotonic(), final=True)
        except Exception:
            pass
        self.rescue(session)   # what came during that last sample
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
                    ready = self.ready_count(session)
                    self.hand_over(session)   # what came during that sample, if anything
                    if ready == 0 and self.received == last:
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
            self.rescue(session)
        finally:
            if self.on_slice is not None:
                self.on_slice()

    def cut_drain(self, session: _Session, why: str) -> None:
        self.drain_cut = True
        in_flight = self.cancel_consumer(session)
        ready = self.ready_count(session)
        decoded = len(session.reader.pending) if session.reader is not None else 0
        self.undrained = self.unchecked + decoded + in_flight + ready
        _LOG.warning("stopped draining %s: %d messages received or left in the private queue "
                     "(and any on their way) were not checked", why, self.undrained)

    def cancel_consumer(self, session: _Session) -> int:
        """A no-ack consumer's messages are the broker's no more once sent: what is on its
        way when a drain is cut (in the broker's buffers, in the socket) is in no queue
        count. Cancelling the consumer brings it all in before the Cancel-Ok, counted here
        (pika's own pending ones) or by the reader (its pending ones), not checked."""
        if self.acking or session.channel is None or session.consumer_tag is None:
            return 0
        pending = session.channel.basic_cancel(session.consumer_tag)
        return len(pending or ())

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
