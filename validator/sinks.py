"""What a run hands each result to, besides the summary: ndjson lines, the --record capture,
the progress line on a terminal."""

from __future__ import annotations

import sys
import time

from .capture import CaptureWriter, meta_record
from .reporters import ndjson


class NdjsonSink:
    """One line per message as it is checked; `line` is the capture line or the arrival
    index (1-based)."""

    def __init__(self, out, summary, close_out: bool):
        self.out = out
        self.summary = summary
        self.close_out = close_out

    def message(self, result, item, where: dict) -> None:
        self.out.write(ndjson.line(result, where.get("line") or where.get("index"), self.summary))

    def input_error(self, line: int, message: str, where: dict) -> None:
        self.out.write(ndjson.input_error_line(line, message))

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.out.flush()
        if self.close_out:
            self.out.close()


class RecordSink:
    """`--record`: every message as a capture line (redacted with --redact), whole lines only."""

    def __init__(self, writer: CaptureWriter, redactor=None):
        self.writer = writer
        self.redactor = redactor

    def message(self, result, item, where: dict) -> None:
        body = self.redactor.redact_body(item.body) if self.redactor else item.body
        self.writer.write(item.routing_key, body, item.properties, item.exchange,
                          item.received_at)

    def input_error(self, line: int, message: str, where: dict) -> None:
        pass

    def flush(self) -> None:
        self.writer.flush()

    def end(self, **facts) -> None:
        self.writer.write_meta(meta_record("end", ended_at=time.time(),
                                           messages=self.writer.count, **facts))

    def close(self) -> None:
        self.writer.close()


class ProgressSink:
    """Messages, rate and failures so far on stderr, when it is a terminal."""

    def __init__(self, summary, enabled: bool):
        self.summary = summary
        self.enabled = enabled
        self.started = time.monotonic()
        self.last = 0.0
        self.note = ""

    def message(self, result, item, where: dict) -> None:
        if self.enabled:
            self.tick()

    def input_error(self, line: int, message: str, where: dict) -> None:
        pass

    def flush(self) -> None:
        pass

    def tick(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        s = self.summary
        rate = s.messages / max(now - self.started, 1e-9)
        sys.stderr.write(f"\r{s.messages} messages, {rate:,.0f}/s, {s.verdicts['fail']} failing, "
                         f"{s.verdicts['warn']} warning {self.note}\x1b[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
