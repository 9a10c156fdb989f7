"""`check --jobs`: the parent and forked workers claim the capture's chunks one after the
other; their parts merge into the summary one process gives. What a worker that dies or
fails had claimed is checked again by the parent (even when it died holding the queue's
token), a stop ends every worker, and a worker can always be ended (one that ignored
SIGTERM hung the parent for ever)."""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import signal
import subprocess
import sys

import pytest

from messages import CHECKER
from validator import cli
from validator.bench import generate
from validator.bench.process import write_capture
from validator.commands import check, chunk_queue, common

KEYS = ("totals", "codes", "events", "known_deviations", "delivery", "samples",
        "failing_messages", "coverage", "timeline")


def _handlers(_):
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)


def test_a_worker_leaves_ctrl_c_to_the_parent_and_dies_on_sigterm():
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1, initializer=check._worker_signals) as pool:
        sigint, sigterm = pool.map(_handlers, [0])[0]
        pool.close()
        pool.join()
    assert sigint == signal.SIG_IGN and sigterm == signal.SIG_DFL


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    path = tmp_path_factory.mktemp("parallel") / "c.jsonl"
    write_capture(generate(CHECKER, 1500, "17.08", seed=5), path, "xivo")
    return path


@pytest.fixture(scope="module")
def one_process(capture, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "r.json"
    done = subprocess.run([sys.executable, "-m", "validator", "check", str(capture),
                           "--jobs", "1", "--format", "json", "--output", str(out)],
                          capture_output=True, timeout=300)
    assert done.returncode == 1, done.stderr  # the mix has broken messages
    return json.loads(out.read_text())


def test_parts_merge_into_the_one_process_report(capture, one_process, tmp_path):
    out = tmp_path / "r3.json"
    done = subprocess.run([sys.executable, "-m", "validator", "check", str(capture),
                           "--jobs", "3", "--format", "json", "--output", str(out)],
                          capture_output=True, timeout=300)
    assert done.returncode == 1, done.stderr
    report = json.loads(out.read_text())
    for key in KEYS:
        assert report[key] == one_process[key], key


def _no_children() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def _check_here(capture, out, jobs="3") -> int:
    """The check command run in this process (so that its workers inherit a patch)."""
    return cli.main(["check", str(capture), "--jobs", jobs, "--format", "json",
                     "--output", str(out), "-q"])


def _agrees(report_path, one_process) -> None:
    report = json.loads(report_path.read_text())
    for key in KEYS:
        assert report[key] == one_process[key], key
    # in the same order too
    assert list(report["coverage"]["undocumented_seen"]) == \
        list(one_process["coverage"]["undocumented_seen"])


def test_a_worker_that_dies_at_once_leaves_every_chunk_to_the_others(capture, one_process,
                                                                    tmp_path, monkeypatch,
                                                                    capfd):
    monkeypatch.setattr(check, "_check_part", lambda *a: os._exit(3))
    assert _check_here(capture, tmp_path / "r.json") == 1
    _agrees(tmp_path / "r.json", one_process)
    err = capfd.readouterr().err
    assert err.count("failed (it ended with exit code 3): checking here the chunks") == 2
    assert _no_children()


def _dies_in_worker(parent: int, told: int, after: int):
    """Wraps `chunk_lines` or `read_bytes`: a forked worker's call after its first `after`
    ones writes to `told`, then the worker dies (the parent's calls go through)."""
    calls = []

    def wrap(original):
        def call(*a):
            if os.getpid() != parent:
                calls.append(1)
                if len(calls) > after:
                    os.write(told, b"x")
                    os._exit(3)
            return original(*a)
        return call
    return wrap


def _parent_waits_first(parent: int, told: int, original):
    """`chunk_lines` whose first call in the parent waits for the worker's death (so the
    worker has claimed its chunks, however slowly it started)."""
    waited = []

    def call(*a):
        if os.getpid() == parent and not waited:
            waited.append(1)
            os.read(told, 1)
        return original(*a)
    return call


@pytest.fixture
def pipe():
    ends = os.pipe()
    yield ends
    for end in ends:
        os.close(end)


def test_a_worker_that_dies_after_checking_chunks_has_them_checked_again(
        capture, one_process, tmp_path, monkeypatch, capfd, pipe):
    told, tell = pipe
    parent = os.getpid()
    die = _dies_in_worker(parent, tell, after=2)
    monkeypatch.setattr(check, "chunk_lines",
                        die(_parent_waits_first(parent, told, check.chunk_lines)))
    monkeypatch.setattr(chunk_queue, "CHUNK_BYTES", 1 << 14)  # many chunks for each
    assert _check_here(capture, tmp_path / "r.json", jobs="2") == 1
    _agrees(tmp_path / "r.json", one_process)
    assert "worker 1 failed (it ended with exit code 3)" in capfd.readouterr().err
    assert _no_children()


def test_a_worker_that_dies_holding_the_token_is_no_deadlock(capture, one_process, tmp_path,
                                                             monkeypatch, capfd, pipe):
    # The worker reads the token for its second chunk, then dies before passing it on: the
    # parent must notice and check again everything the workers had claimed.
    told, tell = pipe
    parent = os.getpid()
    die = _dies_in_worker(parent, tell, after=1)
    monkeypatch.setattr(chunk_queue, "read_bytes", die(chunk_queue.read_bytes))
    monkeypatch.setattr(check, "chunk_lines", _parent_waits_first(parent, told, check.chunk_lines))
    monkeypatch.setattr(chunk_queue, "POLL_SECONDS", 0.05)
    assert _check_here(capture, tmp_path / "r.json", jobs="2") == 1
    _agrees(tmp_path / "r.json", one_process)
    assert "a worker died holding the chunk queue" in capfd.readouterr().err
    assert _no_children()


def test_a_worker_that_fails_says_why_and_leaves_its_range_to_the_parent(
        capture, one_process, tmp_path, monkeypatch, capfd):
    build = common.build_summary

    def failing_in_workers(args, checker, source):
        if source == "part":
            raise RuntimeError("no summary today")
        return build(args, checker, source)

    monkeypatch.setattr(common, "build_summary", failing_in_workers)
    assert _check_here(capture, tmp_path / "r.json") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["totals"] == one_process["totals"]
    assert "failed (RuntimeError: no summary today): checking here" in capfd.readouterr().err


def _stopped_after_one(chunk_lines):
    """chunk_lines, whose reader is stopped (as by Ctrl-C) after its first line."""
    def stopped(*a):
        for n, item in enumerate(chunk_lines(*a)):
            if n == 1:
                raise common.Interrupted("SIGINT")
            yield item
    return stopped


def test_a_stop_in_the_parent_ends_the_workers_and_still_reports(capture, tmp_path,
                                                                 monkeypatch):
    # The workers wait for ever; the parent is stopped (as by Ctrl-C) after its first line.
    def waiting(*a):
        check._worker_signals()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, check.STOP_SIGNALS)
        signal.pause()

    monkeypatch.setattr(check, "_check_part", waiting)
    monkeypatch.setattr(check, "chunk_lines", _stopped_after_one(check.chunk_lines))
    _check_here(capture, tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["run"]["stop_reason"] == "signal:SIGINT"
    assert report["totals"]["messages"] == 1
    assert _no_children()


def test_a_worker_deaf_to_sigterm_is_killed(capture, tmp_path, monkeypatch):
    # The stop signals stay blocked in this worker (it never sets its own up): the parent
    # must not wait for it for ever.
    monkeypatch.setattr(check, "_check_part", lambda *a: signal.pause())
    monkeypatch.setattr(check, "chunk_lines", _stopped_after_one(check.chunk_lines))
    _check_here(capture, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["messages"] == 1
    assert _no_children()


def test_no_process_to_fork_leaves_every_range_to_the_parent(capture, one_process, tmp_path,
                                                             monkeypatch, capfd):
    def no_fork(*a):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(check, "_fork_worker", no_fork)
    assert _check_here(capture, tmp_path / "r.json") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    for key in KEYS:
        assert report[key] == one_process[key], key
    assert capfd.readouterr().err.count("(Resource temporarily unavailable)") == 2


def test_a_gzip_capture_is_checked_whole_whatever_jobs_says(capture, one_process, tmp_path):
    # Its bytes cannot be split into lines: --jobs 3 once read them as 71 unreadable lines.
    import gzip
    packed = tmp_path / "c.jsonl.gz"
    packed.write_bytes(gzip.compress(capture.read_bytes()))
    assert _check_here(packed, tmp_path / "r.json") == 1
    report = json.loads((tmp_path / "r.json").read_text())
    for key in ("totals", "codes", "events", "samples", "failing_messages"):
        assert report[key] == one_process[key], key


def test_more_jobs_than_chunks_forks_no_idle_worker(tmp_path, monkeypatch):
    forked = []
    fork = check._fork_worker
    monkeypatch.setattr(check, "_fork_worker", lambda *a: forked.append(1) or fork(*a))
    capture = tmp_path / "two.jsonl"
    capture.write_bytes(b'{"routing_key": "a", "body": "{}"}\n' * 2)
    assert cli.main(["check", str(capture), "--jobs", "300", "--format", "json",
                     "--output", str(tmp_path / "r.json"), "-q"]) == 1
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["messages"] == 2
    assert len(forked) <= 1  # two lines: at most two chunks


def test_a_worker_leaves_with_its_part_written_before_the_parent_reads_it(monkeypatch):
    # Its pipe holds a large part: the worker does not wait for the parent, still checking
    # its last chunks, to read it (with the default 64 KB pipe it did).
    part = b"x" * (400 << 10)

    def writing(*a):
        with open(a[-1], "wb") as out:
            out.write(part)

    monkeypatch.setattr(check, "_check_part", writing)
    pid, receive = check._fork_worker()
    try:
        ended = os.pidfd_open(pid)
        try:
            assert select.select([ended], [], [], 20)[0], "the worker waited for a reader"
        finally:
            os.close(ended)
        with open(receive, "rb") as f:
            receive = None
            assert f.read() == part
    finally:
        if receive is not None:
            os.close(receive)  # a worker still writing then fails, and ends
        os.waitpid(pid, 0)


def test_a_part_goes_through_marshal_and_through_pickle_when_marshal_cannot():
    # The report's dict is written with marshal (the parent need not import pickle for it);
    # anything marshal refuses (an object of a class of ours) goes through pickle instead.
    from validator.findings import Finding
    plain = {"totals": {"messages": 3}, "codes": [{"code": "D600", "count": 2}], "x": None}
    packed = check._pack(plain)
    assert packed[:1] == b"m" and check._unpack(packed) == plain
    odd = {"finding": Finding.of("D600", "$.data", "missing")}
    packed = check._pack(odd)
    assert packed[:1] == b"p" and check._unpack(packed)["finding"].as_dict() == \
        odd["finding"].as_dict()
    for cut in (b"", packed[:40]):  # a worker that died while writing
        with pytest.raises(Exception):
            check._unpack(cut)
