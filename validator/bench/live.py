"""Live, on a broker: bare pika consumers against the validating ones on the same backlog.
Connections through the project's one connection module (validator/sources/connection.py),
validation through the one run loop (validator.run.Run), as listen does."""

from __future__ import annotations

import gc
import statistics
import time
import uuid as _uuid

import orjson

from ..check import Checker
from ..findings import FAIL, OK, WARN
from ..generate.traffic import Capture
from ..sources.connection import SourceError, connect, describe, one_line, parameters
from ..urls import scrub
from .baseline import new_summary
from .publish import PublishError, publish_backlog


class LiveError(Exception):
    """The live measurement could not run (one line)."""


def _publish(params, exchange, items, n, timeout) -> float:
    try:
        return publish_backlog(params, exchange, items, n, timeout)
    except PublishError as exc:
        raise LiveError(str(exc)) from None


def _warmup(n: int) -> int:
    """Deliveries left out of a live rate: the first fifth, which may already sit in socket
    and pipe buffers when timing starts (the broker sends no-ack consumers ~8k ahead)."""
    return n // 5


def _window(n: int, st: dict) -> dict:
    done = n - st["warm"]
    seconds = st["end"] - st["t_warm"]
    return {"messages": n, "timed_messages": done, "seconds": seconds, "rate": done / seconds,
            "cpu_us_per_message": (st["cpu_end"] - st["cpu_warm"]) / done * 1e6}


def _tick(st: dict, n: int) -> None:
    """Per delivery: the two timestamps of the timed window."""
    c = st["count"] = st["count"] + 1
    if c == st["warm"]:
        st["t_warm"] = time.perf_counter()
        st["cpu_warm"] = time.process_time()
    elif c == n:
        st["end"] = time.perf_counter()
        st["cpu_end"] = time.process_time()


def _pika_consume(url, params, exchange, items, n, timeout, handler) -> dict:
    """Own exclusive queue bound with #, a BlockingConnection consumer with auto_ack attached,
    a backlog of n published (the consumer not serviced meanwhile, as the sources' are not),
    then handler(method, properties, body) per delivery; timed after the warm-up."""
    conn = _connect(params, url)
    try:
        ch = conn.channel()
        queue = ch.queue_declare("", exclusive=True, auto_delete=True,
                                 arguments={"x-max-length": n + 1000}).method.queue
        ch.queue_bind(queue, exchange, routing_key="#")
        st = {"count": 0, "warm": max(1, _warmup(n)), "end": None}

        def on_message(channel, method, properties, body):
            handler(method, properties, body)
            _tick(st, n)

        ch.basic_consume(queue, on_message, auto_ack=True)
        _publish(params, exchange, items, n, timeout)
        deadline = time.perf_counter() + timeout
        while st["count"] < n and time.perf_counter() < deadline:
            conn.process_data_events(time_limit=0.1)
        if st["end"] is None:
            raise LiveError(f"consumed {st['count']} of {n} messages in {timeout:.0f} s")
        return _window(n, st)
    finally:
        if conn.is_open:
            conn.close()


def _source_consume(url, params, exchange, items, n, timeout, on_delivery,
                    in_child: bool = False) -> dict:
    """The project's source on the same kind of backlog: AmqpSource in this process, as listen
    runs it, or in a child process (ProcessSource), as listen --consumer-process does.  The backlog is published into its
    own queue when it reports 'connected'; timed after the warm-up, as _pika_consume."""
    from ..sources.amqp import AmqpSource
    from ..sources.process import ProcessSource
    st = {"count": 0, "warm": max(1, _warmup(n)), "end": None, "error": None, "published": False}

    def on_event(kind, info):
        if kind == "connected" and not st["published"]:
            st["published"] = True
            try:
                _publish(params, exchange, items, n, timeout)
            except LiveError as exc:
                st["error"] = str(exc)
                source.stop("bench: publishing failed")
            except Exception as exc:  # noqa: BLE001 - pika's own: said in one line
                st["error"] = f"publishing failed: {one_line(scrub(describe(exc), url))}"
                source.stop("bench: publishing failed")

    def deliver(d):
        on_delivery(d)
        _tick(st, n)

    try:
        source = AmqpSource(url, exchange=exchange, bindings=("#",), max_length=n + 1000,
                            reconnect=False)
        if in_child:
            source = ProcessSource(source)
        stats = source.run(deliver, max_messages=n, duration=2 * timeout + 10, on_event=on_event)
    except SourceError as exc:
        raise LiveError(str(exc)) from None
    if st["error"]:
        raise LiveError(st["error"])
    if str(stats.stop_reason).startswith("signal:"):
        raise KeyboardInterrupt
    if st["end"] is None:
        raise LiveError(f"the source stopped ({stats.stop_reason}) after {st['count']} of {n} "
                        "messages")
    out = _window(n, st)
    out["stop_reason"] = stats.stop_reason
    return out


