"""The one run loop: every message from any source is checked once, counted in the
summary and handed to the sinks (ndjson, record, progress, ...)."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Protocol

import orjson

from .capture import CaptureError, CaptureMeta, items_of, message_fields, parse_line
from .check.template import MISSING
from .codes import matches
from .findings import FAIL, MessageResult, crash_result, verdict_of
from .summary import Summary, where_of

_loads, _JSONDecodeError = orjson.loads, orjson.JSONDecodeError
RECORDED_FACTS = ("stop_reason", "may_have_lost", "lost_estimate", "gaps")
LANES_KEPT = 2000  # names with a lane (bounded: an open family has endless names)
BATCH = 4096  # messages counted at once (the lanes' counts, every message's timeline place)


class Sink(Protocol):
    def message(self, result: MessageResult, item, where: dict) -> None: ...
    def input_error(self, line: int, message: str, where: dict) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


def without(result: MessageResult, ignore: frozenset) -> MessageResult:
    kept = tuple(f for f in result.findings if not matches(f.code, ignore))
    if len(kept) == len(result.findings):
        return result
    return MessageResult(result.name, result.routing_key, verdict_of(kept), kept)


class Run:
    """Takes items (a capture's or a live source's), checks each once, hands on results."""

    def __init__(self, checker, summary: Summary, sinks: Iterable[Sink] = (), *,
                 delivery=True, ignore: frozenset = frozenset()):
        """`delivery`: simulate who receives each message (True), not (False), or with a
        DeliveryReport shared by several runs of one checker. `ignore`: codes or prefixes
        this run leaves out of its results, beyond the checker's own --ignore (a pytest
        test's marker)."""
        self.checker = checker
        # (result, decoded body): the delivery simulation reads the body the checker decoded
        self.check_parsed = getattr(checker, "check_parsed", None) or (
            lambda rk, body, props, decoded=None: (checker.check(rk, body, props), MISSING))
        self.summary = summary
        self.sinks = list(sinks)
        self.index = 0  # messages seen by this run, 1-based in `where`
        self.enrich = None  # adds what follows from a result (who receives the message)
        self.delivery_report = None
        self.ignore = frozenset(ignore)
        if delivery:
            from .delivery.report import DeliveryReport
            from .delivery.stats import DeliveryStats
            if summary.delivery is None:
                summary.delivery = DeliveryStats()
            report = delivery if isinstance(delivery, DeliveryReport) else DeliveryReport(checker)
            self.delivery_report = report
            self.enrich = report.enrich
            self.delivery_stats = summary.delivery
        # name -> how a message of it with no finding is counted (replay_lines' lane)
        self._lanes: dict = {}

    def result_of(self, routing_key, body: bytes, properties, decoded=None) -> MessageResult:
        """The message's result: checked, its delivery added, this run's ignored codes left
        out. `decoded`: its body as orjson decoded it already (a capture's payload), or
        None."""
        try:
            result, msg = self.check_parsed(routing_key, body, properties, decoded)
        except Exception as exc:  # a checker bug must not lose the message
            result, msg = crash_result(routing_key, exc), MISSING
        return self.finish(result, body, msg)

    def finish(self, result: MessageResult, body: bytes, msg) -> MessageResult:
        """The checker's result with its delivery added and this run's ignored codes left
        out. `msg`: the body as the checker decoded it, or MISSING."""
        if self.enrich is not None:
            result = self.enrich(result, body, self.delivery_stats, msg)
        if self.ignore and result.findings:
            result = without(result, self.ignore)
        return result

    def message(self, item, where: dict, decoded=None) -> MessageResult:
        """`item` has routing_key, body and properties (a CaptureItem or a Delivery)."""
        result = self.result_of(item.routing_key, item.body, item.properties, decoded)
        self.summary.add(result, item.body, where=where)
        for sink in self.sinks:
            sink.message(result, item, where)
        return result

    def delivery(self, d) -> MessageResult:
        """A live delivery: numbered in arrival order, stamped with its arrival time."""
        self.index += 1
        return self.message(d, {"index": self.index, "received_at": d.received_at})

    def input_error(self, line: int, message: str, where: dict) -> None:
        self.summary.add_input_error(line, message, where)
        for sink in self.sinks:
            sink.input_error(line, message, where)

    def replay(self, items, file_index: int | None = None, file_name: str | None = None) -> None:
        """A capture's items, in order: messages, unreadable lines and metadata lines."""
        base = {} if file_index is None else {"file_index": file_index, "file": file_name}
        if self.sinks:
            return self._replay_to_sinks(items, base)
        for item in items:
            self._item(item, base)

    def replay_lines(self, lines, first_line: int = 1, file_index: int | None = None,
                     file_name: str | None = None) -> None:
        """A capture's lines (bytes), in order, the first numbered `first_line`."""
        if self.sinks:
            return self.replay(items_of(lines, first_line), file_index, file_name)
        base = {} if file_index is None else {"file_index": file_index, "file": file_name}
        # The commonest line is read here, without a CaptureItem; any other (unreadable,
        # metadata, base64) is read again by parse_line. No sink: the summary builds a
        # message's `where` only when it keeps a sample of it (most messages need none).
        # What is not counted yet: the names of the messages the lanes took, and every
        # message's line and time (and the failing ones'), for the timeline. A batch costs
        # less counted at once (a Counter, the timeline's add_many) than each message's
        # increments; a stop (an exception) counts what was taken.
        batch = ([], [], [], [], [])
        try:
            self._read_lines(lines, first_line, base, batch)
        finally:
            self._count_batch(*batch)

    def _read_lines(self, lines, first_line: int, base: dict, batch: tuple) -> None:
        check_parsed, finish, add_line = self.check_parsed, self.finish, self.summary.add_line
        lanes, (lane_names, lines_seen, times_seen, failed_lines, failed_times) = self._lanes, batch
        for line_no, raw in enumerate(lines, first_line):
            try:
                obj = _loads(raw)
            except _JSONDecodeError:
                obj = None
            fields = message_fields(obj) if type(obj) is dict else None
            if fields is None:
                item = parse_line(line_no, raw)
                if item is not None:
                    self._item(item, base)
                continue
            routing_key, body, properties, _, received_at, decoded = fields
            try:  # result_of's first half, here: three calls fewer a conforming message
                result, msg = check_parsed(routing_key, body, properties, decoded)
            except Exception as exc:  # a checker bug must not lose the message
                result, msg = crash_result(routing_key, exc), MISSING
            if not result.findings and result.name in lanes:
                lane_names.append(result.name)
            else:
                result = finish(result, body, msg)
                add_line(result, body, line_no, received_at, base, False)
                if result.verdict == FAIL:
                    failed_lines.append(line_no)
                    if received_at is not None:
                        failed_times.append(received_at)
                if not result.findings and len(lanes) < LANES_KEPT:
                    self._open_lane(result.name)
            lines_seen.append(line_no)  # (every message's place in the timeline)
            if received_at is not None:
                times_seen.append(received_at)
            if len(lines_seen) >= BATCH:
                self._count_batch(*batch)

    def _count_batch(self, names: list, lines: list, times: list, failed_lines: list,
                     failed_times: list) -> None:
        """What finish() and add_line() count for the messages of these names (with no
        finding, each with a lane), and the timeline of every message since the last batch
        (its lines and times, those of the failing ones); the lists emptied."""
        for name, n in Counter(names).items():
            stats, delivered, counted = self._lanes[name]
            stats.count += n
            stats.ok += n
            if delivered is not None:
                tally = delivered.tally  # replaced when settled: read each time
                tally[counted] = tally.get(counted, 0) + n
        self.summary.messages += len(names)
        if self.summary.timeline is not None:
            self.summary.timeline.add_many(lines, times, failed_lines, failed_times)
        for pending in (names, lines, times, failed_lines, failed_times):
            pending.clear()

    def _open_lane(self, name: str) -> None:
        """replay_lines' lane for messages of `name` with no finding, once the summary and
        the delivery each count them without reading them (summary.ok_counts,
        DeliveryReport.conforming_count)."""
        stats = self.summary.ok_counts(name)
        if stats is None:
            return
        if self.delivery_report is None:
            self._lanes[name] = (stats, None, None)
            return
        counted = self.delivery_report.conforming_count(name, self.delivery_stats)
        if counted is not None:
            self._lanes[name] = (stats, *counted)

    def _item(self, item, base: dict) -> None:
        kind = type(item)
        if kind is CaptureError:
            self.input_error(item.line, item.message, dict(base, line=item.line))
        elif kind is CaptureMeta:
            self.meta(item.facts)
        else:
            self.summary.add_line(
                self.result_of(item.routing_key, item.body, item.properties, item.decoded),
                item.body, item.line, item.received_at, base)

    def _replay_to_sinks(self, items, base: dict) -> None:
        """replay() when sinks take each message with its `where`."""
        message, input_error, meta = self.message, self.input_error, self.meta
        for item in items:
            if type(item) is CaptureError:
                input_error(item.line, item.message, dict(base, line=item.line))
            elif type(item) is CaptureMeta:
                meta(item.facts)
            else:
                message(item, where_of(item.line, item.received_at, base), item.decoded)

    def meta(self, facts: dict) -> None:
        """A recorded capture's end line says whether its recording may have lost messages."""
        if facts.get("kind") != "end":
            return
        run = self.summary.run
        run.setdefault("recorded", []).append({k: facts.get(k) for k in RECORDED_FACTS})
        if facts.get("may_have_lost") or facts.get("gaps"):
            run["may_have_lost"] = True
            run["lost_estimate"] = (run.get("lost_estimate") or 0) + (facts.get("lost_estimate") or 0)

    def flush(self) -> None:
        """What the sinks hold goes out (a live run calls it after each slice of I/O, so
        that --record and ndjson files follow the bus)."""
        for sink in self.sinks:
            sink.flush()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
