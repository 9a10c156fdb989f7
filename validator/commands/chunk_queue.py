"""The chunks of a capture file, claimed in turn by the processes of a parallel `check`: a
token (the next chunk and its first line's number) passed on through a pipe, and who
claimed each chunk in shared memory (docs/speed.md, "Fifth pass")."""

from __future__ import annotations

import mmap
import os
import select
import struct

from ..capture import line_bounds, read_bytes

CHUNK_BYTES = 512 << 10  # a chunk is ~10-20 ms of work
CHUNKS_PER_JOB = 4  # at least, on a small file
# The processes end within a chunk's work of each other: the last TAIL_PER_JOB chunks per
# process are cut in FINE_CUT, to end them closer. The last PARENT_TAIL of those are the
# parent's alone: a worker then ends first and writes its part while the parent checks them
# (the parent waits for the parts before its own end).
TAIL_PER_JOB = 2
FINE_CUT = 4
PARENT_TAIL = 2
TOKEN = struct.Struct("=qq")  # (the next chunk, its first line)
UNCLAIMED = 255
POLL_SECONDS = 1.0


class TokenLost(Exception):
    """A worker ended abnormally and the token did not come back: it may have held it."""


class ChunkQueue:
    def __init__(self, capture: str, jobs: int):
        size = os.path.getsize(capture)
        parts = max(jobs * CHUNKS_PER_JOB, size // CHUNK_BYTES)
        tail = min(parts, jobs * TAIL_PER_JOB)
        if parts + tail * (FINE_CUT - 1) >= UNCLAIMED:
            parts, tail = UNCLAIMED - 1, 0
        step, coarse = size / parts, parts - tail
        cuts = [int(step * i) for i in range(1, coarse + 1)]  # the last one: size, or the tail
        cuts += [int(step * coarse + step / FINE_CUT * i) for i in range(1, tail * FINE_CUT)]
        self.capture = capture
        self.chunks = line_bounds(capture, cuts)
        # Chunks from this index on are the parent's alone.
        self.workers_end = len(self.chunks) - (PARENT_TAIL if tail else 0)
        # Shared with the forked workers (an anonymous mapping is MAP_SHARED).
        self.owners = mmap.mmap(-1, max(1, len(self.chunks)))
        self.owners.write(bytes([UNCLAIMED]) * len(self.chunks))
        self._take, self._give = os.pipe()
        # Two processes may both be told the token is there: the one that finds it gone
        # waits again (a blocking read would wait for ever if its holder died).
        os.set_blocking(self._take, False)
        os.write(self._give, TOKEN.pack(0, 1))

    @property
    def most_processes(self) -> int:
        """No more processes than chunks (the parent's tail aside), nor than owners a byte can
        name."""
        return max(1, min(self.workers_end, UNCLAIMED - 1))

    def claim(self, me: int, wait) -> tuple[bytes, int] | None:
        """(the next chunk's bytes, its first line number), claimed by process `me`; None
        when every chunk is claimed. `wait(fd)` returns once the token can be read."""
        while True:
            wait(self._take)
            try:
                token = os.read(self._take, TOKEN.size)
                break
            except BlockingIOError:  # another process took it first
                continue
        index, line = TOKEN.unpack(token)
        if index >= (len(self.chunks) if me == 0 else self.workers_end):
            os.write(self._give, token)  # for the others to see the end too
            return None
        try:
            data = read_bytes(self.capture, *self.chunks[index])
        except BaseException:
            os.write(self._give, token)  # unclaimed: whoever comes next tries it
            raise
        self.owners[index] = me
        os.write(self._give, TOKEN.pack(index + 1, line + data.count(b"\n")))
        return data, line

    def left_to(self, owners) -> bool:
        """Whether a chunk was claimed by one of `owners`, or by none."""
        return any(_left(owner, owners) for owner in self.owners[:])

    def again(self, owners):
        """(bytes, first line) of each chunk claimed by one of `owners` (or by none), in order:
        what failed workers claimed, checked again in the parent. Reads the whole file to
        number the lines (only when something failed)."""
        line = 1
        for index, bounds in enumerate(self.chunks):
            data = read_bytes(self.capture, *bounds)
            if _left(self.owners[index], owners):
                yield data, line
            line += data.count(b"\n")

    def close(self) -> None:
        for fd in (self._take, self._give):
            try:
                os.close(fd)
            except OSError:
                pass
        self.owners.close()


def _left(owner: int, owners) -> bool:
    return owner in owners or owner == UNCLAIMED


def wait_in_worker(parent: int):
    """A worker's wait for the token: it leaves when its parent is gone (nobody would read
    its part; killed while holding the token, the parent would leave it waiting for ever)."""
    def wait(fd: int) -> None:
        while os.getppid() == parent:
            if select.select([fd], [], [], POLL_SECONDS)[0]:
                return
        os._exit(1)
    return wait


def wait_in_parent(ended_abnormally):
    """The parent's wait for the token: TokenLost when `ended_abnormally()` says a worker
    died while the token was away."""
    def wait(fd: int) -> None:
        while not select.select([fd], [], [], POLL_SECONDS)[0]:
            if ended_abnormally():
                raise TokenLost()
    return wait
