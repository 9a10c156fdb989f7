"""What the live sources hand over and report: deliveries, gaps, run statistics, and one
connection's channels."""

from __future__ import annotations

import datetime as _dt
import decimal
import logging
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import pika

_LOG = logging.getLogger("validator.sources.amqp")


class Delivery(NamedTuple):
    """One message as the live source hands it over: a tuple, made in one allocation on
    listen's per-message path."""
    routing_key: str | None
    body: bytes
    properties: dict      # JSON-able; only the properties that are set; read-only (shared)
    exchange: str
    received_at: float    # time.time()


@dataclass
class Gap:
    start: float          # epoch seconds when the connection was lost
    end: float | None     # when consuming resumed (None if never resumed)
    reason: str


@dataclass
class SourceStats:
    stop_reason: str      # 'duration' | 'max-messages' | 'idle' | 'signal:SIGTERM' | 'signal:SIGINT' | 'stopped' | 'broker-gone'
    messages: int
    gaps: list[Gap]
    reconnects: int
    peak_backlog: int
    may_have_lost: bool
    lost_estimate: int
    queue_max_length: int
    started_at: float
    ended_at: float
    # a stop's drain cut short (DRAIN_MAX, or a second Ctrl-C): what was received but not
    # handed over plus what the private queue still held; more may have been on their way
    # (may_have_lost is set)
    undrained: int = 0


# --------------------------------------------------------------------------
# helpers


class _ConnectionLost(Exception):
    def __init__(self, reason: str, at: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.at = time.time() if at is None else at


class _CallbackFailed(Exception):
    """Carries an exception raised by the user's callback through pika."""

    def __init__(self, exc: BaseException):
        super().__init__(repr(exc))
        self.exc = exc


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)      # pika decodes 64-bit ints as a private int subclass
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(_jsonable(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


def _fields(*fields) -> tuple:
    """A Delivery's fields as a plain tuple: run(raw=True)'s delivery."""
    return fields


def properties_dict(props: pika.spec.BasicProperties | None) -> dict:
    """The properties that are set, JSON-able (on every message: kept cheap)."""
    if props is None:
        return {}
    out: dict[str, Any] = {}
    # pika's BasicProperties keeps exactly its 14 fields in __dict__, unset ones None.
    for name, value in props.__dict__.items():
        if value is not None:
            out[name] = value if type(value) is str else _jsonable(value)
    return out


class _Session:
    """One connection: consuming channel + backlog-poll channel."""

    def __init__(self, connection: pika.BlockingConnection, channel, poll_channel, queue: str):
        self.connection = connection
        self.channel = channel
        self.poll_channel = poll_channel
        self.queue = queue
        self.consumer_tag: str | None = None
        self.cancelled: str | None = None
        self.reader = None   # frames.DeliveryReader of a private queue's consumer

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except Exception as exc:  # already dead, or died while closing
            _LOG.debug("ignoring error while closing connection: %s", type(exc).__name__)
