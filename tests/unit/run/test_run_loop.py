"""The run loop: every item checked once, handed to every sink, nothing lost."""

from __future__ import annotations

import io
import json

import orjson

from messages import CATALOGUE, CHECKER, valid_message
from validator.capture import CaptureError, CaptureItem, CaptureMeta
from validator.run import Run
from validator.sinks import NdjsonSink
from validator.summary import Summary


class Collect:
    def __init__(self):
        self.seen, self.errors, self.closed = [], [], False

    def message(self, result, item, where):
        self.seen.append((where.get("line"), result.verdict))

    def input_error(self, line, message, where):
        self.errors.append(line)

    def flush(self):
        pass

    def close(self):
        self.closed = True


def _summary():
    return Summary(catalogue_names=CATALOGUE.all_names(), wazo_version="17.08", source="t")


def test_every_item_reaches_the_summary_and_each_sink_in_order():
    rk, msg = valid_message("user_created")
    good = json.dumps(msg).encode()
    items = [CaptureItem(1, rk, good, None), CaptureError(2, "not a JSON object"),
             CaptureItem(3, rk, b"[]", None), CaptureMeta(4, {"kind": "end", "gaps": [{}]})]
    s, sink, out = _summary(), Collect(), io.BytesIO()
    nd = NdjsonSink(out, s, close_out=False)
    run = Run(CHECKER, s, [sink, nd])
    run.replay(items)
    run.close()
    assert sink.seen == [(1, "ok"), (3, "fail")] and sink.errors == [2] and sink.closed
    assert s.messages == 2 and s.input_error_count == 1
    assert [orjson.loads(line)["line"] for line in out.getvalue().splitlines()] == [1, 2, 3]
    # a recording with a gap may have lost messages, and the replay says so
    assert s.run["may_have_lost"] is True


def test_a_checker_crash_is_a_finding_not_a_lost_message():
    class Broken:
        def check(self, *args):
            raise RuntimeError("boom")
    s = _summary()
    Run(Broken(), s, delivery=False).replay([CaptureItem(1, "rk", b"{}", None)])
    assert s.messages == 1 and s.codes["X901"] == 1


def _report(lines: bytes, sinks=()) -> dict:
    from validator.capture import read_capture
    summary = _summary()
    Run(CHECKER, summary, list(sinks)).replay(read_capture(io.BytesIO(lines)))
    out = summary.as_dict()
    for key in ("started_at", "ended_at", "source"):
        out.pop(key, None)
    return out


def test_a_payload_capture_is_checked_as_the_same_bodies_written_as_text():
    # A payload line's object goes to the checker as decoded (its body is not read again):
    # the report is the one of the same messages as text bodies, on every route.
    from validator.bench import generate
    capture = generate(CHECKER, 1500, "17.08", 3)
    payload, text = [], []
    for rk, body, props in capture.items:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            continue
        if type(value) is not dict:
            continue
        payload.append(orjson.dumps({"routing_key": rk, "payload": value, "properties": props}))
        text.append(orjson.dumps({"routing_key": rk, "body": orjson.dumps(value).decode(),
                                  "properties": props}))
    assert len(payload) > 1000
    a, b = b"\n".join(payload), b"\n".join(text)
    assert _report(a) == _report(b)
    seen_a, seen_b = Collect(), Collect()
    assert _report(a, [seen_a]) == _report(b, [seen_b])
    assert seen_a.seen == seen_b.seen


def _every_kind_of_line() -> bytes:
    """A capture holding every kind of line the format allows, and broken ones."""
    import base64

    from validator.bench import generate
    lines = [orjson.dumps({"meta": {"kind": "start"}})]
    for n, (rk, body, props) in enumerate(generate(CHECKER, 600, "17.08", 5).items):
        try:
            text = body.decode()
        except UnicodeDecodeError:
            text = None
        if text is None or n % 7 == 0:
            lines.append(orjson.dumps({"routing_key": rk, "properties": props,
                                       "body_base64": base64.b64encode(body).decode()}))
        elif n % 7 == 1:
            extra = {"received_at": 1700000000.5 + n, "exchange": "xivo", "other": [1]}
            lines.append(orjson.dumps(dict({"routing_key": rk, "body": text}, **extra)))
        elif n % 7 == 2:
            lines.append(orjson.dumps({"routing_key": rk, "body": text, "received_at": "x",
                                       "exchange": 5}) + b"\r")
        else:
            lines.append(orjson.dumps({"routing_key": rk, "body": text, "properties": props}))
    rk, msg = valid_message("user_created")
    lines += [
        b"", b"   ", b"not json", b"[1]", b'"text"',
        orjson.dumps({"routing_key": rk, "payload": msg}),
        orjson.dumps({"routing_key": rk, "body": msg}),  # a JSON value, not text
        orjson.dumps({"routing_key": 5, "body": "{}"}),
        orjson.dumps({"routing_key": rk, "body": "{}", "properties": []}),
        orjson.dumps({"routing_key": rk, "body": "{}", "payload": {}}),
        b'{"routing_key": "rk", "body": "\\ud800"}',  # orjson refuses a lone surrogate
        orjson.dumps({"meta": {"kind": "end", "may_have_lost": True, "lost_estimate": 2}}),
    ]
    return b"\n".join(lines) + b"\n"


