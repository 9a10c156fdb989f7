"""The private queue's delivery reader: what pika would have delivered, decoded from bytes."""

from __future__ import annotations

import time

import pika.exceptions
import pytest
from pika import frame, spec

from validator.sources.frames import DeliveryReader, install
from validator.sources.model import Delivery

TAG = "ctag1.abc"


class FakeImpl:
    """The parts of pika's Connection the reader touches; other frames are recorded."""

    def __init__(self, buffered=b""):
        self._frame_buffer = buffered
        self.bytes_received = 0
        self.frames_received = 0
        self.frames = []
        self.reset_on = None

    def _on_data_available(self, data):   # pika's, replaced by the reader
        raise AssertionError("pika's own hook must not run")

    def _process_frame(self, value):
        self.frames.append(value)
        if self.reset_on is not None and isinstance(value.method, self.reset_on):
            self._frame_buffer = bytes()     # what pika's _init_connection_state does


class FakeConnection:
    def __init__(self, impl):
        self._impl = impl
        self._channels_pending_dispatch = set()


def reader(buffered=b"", channel=1, make=tuple):
    conn = FakeConnection(FakeImpl(buffered))
    return DeliveryReader(conn, channel, TAG, make), conn


def deliver(body: bytes, tag=1, rk="call.created", exchange="xivo", channel=1,
            consumer=TAG, props=None, frame_max=131072) -> bytes:
    props = props if props is not None else spec.BasicProperties(content_type="application/json")
    out = frame.Method(channel, spec.Basic.Deliver(consumer_tag=consumer, delivery_tag=tag,
                                                   exchange=exchange, routing_key=rk)).marshal()
    out += frame.Header(channel, len(body), props).marshal()
    for i in range(0, len(body), frame_max - 8):
        out += frame.Body(channel, body[i:i + frame_max - 8]).marshal()
    return out


def fed(r: DeliveryReader, data: bytes, step: int) -> list:
    for i in range(0, len(data), step):
        r.impl._on_data_available(data[i:i + step])
    return [t[:4] for t in r.take()]   # without received_at


def test_a_delivery_is_decoded_as_pika_decodes_it():
    r, conn = reader()
    data = deliver(b'{"name": "x"}', tag=7)
    got = fed(r, data, len(data))
    assert got == [("call.created", b'{"name": "x"}', {"content_type": "application/json"},
                    "xivo")]
    assert r.impl.bytes_received == len(data)
    assert r.impl.frames_received == 3
    assert -1 in conn._channels_pending_dispatch   # process_data_events returns to hand over
    assert r.take() == []


@pytest.mark.parametrize("step", [1, 5, 97, 4096])
def test_any_split_of_the_stream_gives_the_same_deliveries_in_order(step):
    bodies = [b"{}", b"", b"x" * 300_000, b'{"a": 1}']     # empty, and over three frames
    data = b"".join(deliver(b, tag=i + 1, rk=f"k{i}") for i, b in enumerate(bodies))
    r, _ = reader()
    got = fed(r, data, step)
    assert [(t[0], t[1]) for t in got] == [(f"k{i}", b) for i, b in enumerate(bodies)]
    assert r.impl.frames == []
    assert r.impl.bytes_received == len(data)
    assert r.chunks == [] and r.have == 0


def test_deliveries_are_made_by_the_callers_type_with_the_arrival_time():
    r, _ = reader(make=Delivery)
    before = time.time()
    r.impl._on_data_available(deliver(b"{}", rk="a.b", exchange="xivo"))
    (d,) = r.take()
    assert type(d) is Delivery and d[:4] == ("a.b", b"{}", {"content_type": "application/json"},
                                             "xivo")
    assert before <= d.received_at <= time.time()


def test_what_pika_had_buffered_is_read_first():
    data = deliver(b"{}")
    r, _ = reader(buffered=data[:10])
    assert fed(r, data[10:], 4096)[0][1] == b"{}"


def test_other_frames_go_through_pika_in_order():
    other_channel = deliver(b"{}", channel=2)
    other_consumer = deliver(b"{}", consumer="someone-else")
    ok = frame.Method(1, spec.Basic.QosOk()).marshal()
    beat = frame.Heartbeat().marshal()
    r, _ = reader()
    got = fed(r, ok + deliver(b"1") + beat + other_channel + other_consumer + deliver(b"2"), 50)
    assert [t[1] for t in got] == [b"1", b"2"]
    kinds = [type(f).__name__ for f in r.impl.frames]
    assert kinds == ["Method", "Heartbeat", "Method", "Header", "Body", "Method", "Header",
                     "Body"]
    assert isinstance(r.impl.frames[0].method, spec.Basic.QosOk)


def test_properties_are_decoded_once_per_encoding_and_made_jsonable():
    props = spec.BasicProperties(content_type="application/json", delivery_mode=2,
                                 headers={"n": 2 ** 40, "raw": b"\xff"})
    r, _ = reader()
    got = fed(r, deliver(b"{}", props=props) + deliver(b"[]", props=props), 4096)
    assert got[0][2] == {"content_type": "application/json", "delivery_mode": 2,
                         "headers": {"n": 2 ** 40, "raw": "\\xff"}}
    assert got[0][2] is got[1][2]
    assert fed(r, deliver(b"{}", props=spec.BasicProperties()), 4096)[0][2] == {}


def test_names_that_are_not_utf8_stay_bytes_as_in_pika():
    data = deliver(b"{}")
    data = data.replace(b"call.created", b"call.cr\xffated")
    r, _ = reader()
    assert fed(r, data, 4096)[0][0] == b"call.cr\xffated"


def test_a_broken_frame_end_is_pikas_error():
    data = bytearray(frame.Method(1, spec.Basic.QosOk()).marshal())
    data[-1] = 0
    r, _ = reader()
    with pytest.raises(pika.exceptions.InvalidFrameError):
        r.impl._on_data_available(bytes(data))


def test_a_delivery_with_a_broken_frame_is_left_to_pika():
    data = bytearray(deliver(b"{}"))
    data[-1] = 0              # the body frame's end marker
    r, _ = reader()
    with pytest.raises(pika.exceptions.InvalidFrameError):
        r.impl._on_data_available(bytes(data))
    assert r.take() == []


def test_nothing_is_read_past_a_connection_reset():
    r, _ = reader()
    r.impl.reset_on = spec.Connection.Close
    close = frame.Method(0, spec.Connection.Close(reply_code=320, reply_text="bye",
                                                      class_id=0, method_id=0)).marshal()
    assert fed(r, close + deliver(b"{}"), 10_000) == []
    assert r.chunks == []


def test_it_is_installed_only_where_pika_has_the_internals_it_replaces():
    conn = FakeConnection(FakeImpl())
    assert isinstance(install(conn, 1, TAG), DeliveryReader)
    other = FakeConnection(FakeImpl())
    del other._channels_pending_dispatch
    assert install(other, 1, TAG) is None
