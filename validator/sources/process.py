"""Run the AMQP consumer in a forked child process; check in the parent.

Why
===
The receive path (pika, and the source's own frame reader: frames.py) and the
checker add up in one process (one GIL) on the path the rate depends on.  With
the consumer in a forked child that ships batches of deliveries over a pipe to
the parent, which checks, the child's path is the receive path alone.  That pays where a core is free; on a
2-core machine that also runs the broker it measured no faster (0.66-0.75x the
bare consumer against 0.68-0.83x in one process: the checker competes with the
broker, and the split costs ~3 us per message), so ``listen`` uses it only with
``--consumer-process``.

How
===
The child runs the wrapped :class:`~validator.sources.amqp.AmqpSource`
unchanged.  Its ``on_delivery`` only appends a compact tuple
``(routing_key, body, properties, exchange, received_at)`` to a list, sent to
the parent as one pickled message when it holds ``batch_max`` deliveries,
after every pika slice (``on_slice``, at most ~0.1 s apart), before every
event and at the end.  Events and the final :class:`SourceStats` (or the text
of a :class:`SourceError`) travel in the same pipe, so the parent sees
everything in order.  The parent rebuilds :class:`Delivery` objects and calls
the caller's callbacks, so it is a drop-in replacement for AmqpSource.

Bounds and backpressure
=======================
The child writes with a *blocking* send.  A parent slower than the bus fills
the pipe; the child then blocks inside its delivery callback and stops reading
the socket, and the broker keeps the backlog in the private bounded
(``x-max-length``) queue, where the source's backlog sampling sees it, exactly
as when a slow callback runs in-process (see amqp.py).  On top of what the
in-process source already has in flight, the split adds at most: the child's
current batch (< ``batch_max`` deliveries), the pipe's buffer plus the one
batch being written into it, and the batch the parent is checking.  Those
deliveries have left the broker: they are lost if the parent dies, as they
would be with the in-process source.

Control and failures
====================
:meth:`ProcessSource.stop` stores the reason and writes it to a second pipe
(non-blocking, a few bytes: safe from a signal handler); a thread in the
child passes it to the wrapped source's ``stop()``.  End-of-file on that pipe
(the parent died) means ``stop('parent-gone')``, and the next send fails, so
the child never outlives its parent by more than a slice.  The child ignores
SIGINT and SIGTERM (a Ctrl-C on the terminal reaches both processes; the
parent decides).  If the child dies without its final message, run() returns
stats with ``stop_reason='source-died: <exit code or signal>'`` and
``may_have_lost=True``; a child still silent ``STOP_GRACE`` seconds after a
stop request is killed and reported the same way.  The child is always reaped -
killed if it does not end on its own - so run() leaves neither a zombie nor an
orphan.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable

from validator.sources.amqp import AmqpSource, Delivery, Gap, SourceError, SourceStats
from validator.urls import scrub

__all__ = ["ProcessSource"]

_LOG = logging.getLogger(__name__)

SLICE = 0.1           # parent: on_slice period while nothing arrives
STOP_GRACE = 30.0     # a child that stays silent this long after a stop request is killed
JOIN_TIMEOUT = 5.0    # wait for the child to exit before killing it
_SIGNALS = {signal.SIGINT, signal.SIGTERM}

# Messages on the data pipe (child -> parent), each a pickled tuple:
_BATCH = "batch"      # (_BATCH, [AmqpSource raw tuples: see AmqpSource.run(raw=True)])
_EVENT = "event"      # (_EVENT, kind, info)
_STATS = "stats"      # (_STATS, SourceStats)            final
_ERROR = "error"      # (_ERROR, SourceError text)       final
_CRASH = "crash"      # (_CRASH, one-line description)   final


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Seen:
    """What the parent learnt from the child: enough for honest stats if it dies."""

    def __init__(self):
        self.messages = 0
        self.gaps: list[Gap] = []
        self.reconnects = 0
        self.peak_backlog = 0
        self.lost_estimate = 0

    def event(self, kind: str, info: dict) -> None:
        if kind == "disconnected":
            self.gaps.append(Gap(start=info.get("at", time.time()), end=None,
                                 reason=info.get("reason", "")))
        elif kind == "reconnected":
            self.reconnects += 1
            if self.gaps and self.gaps[-1].end is None:
                gap = self.gaps[-1]
                gap.end = gap.start + info.get("gap_seconds", time.time() - gap.start)
        elif kind == "backlog":
            self.peak_backlog = max(self.peak_backlog, info.get("peak_backlog", 0))
            self.lost_estimate = info.get("lost_estimate", self.lost_estimate)


class ProcessSource:
    """An :class:`AmqpSource` consuming in a forked child; same API; see the module docstring."""

    def __init__(self, source: AmqpSource, batch_max: int = 512):
        if isinstance(batch_max, bool) or not isinstance(batch_max, int) or batch_max < 1:
            raise SourceError(f"batch_max must be a positive integer, got {batch_max!r}")
        self.source = source
        self.batch_max = batch_max
        #: the private queue of the child's current connection (None when not connected)
        self.queue_name: str | None = None
        #: pid of the consumer process while run() runs
        self.child_pid: int | None = None
        self._stop_reason: str | None = None
        self.stop_requested_at = 0.0   # monotonic time of the first stop request
        self._ctl = None                 # parent's end of the control pipe while the child runs
        self._run_lock = threading.Lock()

    redacted_url = property(lambda self: self.source.redacted_url)
    exchange = property(lambda self: self.source.exchange)
    bindings = property(lambda self: self.source.bindings)
    max_length = property(lambda self: self.source.max_length)
    connection_name = property(lambda self: self.source.connection_name)

    # ------------------------------------------------------------------ control

    def stop(self, reason: str = "stopped") -> None:
        """Ask run() to finish; safe from any thread and from a signal handler.

        Stores the reason (the first one wins) and writes it, non-blocking, to
        the child; a second call cuts the child's drain short, as AmqpSource.stop
        does.  Called before run(), run() stops right after connecting.
        """
        if self._stop_reason is None:
            self._stop_reason = str(reason)
            # The child's grace starts here, not at its last message: this process may
            # have been suspended (SIGSTOP, a laptop's sleep) for longer than the grace.
            self.stop_requested_at = time.monotonic()
        self._send_stop()  # a second request reaches the child too: it cuts the drain short

    def _send_stop(self) -> None:
        ctl = self._ctl
        if ctl is not None and self._stop_reason is not None:
            try:
                ctl.send_bytes(self._stop_reason.encode()[:1000])   # one atomic pipe write
            except (OSError, ValueError):   # child gone / pipe closed: nothing to stop
                pass

    # ------------------------------------------------------------------ run

    def run(self, on_delivery: Callable[[Delivery], None], *, duration: float | None = None,
            max_messages: int | None = None, idle: float | None = None,
            on_event: Callable[[str, dict], None] | None = None,
            on_slice: Callable[[], None] | None = None) -> SourceStats:
        """Like :meth:`AmqpSource.run`; here ``on_slice`` is called after every message
        from the child and at least every ~0.1 s while nothing arrives.

        SIGINT, if it still has Python's default handler (main thread only), is handled
        as AmqpSource does: the first Ctrl-C is ``stop('signal:SIGINT')`` (drained), a
        second one abandons the drain (the child is killed, stats still returned).
        """
        if not self._run_lock.acquire(blocking=False):
            raise RuntimeError("ProcessSource.run() is already running")
        ctx = multiprocessing.get_context("fork")
        pipes = []
        proc = None
        restore_sigint = self._install_sigint_handler()
        try:
            data_r, data_w = ctx.Pipe(duplex=False)
            pipes += (data_r, data_w)
            ctl_r, ctl_w = ctx.Pipe(duplex=False)
            pipes += (ctl_r, ctl_w)
            os.set_blocking(ctl_w.fileno(), False)
            proc = ctx.Process(target=self._child, name="wazo-bus-validator-consumer",
                               daemon=True, args=(data_w, data_r, ctl_r, ctl_w, {
                                   "duration": duration, "max_messages": max_messages,
                                   "idle": idle}))
            # Signals stay blocked across the fork, until the child has set them to SIG_IGN:
            # the caller's handlers must never run in the child.
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
            try:
                proc.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self.child_pid = proc.pid
            data_w.close()           # so that the child's death is end-of-file here
            ctl_r.close()
            self._ctl = ctl_w
            self._send_stop()        # a stop() that came before the child existed
            return self._receive(proc, data_r, on_delivery, on_event, on_slice, time.time())
        finally:
            self._ctl = None
            for conn in pipes:
                conn.close()         # the child sees end-of-file: stop('parent-gone')
            if proc is not None and proc.pid is not None:
                _reap(proc)
            if restore_sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            self.child_pid = None
            self.queue_name = None
            self._stop_reason = None
            self._run_lock.release()

    def _receive(self, proc, data_r, on_delivery, on_event, on_slice,
                 started_at: float) -> SourceStats:
        rx = _Receiver(self, proc, data_r, on_delivery, on_event, on_slice)
        while rx.final is None and rx.gone is None:
            rx.step()
        self.queue_name = None
        if rx.gone in ("stuck", "abandoned"):
            proc.kill()
        _reap(proc)
        return self._outcome(rx, proc, started_at)

    def _outcome(self, rx: "_Receiver", proc, started_at: float) -> SourceStats:
        final, seen = rx.final, rx.seen
        if rx.failure is not None:
            raise rx.failure
        if final is not None and final[0] == _STATS:
            return final[1]
        if final is not None and final[0] == _ERROR:
            raise SourceError(final[1])
        if rx.gone == "abandoned":
            reason = self._stop_reason
            _LOG.warning("drain abandoned: the consumer process was killed")
        else:
            why = final[1] if final is not None else _describe_exit(proc.exitcode)   # _CRASH
            reason = f"source-died: {why}"
            _LOG.error("the consumer process died (%s) after handing over %d messages",
                       why, seen.messages)
        return SourceStats(stop_reason=reason, messages=seen.messages, gaps=seen.gaps,
                           reconnects=seen.reconnects, peak_backlog=seen.peak_backlog,
                           may_have_lost=True, lost_estimate=seen.lost_estimate,
                           queue_max_length=self.source.max_length, started_at=started_at,
                           ended_at=time.time())

    def _install_sigint_handler(self) -> bool:
        """Replace Python's default SIGINT handler for the duration of run(), as
        AmqpSource does; callers that installed their own handler are left alone."""
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return False

        def on_sigint(signum, frame):
            if self._stop_reason is not None:
                raise KeyboardInterrupt
            self.stop("signal:SIGINT")

        signal.signal(signal.SIGINT, on_sigint)
        return True

    # ------------------------------------------------------------------ child

    def _child(self, data_w, data_r, ctl_r, ctl_w, run_kwargs: dict) -> None:
        """Body of the forked child: consume, ship to the parent, exit.  Never returns."""
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
            # Without the parent's ends closed here, the parent's death would be
            # invisible: no end-of-file on the control pipe, no EPIPE on the data pipe.
            data_r.close()
            ctl_w.close()
            code = self._child_run(data_w, ctl_r, run_kwargs)
        finally:
            os._exit(code)

    def _child_run(self, data_w, ctl_r, run_kwargs: dict) -> int:
        source = self.source
        batch_max = self.batch_max
        batch: list[tuple] = []

        def send(msg) -> None:
            data_w.send_bytes(pickle.dumps(msg, protocol=5))   # blocking: the backpressure

        def flush() -> None:
            nonlocal batch
            if batch:
                out, batch = batch, []
                send((_BATCH, out))

        def on_delivery(t: tuple) -> None:   # AmqpSource's raw tuple: no Delivery here
            batch.append(t)
            if len(batch) >= batch_max:
                flush()

        def on_event(kind: str, info: dict) -> None:
            flush()
            send((_EVENT, kind, info))

        def control() -> None:
            try:
                while True:
                    source.stop(ctl_r.recv_bytes().decode(errors="replace"))
            except (EOFError, OSError):
                source.stop("parent-gone")

        threading.Thread(target=control, name="stop-requests", daemon=True).start()
        code = 0
        try:
            final = (_STATS, source.run(on_delivery, on_event=on_event, on_slice=flush,
                                        raw=True, **run_kwargs))
        except SourceError as exc:
            final = (_ERROR, str(exc))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            text = " ".join(scrub(f"{type(exc).__name__}: {exc}", source.url).split())
            final, code = (_CRASH, text), 1
        flush()
        send(final)
        data_w.close()
        return code


def _reap(proc) -> None:
    """Wait for the child; kill it if it does not exit in time (no zombie, no orphan)."""
    proc.join(JOIN_TIMEOUT)
    if proc.exitcode is None:
        _LOG.warning("the consumer process did not exit: killing it")
        proc.kill()
        proc.join(JOIN_TIMEOUT)


class _Receiver:
    """The parent's side of one run: reads the child's batches and events off the pipe and
    hands them over, until the child's final message or until it is gone."""

    def __init__(self, owner: "ProcessSource", proc, data_r, on_delivery, on_event, on_slice):
        self.owner = owner
        self.proc = proc
        self.data_r = data_r
        self.on_delivery = on_delivery
        self.on_event = on_event
        self.on_slice = on_slice
        self.seen = _Seen()
        self.failure: Exception | None = None  # raised by a callback: re-raised at the end
        self.items = iter(())                   # the current batch, not handed over yet
        self.final = None                       # the child's last message
        self.gone: str | None = None            # or why we stopped hearing from the child
        self.reading = False
        self.last_message = time.monotonic()

    def step(self) -> None:
        try:
            for t in self.items:
                self.on_delivery(Delivery(*t))
            if not self.data_r.poll(SLICE):
                self.quiet()
                return
            self.reading = True
            raw = self.data_r.recv_bytes()
            self.reading = False
            self.handle(pickle.loads(raw))
        except EOFError:
            self.gone = "died"
        except KeyboardInterrupt:
            # The first one is a graceful stop (keep draining); a second one, or one
            # that hit while a message was being read (the framing is lost), abandons.
            if self.owner._stop_reason is not None or self.reading:
                self.gone = "abandoned"
            self.owner.stop("signal:SIGINT")
        except Exception as exc:
            if self.failure is not None:
                raise
            self.failure = exc
            self.items = iter(())
            self.owner.stop("callback-failed")      # and read on until the child has finished

    def slice_done(self) -> None:
        if self.on_slice is not None and self.failure is None:
            self.on_slice()

    def quiet(self) -> None:
        self.slice_done()
        if not self.proc.is_alive() and not self.data_r.poll(0):
            self.gone = "died"      # (a foreign fork still holds the pipe's write end)
        elif ((self.owner._stop_reason is not None or self.failure is not None)
              and time.monotonic() - max(self.last_message, self.owner.stop_requested_at)
              > STOP_GRACE):
            _LOG.error("the consumer process did not stop within %.0f s: killing it",
                       STOP_GRACE)
            self.gone = "stuck"

    def handle(self, msg) -> None:
        self.last_message = time.monotonic()
        if msg[0] == _BATCH:
            self.seen.messages += len(msg[1])
            if self.failure is None:
                self.items = iter(msg[1])
        elif msg[0] == _EVENT:
            self.event(msg[1], msg[2])
        else:
            self.final = msg
            return
        self.slice_done()

    def event(self, kind: str, info: dict) -> None:
        self.seen.event(kind, info)
        if kind in ("connected", "reconnected"):
            self.owner.queue_name = info.get("queue")
        elif kind == "disconnected":
            self.owner.queue_name = None
        if self.on_event is not None and self.failure is None:
            self.on_event(kind, info)
