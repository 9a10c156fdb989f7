"""Messages and failing messages over a run, in a bounded number of buckets, mergeable.

Two series are kept side by side: by arrival time (epoch seconds) and by capture line
number, since a capture may or may not carry arrival times and only the whole run tells
which axis covers every message. A bucket `i` of width `w` holds the keys in
[i * w, (i + 1) * w): buckets are aligned on multiples of the width, never on the first
key, and widths are powers of two, so folding to twice the width maps bucket i to i // 2
exactly. A series doubles its width whenever its keys span more than MAX_BUCKETS buckets.
Its width is therefore always the smallest power-of-two multiple of its first width
(FIRST_WIDTH) at which its keys fit, whatever the order of adds and merges: the timeline
of two halves equals the timeline of the whole. See docs/html-report.md.
"""

from __future__ import annotations

import math
from bisect import bisect_left

MAX_BUCKETS = 600
TIME, LINE = "time", "line"
# The finest widths: an eighth of a second shows the bursts of a short run (600 of them
# cover 75 s; longer runs fold), one line is a capture's finest grain.
FIRST_WIDTH = {TIME: 0.125, LINE: 1.0}


class _Series:
    """Counts per bucket of one axis: {bucket index: [messages, failing]}."""

    __slots__ = ("buckets", "count", "first", "last", "width", "cell", "low", "high")

    def __init__(self, width: float):
        self.width = width
        self.buckets: dict[int, list[int]] = {}
        self.count = 0
        self.first = self.last = None  # the lowest and highest bucket index, kept as added
        self._forget()

    def _forget(self) -> None:
        # The cell of the last add and its bounds [low, high): consecutive keys (a capture's
        # lines) mostly fall in it, and add() then only counts. A fold makes new cells.
        self.cell, self.low, self.high = None, 0, 0

    def add(self, key: float, failed: bool) -> None:
        cell = self.cell if self.low <= key < self.high else self._place(key)
        cell[0] += 1
        if failed:
            cell[1] += 1
        self.count += 1

    def add_many(self, keys: list, failed: list) -> None:
        """add(key, key in failed) of each key (`failed`: some of the keys), counted cell by
        cell: the same cells and counts."""
        if not keys:
            return
        keys = sorted(keys)  # (a capture's lines and times come in order: one pass)
        self._place(keys[0])
        self._place(keys[-1])  # (folds, if need be, until every key fits)
        self._count_cells(keys, 0)
        self._count_cells(sorted(failed), 1)
        self.count += len(keys)

    def _count_cells(self, keys: list, slot: int) -> None:
        """Each sorted key counted in slot `slot` of its cell (the series fits them all)."""
        buckets, width = self.buckets, self.width
        at, end = 0, len(keys)
        while at < end:
            index = math.floor(keys[at] / width)
            past = bisect_left(keys, (index + 1) * width, at)  # (exact: see _place)
            cell = buckets.get(index)
            if cell is None:
                cell = buckets[index] = [0, 0]
            cell[slot] += past - at
            at = past

    def _place(self, key: float) -> list[int]:
        """The cell of `key`, made (and the series folded) if need be; remembered."""
        index = math.floor(key / self.width)
        cell = self.buckets.get(index)
        if cell is None:
            cell = self.buckets[index] = [0, 0]
            if self.first is None:
                self.first = self.last = index
            elif index < self.first:
                self.first = index
            elif index > self.last:
                self.last = index
            if self.last - self.first >= MAX_BUCKETS:
                self._fold_until_fits()
                index = math.floor(key / self.width)
                cell = self.buckets[index]
        # Widths are powers of two: these bounds are exact, so `low <= key < high` holds
        # exactly when floor(key / width) == index.
        low, high = index * self.width, (index + 1) * self.width
        if self.width >= 1:  # whole bounds: an int key (a line) compares faster with ints
            low, high = int(low), int(high)
        self.cell, self.low, self.high = cell, low, high
        return cell

    def _fits(self) -> bool:
        return not self.buckets or self.last - self.first < MAX_BUCKETS

    def _fold_once(self) -> None:
        folded: dict[int, list[int]] = {}
        for index, (messages, failing) in self.buckets.items():
            cell = folded.setdefault(index // 2, [0, 0])
            cell[0] += messages
            cell[1] += failing
        self.buckets = folded
        self.width *= 2
        self._bounds()
        self._forget()

    def _bounds(self) -> None:
        self.first = min(self.buckets) if self.buckets else None
        self.last = max(self.buckets) if self.buckets else None

    def _fold_until_fits(self) -> None:
        while not self._fits():
            self._fold_once()

    def merged(self, other: _Series) -> _Series:
        a, b = self.copy(), other.copy()
        while a.width < b.width:
            a._fold_once()
        while b.width < a.width:
            b._fold_once()
        for index, (messages, failing) in b.buckets.items():
            cell = a.buckets.setdefault(index, [0, 0])
            cell[0] += messages
            cell[1] += failing
        a.count += b.count
        a._bounds()
        a._fold_until_fits()
        return a

    def copy(self) -> _Series:
        out = _Series(self.width)
        out.buckets = {i: list(c) for i, c in self.buckets.items()}
        out.count = self.count
        out.first, out.last = self.first, self.last
        return out

    def as_dict(self, by: str) -> dict:
        if not self.buckets:
            return {"by": by, "bucket": self.width, "origin": None, "buckets": [],
                    "messages": 0}
        first, last = min(self.buckets), max(self.buckets)
        empty = [0, 0]
        return {
            "by": by,
            "bucket": self.width,
            "origin": first * self.width,
            "buckets": [list(self.buckets.get(i, empty)) for i in range(first, last + 1)],
            "messages": self.count,
        }

    @classmethod
    def from_dict(cls, d: dict) -> _Series:
        out = cls(float(d["bucket"]))
        if d.get("origin") is not None:
            first = round(d["origin"] / out.width)
            for offset, (messages, failing) in enumerate(d["buckets"]):
                if messages or failing:
                    out.buckets[first + offset] = [int(messages), int(failing)]
        out.count = int(d.get("messages", sum(c[0] for c in out.buckets.values())))
        out._bounds()
        return out

    def __eq__(self, other) -> bool:
        return (isinstance(other, _Series) and self.width == other.width
                and self.buckets == other.buckets and self.count == other.count)


def _finite(times: list) -> list:
    if math.isfinite(sum(times)):  # (a finite sum: every time is finite)
        return times
    return [at for at in times if math.isfinite(at)]


class Timeline:
    """Per-bucket message and failure counts of a run, by arrival time or by line."""

    def __init__(self):
        self.series = {axis: _Series(width) for axis, width in FIRST_WIDTH.items()}
        self.messages = 0
        self.failing = 0

    def add(self, at: float | None, line: int | None, failed: bool) -> None:
        self.messages += 1
        if failed:
            self.failing += 1
        if at is not None and math.isfinite(at):
            self.series[TIME].add(at, failed)
        if line is not None:
            # Inline, and mostly no call: a capture's line falls in the cell of the line before.
            series = self.series[LINE]
            cell = series.cell if series.low <= line < series.high else series._place(line)
            cell[0] += 1
            if failed:
                cell[1] += 1
            series.count += 1

    def add_many(self, lines: list, times: list, failed_lines: list, failed_times: list
                 ) -> None:
        """add() of len(lines) messages: their lines, their times (a message may have none;
        those not finite are not placed), and those of the failing ones among them."""
        self.messages += len(lines)
        self.failing += len(failed_lines)
        self.series[LINE].add_many(lines, failed_lines)
        self.series[TIME].add_many(_finite(times), _finite(failed_times))

    def merge(self, other: Timeline) -> Timeline:
        out = Timeline()
        out.series = {k: self.series[k].merged(other.series[k]) for k in self.series}
        out.messages = self.messages + other.messages
        out.failing = self.failing + other.failing
        return out

    @property
    def by(self) -> str:
        """The axis that places the most messages; time when it places all of them."""
        timed, lined = self.series[TIME].count, self.series[LINE].count
        if timed and timed >= lined:
            return TIME
        return LINE

    def as_dict(self) -> dict:
        """The chosen axis at the top (what a reporter draws), the other under "other"."""
        by = self.by
        other = LINE if by == TIME else TIME
        out = self.series[by].as_dict(by)
        out["unplaced"] = self.messages - self.series[by].count
        out["total"] = {"messages": self.messages, "failing": self.failing}
        if self.series[other].count:
            out["other"] = self.series[other].as_dict(other)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Timeline:
        out = cls()
        out.series[d["by"]] = _Series.from_dict(d)
        if "other" in d:
            out.series[d["other"]["by"]] = _Series.from_dict(d["other"])
        total = d.get("total") or {}
        out.messages = int(total.get("messages", out.series[d["by"]].count + d.get("unplaced", 0)))
        out.failing = int(total.get("failing", 0))
        return out

    def __eq__(self, other) -> bool:
        return (isinstance(other, Timeline) and self.series == other.series
                and self.messages == other.messages and self.failing == other.failing)
