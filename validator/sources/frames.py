"""Listen's receive path: the private queue's deliveries decoded straight from the socket's
bytes, in batches, instead of through pika's per-frame objects and per-message callbacks.

Why: for each delivery pika builds three frame objects, a method and a properties object,
runs its callback registry three times, assembles the content, queues a dispatch event and
calls a callback chain. That is most of a consumer's own CPU per message (the same in the
reference consumers listen is measured against); decoding the three frames with a few struct
reads costs a fraction of it. Properties are decoded by pika, once per distinct encoding (a
bus's publishers send the same few).

How: installed on the pika connection of a private no-ack consumer (never in shared mode,
whose basic_cancel must see pika's own unacknowledged deliveries). It takes the place of the
connection's data-received hook: a complete Basic.Deliver + header + body frames for its
channel and consumer tag becomes a tuple in `pending`; every other frame, and a delivery
whose frames are not what the protocol says, goes through pika's own decode_frame and
_process_frame, unchanged. The source hands `pending` over after each process_data_events
call (the reader asks pika to return as soon as one is pending, as pika does for its own),
and before any delivery pika dispatches itself, so the order is the broker's. A delivery's
received_at is when its last bytes were read (one clock read per socket read, ~4 KiB).
"""

from __future__ import annotations

import struct
import time

from pika import exceptions as _exceptions
from pika import frame as _frame
from pika import spec as _spec

from .model import properties_dict

_HEAD = struct.Struct(">BHL").unpack_from     # frame type, channel, payload size
# ... and a header frame's class, weight and body size
_HEADER_HEAD = struct.Struct(">BHLHHQ").unpack_from
_DELIVER = struct.pack(">I", _spec.Basic.Deliver.INDEX)
_BASIC = _spec.Basic.INDEX
_new = tuple.__new__
_METHOD, _HEADER, _BODY = _spec.FRAME_METHOD, _spec.FRAME_HEADER, _spec.FRAME_BODY
_END = _spec.FRAME_END
PROPERTIES_KEPT = 256   # distinct property encodings (and exchange names) remembered, then
                        # forgotten at once