class _Params:
    """The broker's connection parameters, through the project's one connection module."""

    def __init__(self, url: str, timeout: float):
        self.url = url
        try:
            self.params = parameters(url, connect_timeout=10)
            self.keeper = parameters(url, connect_timeout=10)
        except SourceError as exc:
            raise LiveError(str(exc)) from None
        self.params.blocked_connection_timeout = timeout
        self.keeper.heartbeat = 0  # idle between runs; a missed heartbeat would drop the exchange


def _connect(params, url: str):
    try:
        return connect(params, url)
    except SourceError as exc:
        raise LiveError(str(exc)) from None


def _expected_verdicts(checker: Checker, cycle) -> dict:
    expected = {OK: 0, WARN: 0, FAIL: 0}
    for rk, body, props in cycle:
        expected[checker.check(rk, body, props).verdict] += 1
    return expected


def _validating_run(checker: Checker):
    """(summary, the one run loop over it): what listen does with each delivery."""
    from ..run import Run
    summary = new_summary(checker, "bench live")
    return summary, Run(checker, summary)


def _pika_validating(checker: Checker):
    from ..sources.model import Delivery, properties_dict
    summary, the_run = _validating_run(checker)
    deliver, now = the_run.delivery, time.time

    def handler(method, properties, body):
        deliver(Delivery(method.routing_key, body, properties_dict(properties),
                         method.exchange, now()))
    return summary, handler


def _source_validating(checker: Checker):
    summary, the_run = _validating_run(checker)
    return summary, the_run.delivery


def _counting(*args) -> None:
    return None


def _parsing(method, properties, body) -> None:
    # The least any validator must do: parse the body (the live twin of the parse floor).
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        pass


def _variants(conn: _Params, exchange: str, checker: Checker, cycle, messages: int,
              timeout: float, use_source: bool) -> dict:
    def pika_run(make_handler):
        def run():
            summary, handler = make_handler()
            return summary, _pika_consume(conn.url, conn.params, exchange, cycle, messages, timeout,
                                          handler)
        return run

    def source_run(make_handler, in_child=False):
        def run():
            summary, on_delivery = make_handler()
            return summary, _source_consume(conn.url, conn.params, exchange, cycle, messages,
                                            timeout, on_delivery, in_child=in_child)
        return run

    variants = {
        "pika_bare": pika_run(lambda: (None, _counting)),
        "pika_parse_only": pika_run(lambda: (None, _parsing)),
        "pika_validating": pika_run(lambda: _pika_validating(checker)),
    }
    if use_source:
        variants.update({
            "source_bare": source_run(lambda: (None, _counting)),
            "listen": source_run(lambda: _source_validating(checker)),
            "listen_consumer_process": source_run(lambda: _source_validating(checker),
                                                  in_child=True),
        })
    return variants


class _Keeper:
    """The temporary exchange, held by a binding of a connection of its own: created on
    entry, deleted on exit (also on Ctrl-C); should this process die, its auto-delete
    removes it with the keeper's connection."""

    def __init__(self, conn: _Params, exchange: str):
        self.conn, self.exchange, self.connection = conn, exchange, None

    def __enter__(self):
        self.connection = _connect(self.conn.keeper, self.conn.url)
        ch = self.connection.channel()
        ch.exchange_declare(self.exchange, exchange_type="topic", durable=False,
                            auto_delete=True)
        queue = ch.queue_declare("", exclusive=True, auto_delete=True,
                                 arguments={"x-max-length": 1}).method.queue
        ch.queue_bind(queue, self.exchange, routing_key="wbv-bench-keeper")
        return self

    def service(self) -> None:
        self.connection.process_data_events(0)

    def __exit__(self, *exc):
        _delete_exchange(self.conn.params, self.conn.url, self.exchange)
        if self.connection is not None and self.connection.is_open:
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - closing: best effort
                pass


