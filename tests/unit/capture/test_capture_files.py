"""Capture files: gzip both ways, line-aligned ranges for parallel workers."""

from __future__ import annotations

import gzip
import io

import pytest

from validator.capture import (CaptureError, CaptureFileError, CaptureItem, CaptureWriter,
                               read_capture, read_range, split_lines)


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
        f.write(b"not json\n")
    whole = [(i.line, getattr(i, "body", None)) for i in read_capture(path)]
    pieces = []
    for start, end, first in split_lines(str(path), parts):
        pieces += [(i.line, getattr(i, "body", None)) for i in read_range(str(path), start, end, first)]
    assert pieces == whole
    assert isinstance(list(read_capture(path))[-1], CaptureError)
