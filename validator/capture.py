"""The capture format: one JSON object per line, what `listen --record` writes and `check`
replays.

    {"routing_key": "status.agent",            # a string, or null when unknown
     "body": "{\"name\": ...}",                # the raw body as text, or
     "body_base64": "eyJuYW1lIjog...",         # the raw bytes (a body that is not UTF-8), or
     "payload": {"name": ...},                 # a JSON value, serialized for you
     "properties": {"content_type": "application/json", "headers": {}},   # optional
     "exchange": "xivo", "received_at": 1700000000.123}                   # optional

A line that cannot be read is yielded as a CaptureError carrying its 1-based line number:
the checker reports it as finding X900 and goes on with the next line.

`listen --record` also writes two metadata lines, {"meta": {"kind": "start", ...}} first and
{"meta": {"kind": "end", "may_have_lost": ..., "gaps": [...]}} last: they are not messages,
and `check` reports what they say (a capture that may have lost messages says so).
"""

from __future__ import annotations

import base64
import binascii
import io
import os
from pathlib import Path
from typing import IO, Iterable, Iterator

import orjson

from .record import MutableRecord


class CaptureFileError(Exception):
    """The capture file itself cannot be read (a one-line usage error)."""


class CaptureItem(MutableRecord):
    """A message of a capture. `decoded`: a payload line's object, which is its body as
    orjson reads it (the checker need not read the body again), else None."""

    # Plain classes, not dataclasses: defining a dataclass cost ~3.5M instructions at
    # every start-up.
    __slots__ = ("line", "routing_key", "body", "properties", "exchange", "received_at",
                 "decoded")

    def __init__(self, line: int, routing_key: str | None, body: bytes,
                 properties: dict | None, exchange: str | None = None,
                 received_at: float | None = None, decoded: dict | None = None):
        self.line, self.routing_key, self.body, self.properties = (line, routing_key, body,
                                                                   properties)
        self.exchange, self.received_at, self.decoded = exchange, received_at, decoded


class CaptureMeta(MutableRecord):
    __slots__ = ("line", "facts")

    def __init__(self, line: int, facts: dict):
        self.line, self.facts = line, facts


class CaptureError(MutableRecord):
    __slots__ = ("line", "message")

    def __init__(self, line: int, message: str):
        self.line, self.message = line, message


BODY_KEYS = ("body", "body_base64", "payload")
_new_item = object.__new__


def parse_line(line_no: int, raw: bytes) -> CaptureItem | CaptureMeta | CaptureError | None:
    try:
        obj = orjson.loads(raw)  # orjson skips the surrounding whitespace itself
    except orjson.JSONDecodeError:
        raw = raw.strip()
        if not raw:
            return None
        try:  # again without the whitespace, so that the error's position counts from it
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return CaptureError(line_no, f"not a JSON object: {exc}")
    if type(obj) is not dict:
        return CaptureError(line_no, "not a JSON object")
    fields = message_fields(obj)
    if fields is None:
        return _parse_object(line_no, obj)
    # Built without the class's __init__ (a Python call): what it would store.
    item = _new_item(CaptureItem)
    item.line = line_no
    item.routing_key, item.body, item.properties, item.exchange, item.received_at, \
        item.decoded = fields
    return item


def message_fields(obj: dict) -> tuple | None:
    """(routing_key, body, properties, exchange, received_at, decoded) of the commonest
    lines, a text body (what listen --record writes) or an object payload, read in one go;
    None for any other line, which _parse_object reads and says what is wrong with."""
    body = obj.get("body")
    decoded = None
    if type(body) is str:
        if "body_base64" in obj or "payload" in obj:
            return None
        try:
            body = body.encode()
        except UnicodeEncodeError:  # a lone surrogate: kept as the invalid UTF-8 it stood for
            body = body.encode("utf-8", "surrogatepass")
    elif body is None and "body" not in obj and "body_base64" not in obj and type(
            obj.get("payload")) is dict:
        decoded = obj["payload"]
        body = _serialize(decoded)
    else:
        return None
    routing_key = obj.get("routing_key")
    properties = obj.get("properties")
    if ((routing_key is None or type(routing_key) is str)
            and (properties is None or type(properties) is dict)):
        received_at = obj.get("received_at")
        if received_at is not None and type(received_at) is not float and not isinstance(
                received_at, int):
            received_at = None
        exchange = obj.get("exchange")
        return (routing_key, body, properties, exchange if type(exchange) is str else None,
                received_at, decoded)
    return None


