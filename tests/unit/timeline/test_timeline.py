"""Timeline: bounded, and merging two halves gives exactly the timeline of the whole."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import strategies_profile  # noqa: F401  (the deterministic hypothesis profile)

from validator.timeline import MAX_BUCKETS, Timeline

T0 = 1_700_000_000.0

# Arrival times from sub-second bursts to days, lines up to a million, some unknown.
times = st.one_of(st.none(), st.floats(T0 - 10, T0 + 10),
                  st.floats(T0 - 3 * 86400, T0 + 3 * 86400))
lines = st.one_of(st.none(), st.integers(1, 10), st.integers(1, 1_000_000))
adds = st.lists(st.tuples(times, lines, st.booleans()), max_size=60)


def timeline_of(items) -> Timeline:
    tl = Timeline()
    for at, line, failed in items:
        tl.add(at, line, failed)
    return tl


@given(adds, st.integers(0, 60))
def test_merging_two_halves_equals_the_whole(items, cut):
    whole = timeline_of(items)
    merged = timeline_of(items[:cut]).merge(timeline_of(items[cut:]))
    assert merged == whole
    assert merged.as_dict() == whole.as_dict()


@given(adds, adds)
def test_merge_is_commutative(a, b):
    assert timeline_of(a).merge(timeline_of(b)).as_dict() == \
        timeline_of(b).merge(timeline_of(a)).as_dict()


@given(adds)
def test_as_dict_round_trips_through_json_and_stays_mergeable(items):
    tl = timeline_of(items)
    back = Timeline.from_dict(json.loads(json.dumps(tl.as_dict())))
    assert back == tl
    extra = timeline_of([(T0, 7, True)])
    assert back.merge(extra) == tl.merge(extra)


@given(adds)
def test_buckets_are_bounded_and_count_every_placed_message(items):
    d = timeline_of(items).as_dict()
    assert len(d["buckets"]) <= MAX_BUCKETS
    placed = sum(m for m, _ in d["buckets"])
    assert placed == d["messages"] == d["total"]["messages"] - d["unplaced"]
    assert all(0 <= f <= m for m, f in d["buckets"])
    assert sum(f for _, f in d["buckets"]) <= d["total"]["failing"]


def test_eighth_of_a_second_buckets_for_a_short_run_aligned_on_multiples():
    tl = timeline_of([(T0 + 0.25, None, False), (T0 + 0.3, None, True),
                      (T0 + 0.75, None, False), (T0 + 3.5, None, True)])
    d = tl.as_dict()
    assert (d["by"], d["bucket"], d["origin"]) == ("time", 0.125, T0 + 0.25)
    assert len(d["buckets"]) == 27
    assert d["buckets"][0] == [2, 1] and d["buckets"][4] == [1, 0] and d["buckets"][26] == [1, 1]
    assert sum(m for m, _ in d["buckets"]) == 4
    assert d["unplaced"] == 0 and "other" not in d


def test_a_long_run_doubles_the_width_until_it_fits():
    # 1,000 s of traffic, one message a second: 1000 one-second buckets do not fit in 600,
    # two-second ones do.
    tl = timeline_of([(T0 + s, None, s % 100 == 0) for s in range(1000)])
    d = tl.as_dict()
    assert d["bucket"] == 2.0
    assert len(d["buckets"]) == 500
    assert d["buckets"][0] == [2, 1] and d["buckets"][1] == [2, 0]
    assert sum(f for _, f in d["buckets"]) == 10


def test_a_capture_without_times_is_drawn_by_line_and_says_what_was_unplaced():
    tl = timeline_of([(None, line, line == 5) for line in range(1, 11)])
    d = tl.as_dict()
    assert d["by"] == "line" and d["bucket"] == 1.0 and d["origin"] == 1.0
    assert d["buckets"][4] == [1, 1]
    mixed = timeline_of([(T0, 1, False), (None, 2, False), (None, 3, True)]).as_dict()
    assert mixed["by"] == "line" and mixed["unplaced"] == 0
    assert mixed["other"]["by"] == "time" and mixed["other"]["messages"] == 1
    listen = timeline_of([(T0, None, False), (None, None, True)]).as_dict()
    assert listen["by"] == "time" and listen["unplaced"] == 1


def test_an_empty_timeline_has_no_buckets():
    d = Timeline().as_dict()
    assert d["buckets"] == [] and d["origin"] is None and d["total"]["messages"] == 0
    assert Timeline.from_dict(d) == Timeline()


def test_halves_that_each_fit_fold_when_merged():
    first = [(T0 + s, s, False) for s in range(400)]
    second = [(T0 + s, s, s == 799) for s in range(400, 800)]
    merged = timeline_of(first).merge(timeline_of(second))
    assert timeline_of(first).as_dict()["bucket"] == 1.0
    assert merged.as_dict()["bucket"] == 2.0
    assert merged == timeline_of(first + second)


# Runs of consecutive lines (a capture's), long enough to fold, and times in bursts.
line_runs = st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 1500), st.booleans()),
                     max_size=4)


def _runs(runs, items):
    for first, length, timed in runs:
        for line in range(first, first + length):
            items.append((T0 + line / 16 if timed else None, line, line % 7 == 0))
    return items


@given(line_runs, adds)
def test_the_remembered_cell_counts_as_placing_every_key_anew(runs, items):
    items = _runs(runs, list(items))
    reference = Timeline()
    for at, line, failed in items:
        for series in reference.series.values():
            series._forget()  # each add from scratch: floor(key / width), the bucket's cell
        reference.add(at, line, failed)
    assert timeline_of(items) == reference
    assert timeline_of(items).as_dict() == reference.as_dict()


@given(line_runs, adds, st.integers(0, 60))
def test_adding_many_keys_at_once_places_them_as_adding_each(runs, items, cut):
    # The run loop adds its messages to the timeline in batches: add_many of their lines
    # and times, and of the failing ones', between single adds that may have left a
    # remembered cell.
    bulk = [(at, line, failed) for at, line, failed in _runs(runs, [])]
    bulk += [(at, line, failed) for at, line, failed in items if line is not None]
    bulk += [(float("nan"), 3, True), (float("inf"), 4, False)]  # placed by line only
    before, after = items[:cut], items[cut:]
    one_by_one = timeline_of(before + bulk + after)
    at_once = timeline_of(before)
    at_once.add_many([line for _, line, _ in bulk],
                     [at for at, _, _ in bulk if at is not None],
                     [line for _, line, failed in bulk if failed],
                     [at for at, _, failed in bulk if failed and at is not None])
    for at, line, failed in after:
        at_once.add(at, line, failed)
    assert at_once == one_by_one
    assert at_once.as_dict() == one_by_one.as_dict()
