"""The one run loop: every message from any source is checked once, counted in the
summary and handed to the sinks (ndjson, record, progress, ...)."""

from __future__ import annotations

from typing import Iterable, Protocol

from .capture import CaptureError, CaptureMeta
from .findings import MessageResult, crash_result
from .summary import Summary

RECORDED_FACTS = ("stop_reason", "may_have_lost", "lost_estimate", "gaps")


class Sink(Protocol):
    def message(self, result: MessageResult, item, where: dict) -> None: ...
    def input_error(self, line: int, message: str, where: dict) -> None: ...
    def close(self) -> None: ...


class Run:
    """Takes items (a capture's or a live source's), checks each once, hands on results."""

    def __init__(self, checker, summary: Summary, sinks: Iterable[Sink] = (), *,
                 delivery: bool = True):
        self.check = checker.check
        self.summary = summary
        self.sinks = list(sinks)
        self.index = 0  # messages seen by this run, 1-based in `where`
        self.enrich = None  # adds what follows from a result (who receives the message)
        if delivery:
            from .delivery.report import DeliveryReport
            from .delivery.stats import DeliveryStats
            if summary.delivery is None:
                summary.delivery = DeliveryStats()
            self.enrich = DeliveryReport(checker, summary.delivery).enrich

    def message(self, item, where: dict) -> MessageResult:
        """`item` has routing_key, body and properties (a CaptureItem or a Delivery)."""
        try:
            result = self.check(item.routing_key, item.body, item.properties)
        except Exception as exc:  # a checker bug must not lose the message
            result = crash_result(item.routing_key, exc)
        if self.enrich is not None:
            result = self.enrich(result, item.body)
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
        message, input_error, meta = self.message, self.input_error, self.meta
        for item in items:
            if type(item) is CaptureError:
                input_error(item.line, item.message, dict(base, line=item.line))
            elif type(item) is CaptureMeta:
                meta(item.facts)
            else:
                where = {"line": item.line}
                if base:
                    where.update(base)
                if item.received_at is not None:
                    where["received_at"] = item.received_at
                message(item, where)

    def meta(self, facts: dict) -> None:
        """A recorded capture's end line says whether its recording may have lost messages."""
        if facts.get("kind") != "end":
            return
        run = self.summary.run
        run.setdefault("recorded", []).append({k: facts.get(k) for k in RECORDED_FACTS})
        if facts.get("may_have_lost") or facts.get("gaps"):
            run["may_have_lost"] = True
            run["lost_estimate"] = (run.get("lost_estimate") or 0) + (facts.get("lost_estimate") or 0)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