def _parse_object(line_no: int, obj: dict) -> CaptureItem | CaptureMeta | CaptureError:
    if "meta" in obj and not any(k in obj for k in BODY_KEYS):
        if not isinstance(obj["meta"], dict):
            return CaptureError(line_no, "meta must be an object")
        return CaptureMeta(line_no, obj["meta"])
    given = [k for k in BODY_KEYS if k in obj]
    if len(given) != 1:
        return CaptureError(line_no, "needs exactly one of body, body_base64, payload"
                            + (f" (has {', '.join(given)})" if given else ""))
    routing_key = obj.get("routing_key")
    if routing_key is not None and not isinstance(routing_key, str):
        return CaptureError(line_no, "routing_key must be a string or null")
    properties = obj.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return CaptureError(line_no, "properties must be an object")
    key = given[0]
    value = obj[key]
    if key == "body" and isinstance(value, str):
        # surrogatepass keeps a lone surrogate as the invalid UTF-8 it stood for.
        body = value.encode("utf-8", "surrogatepass")
    elif key == "body_base64":
        if not isinstance(value, str):
            return CaptureError(line_no, "body_base64 must be a base64 string")
        try:
            body = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            return CaptureError(line_no, f"body_base64 is not base64: {exc}")
    else:
        # `payload`, or a `body` written as a JSON value rather than as text: serialize it.
        body = _serialize(value)
    received_at = obj.get("received_at")
    if received_at is not None and not isinstance(received_at, (int, float)):
        received_at = None
    exchange = obj.get("exchange") if isinstance(obj.get("exchange"), str) else None
    return CaptureItem(line_no, routing_key, body, properties, exchange, received_at,
                       value if key == "payload" and type(value) is dict else None)


def _serialize(value) -> bytes:
    """A capture's JSON value as a body. orjson read it, so it holds nothing orjson cannot
    write back (an integer wider than 64 bits was read as a float): compact JSON, UTF-8."""
    return orjson.dumps(value)


GZIP_MAGIC = b"\x1f\x8b"


def open_capture(path: str | os.PathLike | IO[bytes]) -> tuple[IO[bytes], bool]:
    """(a binary stream of JSONL, whether to close it). A gzip capture is read as such,
    whatever its name, from a file or from a pipe."""
    if hasattr(path, "read"):
        stream = path if hasattr(path, "peek") else io.BufferedReader(path)
        close = False
    else:
        p = Path(path)
        if p.is_dir():
            raise CaptureFileError(f"{p}: is a directory, not a capture file")
        try:
            stream, close = open(p, "rb"), True
        except OSError as exc:
            raise CaptureFileError(f"{p}: {exc.strerror or exc}") from None
    try:
        compressed = stream.peek(2)[:2] == GZIP_MAGIC
    except OSError as exc:
        raise CaptureFileError(f"{path}: {exc.strerror or exc}") from None
    if compressed:
        import gzip  # here: most captures are plain, and its import costs start-up
        return gzip.GzipFile(fileobj=stream, mode="rb"), True
    return stream, close


