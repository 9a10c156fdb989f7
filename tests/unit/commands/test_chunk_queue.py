"""The chunk queue of a parallel check: every chunk claimed once, in order, with the number
of its first line; an unreadable chunk left to the next claimer; the chunks of failed
workers found again; no wait that outlives the parent or a lost token."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from validator.commands import chunk_queue
from validator.commands.chunk_queue import ChunkQueue, TokenLost, wait_in_parent

LINES = [b'{"routing_key": "r%d", "body": "{}"}\n' % i for i in range(300)]


@pytest.fixture
def queue(tmp_path, monkeypatch):
    path = tmp_path / "cap.jsonl"
    path.write_bytes(b"".join(LINES) + b"\n\n" + LINES[0])  # blank lines, no final newline
    monkeypatch.setattr(chunk_queue, "CHUNK_BYTES", 1 << 10)
    q = ChunkQueue(str(path), jobs=2)
    yield q
    q.close()


def _ready(fd: int) -> None:
    return None


def _claim_all(queue, order):
    """Every chunk claimed by the processes of `order` in turn, a worker that is told none
    is left dropping out (the parent, 0, last): [(claimer, (bytes, first line))]."""
    order, claims = list(order), []
    while order:
        me = order.pop(0)
        claimed = queue.claim(me, _ready)
        if claimed is None:
            continue
        claims.append((me, claimed))
        order.append(me)
    return claims


def test_every_chunk_is_claimed_once_in_order_with_its_first_line(queue, tmp_path):
    whole = (tmp_path / "cap.jsonl").read_bytes()
    claims = _claim_all(queue, [3, 0])
    line = 1
    for _, (data, first) in claims:
        assert first == line
        line += data.count(b"\n")
    assert len(claims) == len(queue.chunks) > 8
    assert b"".join(data for _, (data, _) in claims) == whole
    assert set(queue.owners[:]) == {0, 3}
    assert queue.claim(3, _ready) is None and queue.claim(0, _ready) is None  # and stays so


def test_the_last_chunks_are_finer_and_the_last_two_the_parents(queue):
    # A worker stops before the end: it writes its part while the parent checks those.
    sizes = [end - start for start, end in queue.chunks]
    assert max(sizes[-8:]) < min(sizes[:4]) / 2
    assert queue.workers_end == len(queue.chunks) - chunk_queue.PARENT_TAIL
    claims = _claim_all(queue, [1, 2])
    assert len(claims) == queue.workers_end
    assert [me for me, _ in _claim_all(queue, [1, 0])] == [0] * chunk_queue.PARENT_TAIL
    assert not queue.left_to([])


def test_an_unreadable_chunk_is_left_to_the_next_claimer(queue, monkeypatch):
    queue.claim(0, _ready)
    second = queue.chunks[1]
    read = chunk_queue.read_bytes

    def failing_once(path, start, end):
        monkeypatch.setattr(chunk_queue, "read_bytes", read)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(chunk_queue, "read_bytes", failing_once)
    with pytest.raises(OSError):
        queue.claim(1, _ready)
    assert queue.owners[1] == chunk_queue.UNCLAIMED
    data, _ = queue.claim(2, _ready)
    assert data == read(queue.capture, *second) and queue.owners[1] == 2


def test_the_chunks_of_failed_workers_are_found_again_with_their_lines(queue):
    claims = _claim_all(queue, [0, 1, 2])
    again = list(queue.again([1, 2]))
    assert again == [claimed for owner, claimed in claims if owner in (1, 2)]
    assert queue.left_to([2]) and not queue.left_to([7])


def test_unclaimed_chunks_are_left_to_anyone(queue):
    queue.claim(0, _ready)
    assert queue.left_to([])
    assert len(list(queue.again([]))) == len(queue.chunks) - 1


def test_the_parent_stops_waiting_when_a_worker_died_with_the_token(queue, monkeypatch):
    queue.claim(0, _ready)
    os.read(queue._take, chunk_queue.TOKEN.size)  # the token is away, as with a dead holder
    asked = []

    def ended_abnormally():
        asked.append(1)
        return len(asked) > 1

    monkeypatch.setattr(chunk_queue, "POLL_SECONDS", 0.01)
    with pytest.raises(TokenLost):
        wait_in_parent(ended_abnormally)(queue._take)
    assert len(asked) == 2


def test_a_worker_whose_parent_is_gone_leaves_instead_of_waiting():
    # The token never comes; the "parent" named is not this process's parent.
    script = ("import os; from validator.commands.chunk_queue import wait_in_worker; "
              "r, w = os.pipe(); wait_in_worker(os.getppid() + 1000000)(r); print('waited')")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 1 and b"waited" not in done.stdout


def test_a_worker_takes_the_token_once_it_is_there():
    script = ("import os; from validator.commands.chunk_queue import wait_in_worker; "
              "r, w = os.pipe(); os.write(w, b'x'); wait_in_worker(os.getppid())(r); "
              "print('took')")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0 and b"took" in done.stdout


def test_no_more_processes_than_chunks(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_bytes(LINES[0])
    one = ChunkQueue(str(path), jobs=300)
    try:
        assert len(one.chunks) == 1 and one.most_processes == 1
    finally:
        one.close()


def test_a_token_taken_first_by_another_process_is_waited_for_again(queue):
    # Both were told the token was there; the other read it first, and passes it on later.
    assert not os.get_blocking(queue._take)  # else the read below would wait for ever
    token = os.read(queue._take, chunk_queue.TOKEN.size)
    waits = []

    def wait(fd):
        waits.append(1)
        if len(waits) == 2:
            os.write(queue._give, token)

    data, line = queue.claim(1, wait)
    assert line == 1 and data and len(waits) == 2
