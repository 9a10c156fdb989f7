"""Capture files: gzip both ways, line-aligned ranges for parallel workers."""

from __future__ import annotations

import gzip
import io
import json

import orjson
import pytest
import strategies_profile  # noqa: F401  (the deterministic "ci" hypothesis profile)
from hypothesis import given, strategies as st

from validator.capture import (CaptureError, CaptureFileError, CaptureItem, CaptureWriter,
                               _parse_object, chunk_lines, items_of, line_bounds, parse_line,
                               read_bytes, read_capture)


def _equal_cuts(path, parts: int) -> list[int]:
    size = path.stat().st_size
    return [size * i // parts for i in range(1, parts)]


def _write(path, n):
    with CaptureWriter(path) as w:
        for i in range(n):
            w.write("rk", b'{"n": %d}' % i)


@pytest.mark.parametrize("name", ["cap.jsonl.gz", "cap.jsonl"])
def test_written_captures_read_back_whole(tmp_path, name):
    path = tmp_path / name
    _write(path, 50)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    items = list(read_capture(path))
    assert [i.body for i in items] == [b'{"n": %d}' % i for i in range(50)]
    assert [i.line for i in items] == list(range(1, 51))


def test_a_gzip_stream_on_stdin_is_read_as_such():
    raw = b'{"routing_key": "a", "body": "{}"}\n'
    items = list(read_capture(io.BufferedReader(io.BytesIO(gzip.compress(raw * 3)))))
    assert len(items) == 3 and all(isinstance(i, CaptureItem) for i in items)


def test_a_truncated_gzip_file_is_a_file_error_not_a_traceback(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"routing_key": "a", "body": "{}"}\n' * 1000)[:60])
    with pytest.raises(CaptureFileError):
        list(read_capture(path))


def test_a_record_into_a_missing_folder_is_refused_not_created(tmp_path):
    with pytest.raises(CaptureFileError):
        CaptureWriter(tmp_path / "no" / "such" / "cap.jsonl")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 64])
def test_ranges_cover_every_line_once_with_its_number(tmp_path, parts):
    path = tmp_path / "cap.jsonl"
    _write(path, 40)
    with open(path, "ab") as f:
        # a carriage return between a line's tokens is JSON whitespace, not a line break;
        # a CRLF line ending is whitespace too
        f.write(b'{"routing_key": "a",\r"body": "{}"}\n{"routing_key": "b", "body": "{}"}\r\n')
        f.write(b"not json\n")
    whole = [(i.line, getattr(i, "body", None)) for i in read_capture(path)]
    pieces = []
    data = path.read_bytes()
    bounds = line_bounds(str(path), _equal_cuts(path, parts))
    assert len(bounds) <= parts and bounds[0][0] == 0 and bounds[-1][1] == len(data)
    for (start, end), (following, _) in zip(bounds, bounds[1:]):
        assert end == following and data[end - 1:end] == b"\n"  # whole lines, no gap
    for start, end in bounds:
        first = 1 + data[:start].count(b"\n")
        pieces += [(i.line, getattr(i, "body", None))
                   for i in items_of(chunk_lines(read_bytes(str(path), start, end)), first)]
    assert pieces == whole
    assert [body for _, body in whole[-3:-1]] == [b"{}", b"{}"]
    assert isinstance(list(read_capture(path))[-1], CaptureError)


# Lines near the commonest one (a text body): every key present or not, of every JSON type.
_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False),
                    st.text(max_size=8), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2), st.lists(st.integers(),
                                                                               max_size=2))
_bodies = st.one_of(st.text(max_size=30), st.text(st.characters(codec=None), max_size=30),
                    st.sampled_from(["{}", "caf\u00e9", "\ud800x", "\U0001f600\udfff"]), _values)
_lines = st.fixed_dictionaries({}, optional={
    "routing_key": st.one_of(st.none(), st.text(max_size=8), st.integers()),
    "body": _bodies, "body_base64": _values, "payload": _values, "meta": _values,
    "properties": st.one_of(st.none(), st.just({"content_type": "application/json"}), _values),
    "exchange": _values, "received_at": _values})


@given(_lines, st.integers(1, 10**6))
def test_the_text_body_route_reads_a_line_as_the_general_route(obj, line_no):
    raw = json.dumps(obj).encode()
    fast = parse_line(line_no, raw)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:  # (a lone surrogate)
        assert type(fast) is CaptureError
        return
    general = _parse_object(line_no, obj)
    assert type(fast) is type(general)
    if isinstance(fast, CaptureItem):
        assert [getattr(fast, k) for k in CaptureItem.__slots__] == \
            [getattr(general, k) for k in CaptureItem.__slots__]
    else:
        assert fast == general


@given(st.dictionaries(st.text(max_size=5), _values, max_size=4))
def test_a_payload_is_the_body_orjson_reads_back_as_it(payload):
    # (json writes any integer; orjson reads one past 64 bits as a float, and writes it back)
    line = json.dumps({"routing_key": "rk", "payload": payload}).encode()
    item = parse_line(7, line)
    assert isinstance(item, CaptureItem) and item.line == 7 and item.routing_key == "rk"
    assert orjson.loads(item.body) == item.decoded == orjson.loads(line)["payload"]
    text = parse_line(7, orjson.dumps({"routing_key": "rk", "body": item.body.decode()}))
    assert text.decoded is None
    same = [k for k in CaptureItem.__slots__ if k != "decoded"]
    assert [getattr(text, k) for k in same] == [getattr(item, k) for k in same]


def test_ranges_cut_at_equal_offsets_are_of_about_equal_size(tmp_path):
    path = tmp_path / "cap.jsonl"
    _write(path, 2000)
    sizes = [end - start for start, end in line_bounds(str(path), _equal_cuts(path, 3))]
    assert max(sizes) - min(sizes) < 100  # (one line at most)


def test_a_range_that_cannot_be_read_is_a_capture_file_error(tmp_path):
    with pytest.raises(CaptureFileError, match=r"gone\.jsonl: cannot be read: No such file"):
        read_bytes(str(tmp_path / "gone.jsonl"), 0, 10)