def raw_lines(path: str | os.PathLike | IO[bytes]) -> Iterator[bytes]:
    """The capture's lines as bytes, streaming (captures can be large)."""
    stream, close = open_capture(path)
    try:
        yield from stream
    except (OSError, EOFError) as exc:  # gzip's BadGzipFile is an OSError
        raise _unreadable(getattr(path, "name", path), exc) from None
    finally:
        if close:
            stream.close()


def chunk_lines(data: bytes) -> Iterator[bytes]:
    """The lines of a buffer of whole capture lines. BytesIO finds a line's end with memchr;
    bytes.split tests byte after byte (~5% of a message's instructions)."""
    return iter(io.BytesIO(data))


def items_of(lines: Iterable[bytes], first_line: int = 1
             ) -> Iterator[CaptureItem | CaptureMeta | CaptureError]:
    """The items of capture lines and their unreadable lines, the first numbered
    `first_line`."""
    for line_no, raw in enumerate(lines, start=first_line):
        item = parse_line(line_no, raw)
        if item is not None:
            yield item


def read_capture(path: str | os.PathLike | IO[bytes], first_line: int = 1
                 ) -> Iterator[CaptureItem | CaptureMeta | CaptureError]:
    """Yield the capture's items and unreadable lines, streaming."""
    return items_of(raw_lines(path), first_line)


def _unreadable(name, exc: Exception) -> CaptureFileError:
    return CaptureFileError(f"{name}: cannot be read: {getattr(exc, 'strerror', None) or exc}")


def read_bytes(path: str, start: int, end: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(end - start)
    except OSError as exc:
        raise _unreadable(path, exc) from None


def line_bounds(path: str, cuts: list[int]) -> list[tuple[int, int]]:
    """[(start byte, end byte)]: the file's ranges of whole lines, each cut at the first line
    end from one of `cuts` (ascending byte offsets); no empty range."""
    size = os.path.getsize(path)
    bounds = [0]
    with open(path, "rb") as f:
        for cut in cuts:
            f.seek(max(cut, bounds[-1]))
            f.readline()
            bounds.append(min(f.tell(), size))
    bounds.append(size)
    return [(start, end) for start, end in zip(bounds, bounds[1:]) if end > start]


def meta_record(kind: str, **facts) -> bytes:
    return orjson.dumps({"meta": {"kind": kind, **facts}}, default=str) + b"\n"


def capture_record(routing_key, body: bytes, properties: dict | None = None,
                   exchange: str | None = None, received_at: float | None = None) -> bytes:
    """One capture line (with its newline) for a message."""
    obj: dict = {"routing_key": routing_key}
    try:
        obj["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        obj["body_base64"] = base64.b64encode(body).decode("ascii")
    if properties:
        obj["properties"] = properties
    if exchange is not None:
        obj["exchange"] = exchange
    if received_at is not None:
        obj["received_at"] = received_at
    return orjson.dumps(obj, default=str) + b"\n"


class CaptureWriter:
    """Writes whole lines only, so the file is valid JSONL whenever it is closed."""

    def __init__(self, path: str | os.PathLike, flush_every: int = 200):
        self.path = Path(path)
        try:
            if self.path.suffix == ".gz":
                import gzip
                self._file = gzip.open(self.path, "wb")
            else:
                self._file = open(self.path, "wb")
        except OSError as exc:
            raise CaptureFileError(f"{self.path}: {exc.strerror or exc}") from None
        self._pending = 0
        self._flush_every = flush_every
        self.count = 0

    def write(self, routing_key, body: bytes, properties: dict | None = None,
              exchange: str | None = None, received_at: float | None = None) -> None:
        self._file.write(capture_record(routing_key, body, properties, exchange, received_at))
        self.count += 1
        self._pending += 1
        if self._pending >= self._flush_every:
            self.flush()

    def write_meta(self, line: bytes) -> None:
        self._file.write(line)
        self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._pending = 0

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
            try:
                with open(self.path, "rb") as f:
                    os.fsync(f.fileno())
            except OSError:
                pass  # a pipe or a device: nothing to make durable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