def _text(raw: bytes):
    """A short string as pika decodes it: UTF-8 text, else the bytes."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


def install(connection, channel_number: int, consumer_tag: str, make=tuple):
    """A DeliveryReader on this pika BlockingConnection, or None (pika's own path stays)
    when its internals are not the ones the reader replaces (pika 1.3 and 1.4 have them)."""
    impl = getattr(connection, "_impl", None)
    if not (callable(getattr(impl, "_on_data_available", None))
            and callable(getattr(impl, "_process_frame", None))
            and isinstance(getattr(impl, "_frame_buffer", None), (bytes, bytearray))
            and isinstance(getattr(impl, "bytes_received", None), int)
            and isinstance(getattr(connection, "_channels_pending_dispatch", None), set)):
        return None
    return DeliveryReader(connection, channel_number, consumer_tag, make)


class DeliveryReader:
    """Decodes one no-ack consumer's deliveries off a pika BlockingConnection; see the module
    docstring. `pending` holds `make((routing_key, body, properties, exchange, received_at))`
    in arrival order (no delivery tag: nothing is acknowledged); the properties dict is
    shared by deliveries with the same encoded properties (read-only)."""

    def __init__(self, connection, channel_number: int, consumer_tag: str, make=tuple):
        impl = connection._impl
        self.impl = impl
        self.channel = channel_number
        tag = consumer_tag.encode()
        # the start of this consumer's Basic.Deliver payload: method id, consumer tag
        self.prefix = _DELIVER + bytes((len(tag),)) + tag
        self.skip = 7 + len(self.prefix)       # frame header + prefix
        self.make = make                       # what `pending` holds: tuple or a subclass
        self.exchanges: dict[bytes, str | bytes] = {}
        self.wake = connection._channels_pending_dispatch
        self.pending: list[tuple] = []
        self.properties: dict[bytes, dict] = {}
        # What pika had buffered (an incomplete frame at most) is ours now; pika resets its
        # buffer to a new object when the connection's state is reset (it closed).
        self.chunks: list[bytes] = [bytes(impl._frame_buffer)] if impl._frame_buffer else []
        self.have = sum(map(len, self.chunks))
        self.need = 0
        self.mark = impl._frame_buffer = bytearray()   # an object of its own (b"" is shared)
        impl._on_data_available = self.data_received

    def take(self) -> list[tuple]:
        """What was decoded since the last take, oldest first."""
        out, self.pending = self.pending, []
        return out

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.have += len(data)
        if self.have < self.need:
            return   # a large delivery: joined once whole, not once per 4 KiB read
        buf = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        pos = self.parse(buf)
        rest = buf[pos:] if pos < len(buf) else b""
        self.chunks = [rest] if rest else []
        self.have = len(rest)

    def parse(self, buf: bytes) -> int:
        """Decodes every complete frame of buf; returns the offset of the first one that is
        not (self.need: the bytes from there on needed to make progress)."""
        n, pos, impl, ch, prefix = len(buf), 0, self.impl, self.channel, self.prefix
        before = len(self.pending)
        now = time.time()
        try:
            while True:
                if n - pos < 7:
                    self.need = 7
                    return pos
                kind, channel, size = _HEAD(buf, pos)
                end = pos + size + 8
                if end > n:
                    self.need = end - pos
                    return pos
                if kind == _METHOD and channel == ch and buf.startswith(prefix, pos + 7):
                    got = self.delivery(buf, pos, end, now)
                    if got > 0:
                        impl.bytes_received += got - pos
                        pos = got
                        continue
                    if got < 0:
                        self.need = -got - pos
                        return pos
                # pika's own path, one frame, as its _on_data_available would take it. A
                # delivery of this consumer only comes here malformed, when pika fails it.
                if buf[end - 1] != _END:
                    raise _exceptions.InvalidFrameError("Invalid FRAME_END marker")
                consumed, value = _frame.decode_frame(buf[pos:end])
                pos = end
                impl.bytes_received += consumed
                impl._process_frame(value)
                if impl._frame_buffer is not self.mark:
                    self.need = 0
                    return n   # the connection was reset: pika drops what it had buffered
        finally:
            if len(self.pending) != before:
                self.wake.add(-1)   # process_data_events returns: the source hands over

    def delivery(self, buf: bytes, pos: int, end: int, now: float) -> int:
        """One delivery from the Basic.Deliver frame at pos (its method and consumer tag
        checked): the offset after its last frame, or minus the offset needed to see it
        whole, or 0 to leave it to pika."""
        ch = self.channel
        try:
            o = pos + self.skip + 9          # delivery tag, redelivered bit: not needed
            ln = buf[o]
            exchange = buf[o + 1:o + 1 + ln]
            o += 1 + ln
            ln = buf[o]
            o += 1
            routing_key = buf[o:o + ln]
            o += ln
            if o != end - 1 or buf[o] != _END:
                return 0
            n = len(buf)
            if n - end < 19:
                return -(end + 19)           # a header frame is at least 22 bytes
            kind, channel, size, cls, _, left = _HEADER_HEAD(buf, end)
            if kind != _HEADER or channel != ch or cls != _BASIC or size < 14:
                return 0
            b = end + size + 8
            if b > n:
                return -b
            if buf[b - 1] != _END:
                return 0
            raw = buf[end + 19:b - 1]
            props = self.properties.get(raw)
            if props is None:
                props = self.decode_properties(raw)
            parts = []
            while left:
                if n - b < 7:
                    return -(b + 7)
                kind, channel, size = _HEAD(buf, b)
                b_end = b + size + 8
                if kind != _BODY or channel != ch or size > left:
                    return 0
                if b_end > n:
                    return -b_end
                if buf[b_end - 1] != _END:
                    return 0
                parts.append(buf[b + 7:b_end - 1])
                left -= size
                b = b_end
        except (IndexError, struct.error):
            return 0   # malformed: pika's path says how
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self.impl.frames_received += 2 + len(parts)
        name = self.exchanges.get(exchange) or self.exchange_name(exchange)
        try:
            routing_key = routing_key.decode()
        except UnicodeDecodeError:
            pass                             # pika leaves it bytes too
        self.pending.append(_new(self.make, (routing_key, body, props, name, now)))
        return b

    def exchange_name(self, raw: bytes):
        if len(self.exchanges) >= PROPERTIES_KEPT:
            self.exchanges.clear()
        name = self.exchanges[raw] = _text(raw)
        return name

    def decode_properties(self, raw: bytes) -> dict:
        props = _spec.BasicProperties()
        props.decode(raw)
        out = properties_dict(props)
        if len(self.properties) >= PROPERTIES_KEPT:
            self.properties.clear()
        self.properties[raw] = out
        return out