def _rounds(conn: _Params, exchange: str, variants: dict, repeats: int, expected: dict,
            progress) -> dict:
    """Every variant once per round, in alternating order; what each measured."""
    import pika.exceptions
    names = list(variants)
    out = {"rates": {k: [] for k in names}, "cpu": {k: [] for k in names}, "seen": {},
           "match": True}
    with _Keeper(conn, exchange) as keeper:
        # The capture is the bench's, not a listener's: keep it out of the collector's scans
        # (a full collection walks every tracked object; a listener has few).
        gc.collect()
        gc.freeze()
        try:
            for r in range(repeats):
                for name in names if r % 2 == 0 else names[::-1]:
                    try:
                        summary, result = variants[name]()
                    except (pika.exceptions.AMQPError, OSError) as exc:
                        raise LiveError(f"{name}: {one_line(scrub(describe(exc), conn.url))}"
                                        ) from None
                    out["rates"][name].append(result["rate"])
                    out["cpu"][name].append(result["cpu_us_per_message"])
                    if summary is not None:
                        got = {v: summary.verdicts[v] for v in (OK, WARN, FAIL)}
                        out["seen"][name] = got
                        out["match"] = out["match"] and got == expected
                    if progress:
                        progress(f"live repeat {r + 1}/{repeats}: {name} "
                                 f"{result['rate']:,.0f} msg/s, {result['cpu_us_per_message']:.1f}"
                                 " us of this process's CPU per message")
                    keeper.service()
        finally:
            gc.unfreeze()
    return out


RATIOS = {  # name -> (consumer, reference)
    "pika_validating_vs_pika_bare": ("pika_validating", "pika_bare"),
    "pika_parse_only_vs_pika_bare": ("pika_parse_only", "pika_bare"),
    "listen_vs_pika_bare": ("listen", "pika_bare"),
    "listen_vs_pika_parse_only": ("listen", "pika_parse_only"),
    "listen_consumer_process_vs_pika_bare": ("listen_consumer_process", "pika_bare"),
    "listen_vs_source_bare": ("listen", "source_bare"),
    "source_bare_vs_pika_bare": ("source_bare", "pika_bare"),
}


def run_live(url: str, checker: Checker, capture: Capture, *, messages: int = 50_000,
             repeats: int = 7, timeout: float = 120.0,
             use_source: bool = True, progress=None) -> dict:
    """Bare vs validating consumers on the same backlog, alternating order, medians.

    A uniquely named, non-durable, auto-delete topic exchange `wbv-bench-<random>` is created
    and deleted afterwards (_Keeper). Variants:
      pika_bare        BlockingConnection, auto_ack, counts only (the ceiling of a consumer);
      pika_parse_only  the same loop + orjson.loads (what any validator must at least do);
      pika_validating  the same loop + the run loop (validator.run.Run, as listen);
      source_bare      validator.sources.amqp.AmqpSource in this process, counting only;
      listen           what listen does: AmqpSource + the run loop;
      listen_consumer_process  listen --consumer-process: AmqpSource in a child process
                       (ProcessSource), the run loop in this one.
    Each rate is over the deliveries after the first fifth (see _warmup). Many short rounds
    rather than a few long ones: the machine's speed drifts, and a round's ratio only holds
    when its consumers ran under the same conditions.
    """
    conn = _Params(url, timeout)
    exchange = f"wbv-bench-{_uuid.uuid4().hex[:12]}"
    items = capture.items
    cycle = [items[i % len(items)] for i in range(messages)]
    expected = _expected_verdicts(checker, cycle)
    variants = _variants(conn, exchange, checker, cycle, messages, timeout, use_source)
    got = _rounds(conn, exchange, variants, repeats, expected, progress)
    rates, cpu = got["rates"], got["cpu"]

    def paired(a, b):
        if a not in rates or b not in rates:
            return None
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    cpu_med = {k: statistics.median(v) for k, v in cpu.items() if v}
    return {
        "exchange": exchange,
        "messages": messages,
        "repeats": repeats,
        "rates": {k: statistics.median(v) for k, v in rates.items() if v},
        "rates_all": rates,
        "cpu_us_per_message": cpu_med,
        "cpu_us_beyond_parse_only": (
            statistics.median(a - b for a, b in zip(cpu["listen"], cpu["pika_parse_only"]))
            if "listen" in cpu else None),
        "ratios": {k: paired(a, b) for k, (a, b) in RATIOS.items()},
        "verdicts_expected": expected,
        "verdicts_seen": got["seen"],
        "verdicts_match": got["match"],
        "source": "validator.sources.amqp.AmqpSource" if use_source else None,
        "note": None if use_source else "AmqpSource variants skipped (--no-source)",
    }


def _delete_exchange(params, url: str, exchange: str) -> None:
    try:
        conn = _connect(params, url)
    except LiveError:
        return  # the keeper's auto-delete removes it once its connection is gone
    try:
        conn.channel().exchange_delete(exchange)
    except Exception:  # noqa: BLE001 - cleaning up: best effort
        pass
    finally:
        if conn.is_open:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
