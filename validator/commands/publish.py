"""`publish`: generated traffic on the bus, with a known fraction of broken messages.

The last line on stdout is one JSON object telling exactly what a `listen` run over the
same messages must report: the checker is run on every message published, and each
finding code counts the messages that carry it.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

from ..capture import CaptureFileError, CaptureWriter
from ..generate import GenerationError
from ..urls import redact_url, scrub
from . import common
from .examples import build_generator

CONNECT_TIMEOUT = 3.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "publish", help="publish generated traffic, a known fraction of it broken",
        description="Publish generated messages of every event (routing keys and ACLs "
                    "from the templates), round(COUNT x FAULTY) of them with one fault "
                    "each (chosen by the seed). The last stdout line is a JSON object: "
                    "sent, ok, broken, by_code (messages per finding code), by_verdict.")
    p.add_argument("--url", default=None,
                   help="the broker (default: $WAZO_BUS_URL or "
                        "amqp://guest:guest@localhost:5672/%%2F)")
    p.add_argument("--exchange", default=None,
                   help="the exchange, which must exist (default: the catalogue's, xivo)")
    p.add_argument("--rate", type=float, default=0.0, metavar="R",
                   help="messages per second (default 0: as fast as possible)")
    p.add_argument("--count", type=int, default=100, metavar="N", help="default: 100")
    p.add_argument("--faulty", type=float, default=0.0, metavar="FRACTION",
                   help="the fraction of broken messages, 0..1 (default: 0)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="default: 0")
    p.add_argument("--wazo-version", metavar="V", default=None,
                   help="the target Wazo version (default: the catalogue's, 17.08)")
    p.add_argument("--record", metavar="PATH",
                   help="also write what is published as a capture file (JSONL)")
    p.add_argument("--dry-run", action="store_true",
                   help="generate and count, but connect to nothing")
    common.add_catalogue_option(p)
    p.set_defaults(run=run)


class Tally:
    def __init__(self):
        self.sent = 0
        self.ok = 0
        self.broken = 0
        self.by_code: Counter = Counter()
        self.by_verdict: Counter = Counter()
        self.by_mutation: Counter = Counter()

    def add(self, result, mutant) -> None:
        self.sent += 1
        if mutant is None:
            self.ok += 1
        else:
            self.broken += 1
            self.by_mutation[mutant.kind] += 1
        self.by_verdict[result.verdict] += 1
        for code in {f.code for f in result.findings}:
            self.by_code[code] += 1

    def as_dict(self, **extra) -> dict:
        out = {"sent": self.sent, "ok": self.ok, "broken": self.broken,
               "by_code": dict(sorted(self.by_code.items())),
               "by_verdict": {v: self.by_verdict.get(v, 0) for v in ("ok", "warn", "fail")},
               "by_mutation": dict(sorted(self.by_mutation.items()))}
        out.update(extra)
        return out


def _connect(url: str):
    """A connection through the one connection module: one-line errors, password hidden."""
    from ..sources.connection import SourceError, connect, parameters
    try:
        params = parameters(url, connect_timeout=CONNECT_TIMEOUT,
                            connection_name="wazo-bus-validator publish")
        params.blocked_connection_timeout = 30
        return connect(params, url)
    except SourceError as exc:
        raise common.UsageError(str(exc)) from None


def _check_exchange(connection, exchange: str, url: str):
    import pika

    from ..sources.connection import describe
    channel = connection.channel()
    try:
        channel.exchange_declare(exchange=exchange, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            raise common.UsageError(
                f"exchange {exchange!r} does not exist on {redact_url(url)} (publish never "
                "declares it: Wazo does)") from None
        raise common.UsageError(f"exchange {exchange!r} on {redact_url(url)}: "
                                f"{scrub(describe(exc), url)}") from None
    return channel


def _validate(args) -> None:
    if args.count < 1:
        raise common.UsageError(f"--count {args.count}: must be at least 1")
    if not 0.0 <= args.faulty <= 1.0:
        raise common.UsageError(f"--faulty {args.faulty}: must be between 0 and 1")
    if not args.rate >= 0.0:
        raise common.UsageError(f"--rate {args.rate}: must be 0 (as fast as possible) or more")


def _open(args, url: str, exchange: str):
    """(recorder or None, connection or None, channel or None), usage errors in one line."""
    recorder = None
    if args.record:
        try:
            recorder = CaptureWriter(args.record)
        except CaptureFileError as exc:
            raise common.UsageError(f"--record {exc}") from None
    if args.dry_run:
        return recorder, None, None
    connection = _connect(url)
    try:
        return recorder, connection, _check_exchange(connection, exchange, url)
    except common.UsageError:
        _close(connection)
        raise


def _publish_all(args, gen, tally, channel, recorder, exchange, make_properties) -> None:
    check = gen.checker.check
    sent_properties: dict = {}  # one pika object per content type (a fault may change it)
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    started = time.monotonic()
    for i, (example, mutant) in enumerate(gen.traffic(args.seed, args.count, args.faulty)):
        message = mutant.example if mutant is not None else example
        if interval:
            delay = started + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if channel is not None:
            content_type = message.properties.get("content_type")
            properties = sent_properties.get(content_type)
            if properties is None:
                properties = sent_properties[content_type] = make_properties(
                    content_type=content_type)
            channel.basic_publish(exchange, message.routing_key, message.body, properties)
        if recorder is not None:
            recorder.write(message.routing_key, message.body, message.properties, exchange)
        tally.add(check(message.routing_key, message.body, message.properties), mutant)


def run(args) -> int:
    _validate(args)
    gen = build_generator(args)
    exchange = args.exchange if args.exchange is not None else \
        gen.catalogue.meta["exchange"]["name"]
    url = common.bus_url(args.url)
    recorder, connection, channel = _open(args, url, exchange)
    import pika  # after the checks: a dry run needs no broker library at all

    tally = Tally()
    started = time.monotonic()
    stop = None
    try:
        with common.signals_raise_interrupted():
            _publish_all(args, gen, tally, channel, recorder, exchange, pika.BasicProperties)
    except common.Interrupted as exc:
        stop = f"signal:{exc.signame}"
    except GenerationError as exc:
        stop = f"error: cannot generate: {exc}"
    except pika.exceptions.AMQPError as exc:
        from ..sources.connection import describe
        stop = f"error: publishing to {redact_url(url)} failed: {scrub(describe(exc), url)}"
    finally:
        if recorder is not None:
            recorder.close()
        if connection is not None:
            _close(connection)
    return _report(args, gen, tally, time.monotonic() - started, stop, exchange, url)


def _report(args, gen, tally, elapsed, stop, exchange, url) -> int:
    target = "nowhere (dry run)" if args.dry_run else \
        f"exchange {exchange!r} on {redact_url(url)}"
    rate = f", {tally.sent / elapsed:.0f} msg/s" if elapsed > 0 and tally.sent else ""
    sys.stderr.write(f"published {tally.sent} messages ({tally.broken} broken) to {target} in "
                     f"{elapsed:.2f} s{rate}\n")
    extra = {"seed": args.seed, "wazo_version": gen.version_text, "exchange": exchange}
    if stop:
        extra["stopped"] = stop
    sys.stdout.write(json.dumps(tally.as_dict(**extra)) + "\n")
    sys.stdout.flush()
    if stop and stop.startswith("error:"):
        sys.stderr.write(f"wazo-bus-validator: {stop}\n")
        return 2
    return 1 if stop else 0


def _close(connection) -> None:
    try:
        connection.close()
    except Exception:
        pass
