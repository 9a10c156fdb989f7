"""Live, on a broker: bare pika consumers against the validating ones on the same backlog.
(Moved as it was from validator/bench.py; to be re-pointed to the shared AMQP module.)"""

from __future__ import annotations

import gc
import statistics
import time
import uuid as _uuid

import orjson

from ..check import Checker
from ..findings import FAIL, OK, WARN
from ..generate.traffic import Capture
from .baseline import new_summary


class LiveError(Exception):
    """The live measurement could not run (one line)."""


def _basic_properties(props: dict | None):
    import pika
    props = props or {}
    return pika.BasicProperties(content_type=props.get("content_type"),
                                headers=props.get("headers"))


def publish_backlog(params, exchange: str, items, n: int, timeout: float) -> float:
    """Publish `n` messages (cycling `items`) with publisher confirms; returns once the broker
    confirmed them all (they are in the bound queues). A SelectConnection publishes ~2.5x
    faster than BlockingConnection, which flushes the socket on every publish."""
    import pika
    from pika.adapters.select_connection import SelectConnection

    cache: dict = {}
    st = {"sent": 0, "confirmed": 0, "nacked": 0, "error": None, "done": False,
          "scheduled": False, "stalled": False, "ch": None}
    window, batch = 5000, 250
    t0 = time.perf_counter()

    def props_for(p):
        bp = cache.get(id(p))
        if bp is None:
            bp = cache[id(p)] = (_basic_properties(p), p)
        return bp[0]

    def schedule():
        if not st["scheduled"]:
            st["scheduled"] = True
            conn.ioloop.call_later(0, pump)

    def pump():
        st["scheduled"] = False
        ch = st["ch"]
        if ch is None or not ch.is_open:
            return
        k = 0
        m = len(items)
        while st["sent"] < n and st["sent"] - st["confirmed"] < window and k < batch:
            rk, body, p = items[st["sent"] % m]
            ch.basic_publish(exchange, rk, body, props_for(p))
            st["sent"] += 1
            k += 1
        if st["sent"] < n:
            if st["sent"] - st["confirmed"] < window:
                schedule()
            else:
                st["stalled"] = True

    def on_confirm(frame):
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            st["nacked"] += 1
        st["confirmed"] = max(st["confirmed"], method.delivery_tag)
        if st["confirmed"] >= n:
            st["done"] = True
            conn.close()
        elif st["stalled"] and st["sent"] - st["confirmed"] < window:
            st["stalled"] = False
            schedule()

    def on_channel(ch):
        st["ch"] = ch
        ch.add_on_close_callback(on_channel_closed)
        ch.confirm_delivery(ack_nack_callback=on_confirm, callback=lambda frame: pump())

    def on_channel_closed(ch, reason):
        if not st["done"]:
            st["error"] = f"publisher channel closed: {reason}"
            if conn.is_open:
                conn.close()

    def on_open_error(c, err):
        st["error"] = f"publisher cannot connect: {err}"
        c.ioloop.stop()

    def on_timeout():
        st["error"] = f"publishing {n} messages took more than {timeout:.0f} s"
        if conn.is_open:
            conn.close()

    conn = SelectConnection(params,
                            on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                            on_open_error_callback=on_open_error,
                            on_close_callback=lambda c, reason: c.ioloop.stop())
    conn.ioloop.call_later(timeout, on_timeout)
    try:
        conn.ioloop.start()
    finally:
        if conn.is_open:
            try:
                conn.close()
                conn.ioloop.start()
            except Exception:
                pass
    if st["error"] or not st["done"]:
        raise LiveError(st["error"] or "publishing stopped early")
    if st["nacked"]:
        raise LiveError(f"the broker refused {st['nacked']} published messages")
    return time.perf_counter() - t0


def _props_of(properties) -> dict:
    out = {}
    if properties.content_type is not None:
        out["content_type"] = properties.content_type
    if properties.headers:
        out["headers"] = properties.headers
    return out


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