def _without_times(summary) -> dict:
    out = summary.as_dict()
    for key in ("started_at", "ended_at", "source"):
        out.pop(key, None)
    return out


def test_lines_read_in_the_loop_are_read_as_parse_line_reads_them():
    # replay_lines reads the commonest lines itself and leaves the others to parse_line:
    # the report is the one of the same items read by read_capture, line numbers included.
    from validator.capture import chunk_lines, raw_lines, read_capture
    data = _every_kind_of_line()
    by_items, by_lines, by_file = _summary(), _summary(), _summary()
    Run(CHECKER, by_items).replay(read_capture(io.BytesIO(data), 41), 0, "c.jsonl")
    Run(CHECKER, by_lines).replay_lines(chunk_lines(data), 41, 0, "c.jsonl")
    Run(CHECKER, by_file).replay_lines(raw_lines(io.BytesIO(data)), 41, 0, "c.jsonl")
    expected = _without_times(by_items)
    assert expected["totals"]["messages"] > 600 and expected["totals"]["input_errors"] == 7
    assert expected["run"]["may_have_lost"] is True
    assert _without_times(by_lines) == expected
    assert _without_times(by_file) == expected


def test_replay_lines_hands_sinks_what_replay_does():
    from validator.capture import chunk_lines, read_capture
    data = _every_kind_of_line()
    seen_items, seen_lines = Collect(), Collect()
    Run(CHECKER, _summary(), [seen_items]).replay(read_capture(io.BytesIO(data), 3))
    Run(CHECKER, _summary(), [seen_lines]).replay_lines(chunk_lines(data), 3)
    assert seen_lines.seen == seen_items.seen and seen_lines.errors == seen_items.errors
    assert len(seen_items.seen) > 600 and seen_items.errors


def test_a_conforming_message_counted_in_its_lane_is_counted_as_the_item_path_counts_it():
    # replay_lines counts a conforming message of a name seen before without finish() and
    # add_line(): with the delivery off, and under --ignore (the delivery then reads every
    # message, so no lane counts it), the report is still the item path's.
    from validator.capture import chunk_lines, read_capture
    from validator.check import Checker
    data = _every_kind_of_line()
    for checker, delivery in ((CHECKER, False), (Checker(CATALOGUE, ignore=["D6"]), True)):
        by_items, by_lines = _summary(), _summary()
        Run(checker, by_items, delivery=delivery).replay(read_capture(io.BytesIO(data), 1))
        lines_run = Run(checker, by_lines, delivery=delivery)
        lines_run.replay_lines(chunk_lines(data), 1)
        assert _without_times(by_lines) == _without_times(by_items)
        assert bool(lines_run._lanes) is (delivery is False)


def test_the_lanes_count_in_batches_what_the_item_path_counts(monkeypatch):
    # Lane messages, and every message's place in the timeline, are counted a batch at a
    # time (BATCH, here 5, and at the end of the lines), also when no lane opens
    # (under --ignore): the report is still the item path's, and no batch grows past it.
    import validator.run as run_module
    from validator.capture import chunk_lines, read_capture
    from validator.check import Checker
    monkeypatch.setattr(run_module, "BATCH", 5)
    batches = []
    count_batch = Run._count_batch

    def counted(self, names, lines, *rest):
        batches.append(len(lines))
        count_batch(self, names, lines, *rest)
    monkeypatch.setattr(Run, "_count_batch", counted)
    data = _every_kind_of_line()
    for checker in (CHECKER, Checker(CATALOGUE, ignore=["D6"])):
        by_items, by_lines = _summary(), _summary()
        Run(checker, by_items).replay(read_capture(io.BytesIO(data), 1))
        lines_run = Run(checker, by_lines)
        batches.clear()
        lines_run.replay_lines(chunk_lines(data), 1)
        assert bool(lines_run._lanes) is (checker is CHECKER)
        assert _without_times(by_lines) == _without_times(by_items)
        assert len(batches) > 100 and max(batches) == 5


def test_a_stop_in_the_middle_of_the_lines_counts_every_message_checked_before_it():
    # Ctrl-C (or SIGTERM) raises in the loop: the messages its lanes took before it are in
    # the summary all the same.
    from validator.capture import chunk_lines
    rk, msg = valid_message("user_created")
    line = orjson.dumps({"routing_key": rk, "body": json.dumps(msg)}) + b"\n"

    class StopsAt:
        def __init__(self, at):
            self.calls, self.at = 0, at

        def __getattr__(self, name):
            return getattr(CHECKER, name)

        def check_parsed(self, *args):
            self.calls += 1
            if self.calls == self.at:
                raise KeyboardInterrupt
            return CHECKER.check_parsed(*args)

    summary = _summary()
    run = Run(StopsAt(200), summary)
    try:
        run.replay_lines(chunk_lines(line * 300), 1)
    except KeyboardInterrupt:
        pass
    assert run._lanes and summary.messages == 199
    assert summary.events["user_created"].ok == 199
    assert summary.timeline.series["line"].count == 199
    assert summary.delivery.events["user_created"].as_dict()["messages"] == 199
