"""DeliveryStats: exact merge, round trip through a dict, and the report lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import strategies_profile  # noqa: E402,F401

from validator.catalogue import load_catalogue  # noqa: E402
try:  # the checker module became the validator.check package on main
    from validator.check import Checker
except ImportError:
    from validator.checker import Checker
from validator.delivery.simulate import Simulator  # noqa: E402
from validator.delivery.stats import (  # noqa: E402
    NOT_AN_EVENT, UNDOCUMENTED, DeliveryStats, markdown_lines, text_lines)
from validator.pages import page_examples  # noqa: E402

CATALOGUE = load_catalogue()
CHECKER = Checker(CATALOGUE)
SIM = Simulator(CHECKER)
ORIGIN = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"
Y = "2e752722-0864-4665-887d-a78a024cf7c7"
X = "8e58d2a7-cfed-4c2e-ac72-14e0b5c26dc2"


def _call(acl_key, acl=None):
    msg = {"name": "call_updated", "origin_uuid": ORIGIN, "data": {
        "call_id": "1.2", "user_uuid": Y, "status": "Up", "talking_to": {}, "bridges": [],
        "creation_time": "2016-02-10T11:57:02.592-0500", "caller_id_name": "A",
        "caller_id_number": "1"}}
    if acl_key:
        msg["required_acl"] = acl
    return json.dumps(msg).encode()


BODIES = [e["body"] for e in page_examples(CATALOGUE, CHECKER)] + [
    _call(False), _call(True, None), _call(True, f"events.calls.{X}"),
    _call(True, f"events.calls.{Y}"),
    json.dumps({"name": "not_documented", "required_acl": None, "data": {}}).encode(),
]
DELIVERIES = [SIM.simulate(b, CHECKER.check(None, b)) for b in BODIES]


def stats_of(deliveries) -> DeliveryStats:
    stats = DeliveryStats()
    for d in deliveries:
        stats.add(d)
    return stats


def test_counts_per_event():
    d = stats_of(DELIVERIES).as_dict()
    call = d["events"]["call_updated"]
    assert call == {"messages": 4, "expected": {"concerned_user": 4},
                    "actual": {"nobody": 1, "concerned_user": 1, "other_user": 1, "everyone": 1},
                    "lost": 2, "consequences": {"W800": 1, "W801": 1, "W802": 1}}
    assert d["events"]["favorite_added"]["lost"] == 1
    assert d["events"][NOT_AN_EVENT]["messages"] == 2  # the page's two non-JSON examples
    assert d["events"][UNDOCUMENTED] == {"messages": 1, "expected": {"unknown": 1},
                                         "actual": {"everyone": 1}, "lost": 0, "consequences": {}}
    assert d["messages"] == len(BODIES)
    assert d["lost"] == 4  # call_updated 2, favorite_added 1, favorite_deleted 1
    assert d["consequences"]["W800"] == 5  # 4 page examples without their ACL, 1 call


@given(st.lists(st.sampled_from(range(len(DELIVERIES))), max_size=40), st.integers(0, 40))
def test_two_halves_merge_to_the_whole(indices, cut):
    items = [DELIVERIES[i] for i in indices]
    whole = stats_of(items)
    merged = stats_of(items[:cut]).merge(stats_of(items[cut:]))
    assert merged.as_dict() == whole.as_dict()


def test_round_trip_through_a_dict_and_json():
    stats = stats_of(DELIVERIES)
    again = DeliveryStats.from_dict(json.loads(json.dumps(stats.as_dict())))
    assert again == stats
    assert again.merge(stats).as_dict()["messages"] == 2 * len(BODIES)


def test_report_lines():
    d = stats_of(DELIVERIES).as_dict()
    text = "\n".join(text_lines(d))
    assert text.startswith(f"Delivery through xivo-websocketd 17.08: {len(BODIES)} messages, "
                           "4 lost to the users they concern")
    row = next(line for line in text_lines(d) if line.strip().startswith("call_updated"))
    assert "its user 4" in row and "another user 1" in row and "W801 1" in row
    md = markdown_lines(d)
    assert md[0] == "## Delivery through xivo-websocketd"
    assert any(line.startswith("| call_updated | 4 | its user 4 |") for line in md)
    assert text_lines(DeliveryStats().as_dict()) == [] and markdown_lines({"events": {}}) == []
