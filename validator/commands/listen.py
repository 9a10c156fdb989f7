"""`listen`: attach passively to a Wazo bus, check every event as it passes, and report.

The source declares only its own server-named, exclusive, auto-delete, bounded queue; it
never declares, binds from or deletes the exchange, and never publishes. Every way out
(duration, max messages, idle, SIGINT, SIGTERM, broker gone) writes the report, and the
--record capture is whole-line JSONL on each of them.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from datetime import datetime, timezone

from ..capture import CaptureFileError, CaptureWriter, meta_record
from ..run import Run
from ..sinks import NdjsonSink, ProgressSink, RecordSink
from ..urls import redact_url
from . import common


def add_listen_options(p) -> None:
    p.add_argument("--url", default=None,
                   help="the broker (default: env WAZO_BUS_URL, else "
                        "amqp://guest:guest@localhost:5672/%%2F); amqps:// works")
    p.add_argument("--ca-file", metavar="PEM",
                   help="CA bundle to verify an amqps:// broker with (default: env "
                        "WAZO_BUS_CA_FILE, else the system's); verification is always on")
    p.add_argument("--cert", metavar="PEM", help="client certificate for amqps:// (env "
                   "WAZO_BUS_CERT)")
    p.add_argument("--key", metavar="PEM", help="the client certificate's private key (env "
                   "WAZO_BUS_KEY)")
    p.add_argument("--exchange", default="xivo", help="the topic exchange (default: xivo)")
    p.add_argument("--bind", action="append", default=[], metavar="KEY",
                   help="a binding key (repeatable; default: #)")
    p.add_argument("--duration", type=common.positive_seconds, metavar="S", help="stop after S seconds")
    p.add_argument("--max-messages", type=common.whole_number(1), metavar="N",
                   help="stop after N messages")
    p.add_argument("--idle", type=common.positive_seconds, metavar="S",
                   help="stop after S seconds without a message")
    p.add_argument("--record", metavar="FILE.jsonl",
                   help="also write every message to a capture that `check` replays")
    p.add_argument("--consumer-process", action="store_true",
                   help="receive in a child process and check in this one, for a machine "
                        "with cores to spare (on 2 cores that also run the broker it is "
                        "slower: the receive path costs ~9 us per message in one process)")
    p.add_argument("--max-length", type=common.whole_number(1), default=10_000, metavar="N",
                   help="the bound of the tool's own queue (x-max-length, default 10000): a slow "
                        "validator can never make the broker hold a larger backlog")
    p.add_argument("--shared-queue", metavar="NAME",
                   help="consume from the named queue NAME that several workers share (RabbitMQ "
                        "spreads the traffic over them; `merge` combines their JSON reports) "
                        "instead of an own queue: see docs/shared-queue.md")
    common.add_report_options(p)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "listen", help="check a live bus passively, for a bounded time",
        description="Attach to the bus with an own exclusive, auto-delete, bounded queue; "
                    "check every event; stop on --duration, --max-messages, --idle, Ctrl-C "
                    "or SIGTERM; report.")
    add_listen_options(p)
    p.set_defaults(run=run)


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(
        timespec="milliseconds")


class LiveRun:
    """What listen and watch share: the source, and the run with its summary and sinks."""

    def __init__(self, args):
        from ..sources.amqp import AmqpSource, SourceError
        from ..sources.connection import Tls
        from ..sources.process import ProcessSource
        self.SourceError = SourceError
        self.args = args
        self.url = common.bus_url(args.url)
        self.checker = common.build_checker(args)
        self.summary = common.build_summary(args, self.checker, f"amqp {redact_url(self.url)} "
                                            f"exchange {args.exchange}")
        self.report_path = common.report_path(args)
        common.prepare_outputs(args)
        self.bindings = args.bind or ["#"]
        try:
            tls = Tls.from_options(args.ca_file, args.cert, args.key)
            self.source = AmqpSource(self.url, exchange=args.exchange, bindings=self.bindings,
                                     max_length=args.max_length, tls=tls,
                                     shared_queue=args.shared_queue)
            if args.consumer_process:
                self.source = ProcessSource(self.source)
        except SourceError as exc:
            raise common.UsageError(str(exc)) from None
        self.record: RecordSink | None = None
        self.progress = ProgressSink(self.summary, sys.stderr.isatty() and not args.quiet)
        self.run: Run | None = None
        self.connected = threading.Event()
        self.stats = None
        # The catalogue and the compiled validators live as long as the run: out of the
        # collector's scans, and shared copy-on-write with the consumer process it forks.
        gc.collect()
        gc.freeze()

    def open_outputs(self) -> None:
        sinks = []
        if self.args.record:
            try:
                writer = CaptureWriter(self.args.record)
            except CaptureFileError as exc:
                raise common.UsageError(f"--record {exc}") from None
            writer.write_meta(meta_record(
                "start", tool="wazo-bus-validator", url=redact_url(self.url),
                exchange=self.args.exchange, bindings=self.bindings,
                redacted=bool(self.args.redact), started_at=time.time()))
            self.record = RecordSink(writer, self.summary.redactor)
            sinks.append(self.record)
        if self.args.format == "ndjson":
            sinks.append(NdjsonSink(common.StreamOut(self.report_path), self.summary,
                                    close_out=True))
        if self.progress.enabled:
            sinks.append(self.progress)
        self.run = Run(self.checker, self.summary, sinks)

    def on_event(self, kind: str, info: dict) -> None:
        if kind in ("connected", "reconnected"):
            self.connected.set()
            self.progress.note = ""
            if not self.args.quiet and not self.progress.enabled:
                verb = "listening" if kind == "connected" else "reconnected, listening"
                sys.stderr.write(f"wazo-bus-validator: {verb} on exchange {self.args.exchange} "
                                 f"(own queue {info.get('queue')}, bindings "
                                 f"{' '.join(self.bindings)})\n")
                sys.stderr.flush()
        elif kind == "disconnected":
            self.progress.note = "(connection lost, reconnecting)"
            if self.progress.enabled is False and not self.args.quiet:
                sys.stderr.write("wazo-bus-validator: connection lost, reconnecting\n")
        self.progress.tick(force=True)

    def consume(self) -> None:
        """Run the source until it stops; returns with self.stats set (or raises UsageError)."""
        a = self.args
        try:
            self.stats = self.source.run(self.run.delivery, on_slice=self.run.flush,
                                         duration=a.duration,
                                         max_messages=a.max_messages, idle=a.idle,
                                         on_event=self.on_event)
        except self.SourceError as exc:
            raise common.UsageError(str(exc)) from None

    def close(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run = None

    def finish(self, **extra) -> int:
        st = self.stats
        facts = {"url": redact_url(self.url), "exchange": self.args.exchange,
                 "bindings": self.bindings}
        if st is not None:
            facts.update({
                "stop_reason": st.stop_reason,
                "messages_received": st.messages,
                "reconnects": st.reconnects,
                "gaps": [{"start": g.start, "end": g.end, "start_iso": iso(g.start),
                          "end_iso": iso(g.end), "reason": g.reason} for g in st.gaps],
                "queue_max_length": st.queue_max_length,
                "peak_backlog": st.peak_backlog,
                "may_have_lost": st.may_have_lost,
                "lost_estimate": st.lost_estimate,
                "undrained": st.undrained,
                "started_at": st.started_at,
                "ended_at": st.ended_at,
            })
        facts.update(extra)
        self.summary.finish(**facts)
        if self.record is not None:
            self.record.end(stop_reason=facts.get("stop_reason"),
                            may_have_lost=facts.get("may_have_lost"),
                            lost_estimate=facts.get("lost_estimate"), gaps=facts.get("gaps"))
        self.close()
        common.emit_reports(self.args, self.summary)
        if self.summary.tested_nothing:
            sys.stderr.write("wazo-bus-validator: no message was seen on the bus "
                             "(a run that tested nothing is not a pass)\n")
        return self.summary.exit_code


def stop_on_signals(source, also=None, quiet: bool = False) -> common.on_signals:
    """SIGINT and SIGTERM ask the source to stop (the report is then written as usual); a
    second one cuts the drain short. `also(signal name)` is called too."""
    def handler(name: str, count: int) -> None:
        source.stop(f"signal:{name}")
        if not quiet:
            what = ("stopping: checking what is on its way (again to stop at once)"
                    if count == 1 else "stopping at once: the drain is cut short")
            os.write(2, f"\nwazo-bus-validator: {name}: {what}\n".encode())
        if also:
            also(name)
    return common.on_signals(handler)


def run(args) -> int:
    live = LiveRun(args)
    live.open_outputs()
    # The handlers stay until the report is written: a signal that comes after the source
    # has stopped (a second Ctrl-C) must not interrupt the report.
    with stop_on_signals(live.source, quiet=args.quiet):
        try:
            live.consume()
        except common.UsageError:
            live.close()
            raise
        return live.finish()