def _pika_consume(params, exchange, items, n, timeout, handler) -> dict:
    """Own exclusive queue bound with #, a BlockingConnection consumer with auto_ack attached,
    a backlog of n published (the consumer not serviced meanwhile, as the sources' are not),
    then handler(method, properties, body) per delivery; timed after the warm-up."""
    import pika
    conn = pika.BlockingConnection(params)
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
        publish_backlog(params, exchange, items, n, timeout)
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
    from ..sources.amqp import AmqpSource, SourceError
    from ..sources.process import ProcessSource
    st = {"count": 0, "warm": max(1, _warmup(n)), "end": None, "error": None, "published": False}

    def on_event(kind, info):
        if kind == "connected" and not st["published"]:
            st["published"] = True
            try:
                publish_backlog(params, exchange, items, n, timeout)
            except Exception as exc:  # LiveError, or pika's own
                st["error"] = str(exc) if isinstance(exc, LiveError) else \
                    f"publishing failed: {_why(exc)}"
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


def run_live(url: str, checker: Checker, capture: Capture, *, messages: int = 50_000,
             repeats: int = 7, timeout: float = 120.0,
             use_source: bool = True, progress=None) -> dict:
    """Bare vs validating consumers on the same backlog, alternating order, medians.

    A uniquely named, non-durable, auto-delete topic exchange `wbv-bench-<random>` is created
    and deleted afterwards (also on Ctrl-C; a held keeper binding keeps it between runs and,
    should this process die, its auto-delete removes it with the keeper's connection).
    Variants:
      pika_bare        BlockingConnection, auto_ack, counts only (the ceiling of a consumer);
      pika_parse_only  the same loop + orjson.loads (what any validator must at least do);
      pika_validating  the same loop + Checker.check + Summary.add;
      source_bare      validator.sources.amqp.AmqpSource in this process, counting only;
      listen           what listen does: AmqpSource + Checker.check + Summary.add;
      listen_consumer_process  listen --consumer-process: AmqpSource in a child process
                       (ProcessSource), Checker.check + Summary.add in this one.
    Each rate is over the deliveries after the first fifth (see _warmup). Many short rounds
    rather than a few long ones: the machine's speed drifts, and a round's ratio only holds
    when its consumers ran under the same conditions.
    """
    import pika

    from ..urls import redact_url, scrub
    where = redact_url(url)
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise LiveError(f"--url {where}: {scrub(str(exc), url)}") from None
    params.socket_timeout = 10
    params.blocked_connection_timeout = timeout
    exchange = f"wbv-bench-{_uuid.uuid4().hex[:12]}"
    items = capture.items
    expected = {OK: 0, WARN: 0, FAIL: 0}
    cycle = [items[i % len(items)] for i in range(messages)]
    for rk, body, props in cycle:
        expected[checker.check(rk, body, props).verdict] += 1

    def validating_pika():
        summary = new_summary(checker, "bench live")
        check, add, now = checker.check, summary.add, time.time

        def handler(method, properties, body):
            add(check(method.routing_key, body, _props_of(properties)), body,
                where={"index": summary.messages + 1, "received_at": now()})
        return summary, handler

    def validating_source():
        summary = new_summary(checker, "bench live")
        check, add = checker.check, summary.add

        def on_delivery(d):
            add(check(d.routing_key, d.body, d.properties), d.body,
                where={"index": summary.messages + 1, "received_at": d.received_at})
        return summary, on_delivery

    def counting(*args):
        return None

    def parsing(method, properties, body):
        # The least any validator must do: parse the body (the live twin of the parse floor).
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            pass

    def pika_run(make_handler):
        def run():
            summary, handler = make_handler()
            return summary, _pika_consume(params, exchange, cycle, messages, timeout, handler)
        return run

    def source_run(make_handler, in_child=False):
        def run():
            summary, on_delivery = make_handler()
            return summary, _source_consume(url, params, exchange, cycle, messages, timeout,
                                            on_delivery, in_child=in_child)
        return run

    variants = {
        "pika_bare": pika_run(lambda: (None, counting)),
        "pika_parse_only": pika_run(lambda: (None, parsing)),
        "pika_validating": pika_run(validating_pika),
    }
    source_note = None
    if use_source:
        variants.update({
            "source_bare": source_run(lambda: (None, counting)),
            "listen": source_run(validating_source),
            "listen_consumer_process": source_run(validating_source, in_child=True),
        })
    else:
        source_note = "AmqpSource variants skipped (--no-source)"

    keeper = None
    rates: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    verdicts_ok = True
    seen_verdicts = {}
    try:
        keeper_params = pika.URLParameters(url)
        keeper_params.heartbeat = 0  # idle between runs; a missed heartbeat would drop the exchange
        try:
            keeper = pika.BlockingConnection(keeper_params)
        except Exception as exc:
            raise LiveError(f"cannot connect to {where}: {scrub(_why(exc), url)}") from None
        kch = keeper.channel()
        kch.exchange_declare(exchange, exchange_type="topic", durable=False, auto_delete=True)
        kq = kch.queue_declare("", exclusive=True, auto_delete=True,
                               arguments={"x-max-length": 1}).method.queue
        kch.queue_bind(kq, exchange, routing_key="wbv-bench-keeper")
        names = list(variants)
        # The capture is the bench's, not a listener's: keep it out of the collector's scans
        # (a full collection walks every tracked object; a listener has few).
        gc.collect()
        gc.freeze()
        for r in range(repeats):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                try:
                    summary, result = variants[name]()
                except (pika.exceptions.AMQPError, OSError) as exc:
                    raise LiveError(f"{name}: {scrub(_why(exc), url)}") from None
                rates[name].append(result["rate"])
                cpu[name].append(result["cpu_us_per_message"])
                if summary is not None:
                    got = {v: summary.verdicts[v] for v in (OK, WARN, FAIL)}
                    seen_verdicts[name] = got
                    verdicts_ok = verdicts_ok and got == expected
                if progress:
                    progress(f"live repeat {r + 1}/{repeats}: {name} {result['rate']:,.0f} msg/s, "
                             f"{result['cpu_us_per_message']:.1f} us of this process's CPU "
                             "per message")
                keeper.process_data_events(0)  # keep the keeper's connection serviced
    finally:
        gc.unfreeze()
        _delete_exchange(params, exchange)
        if keeper is not None and keeper.is_open:
            try:
                keeper.close()
            except Exception:
                pass

    med = {k: statistics.median(v) for k, v in rates.items() if v}

    def paired(a, b):
        if a not in rates or b not in rates:
            return None
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    return {
        "exchange": exchange,
        "messages": messages,
        "repeats": repeats,
        "rates": med,
        "rates_all": rates,
        "cpu_us_per_message": {k: statistics.median(v) for k, v in cpu.items() if v},
        "ratios": {
            "pika_validating_vs_pika_bare": paired("pika_validating", "pika_bare"),
            "pika_parse_only_vs_pika_bare": paired("pika_parse_only", "pika_bare"),
            "listen_vs_pika_bare": paired("listen", "pika_bare"),
            "listen_consumer_process_vs_pika_bare": paired("listen_consumer_process",
                                                           "pika_bare"),
            "listen_vs_source_bare": paired("listen", "source_bare"),
            "source_bare_vs_pika_bare": paired("source_bare", "pika_bare"),
        },
        "verdicts_expected": expected,
        "verdicts_seen": seen_verdicts,
        "verdicts_match": verdicts_ok,
        "source": "validator.sources.amqp.AmqpSource" if not source_note else None,
        "note": source_note,
    }


def _why(exc: BaseException) -> str:
    """The innermost reason of a pika connection error, in one line."""
    for _ in range(6):
        inner = getattr(exc, "exception", None)  # pika's connector errors
        if not isinstance(inner, BaseException):
            many = getattr(exc, "exceptions", None)  # pika's connection workflow
            inner = many[-1] if many else None
        if not isinstance(inner, BaseException) and exc.args:
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _delete_exchange(params, exchange: str) -> None:
    import pika
    try:
        conn = pika.BlockingConnection(params)
    except Exception:
        return  # the keeper's auto-delete removes it once its connection is gone
    try:
        conn.channel().exchange_delete(exchange)
    except Exception:
        pass
    finally:
        if conn.is_open:
            try:
                conn.close()
            except Exception:
                pass
