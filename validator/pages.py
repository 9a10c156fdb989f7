"""The page's own examples as a capture, built from the catalogue.

Each example's routing key is its own when the catalogue gives one (the page's two examples
that are not valid JSON), else the event's template filled from the example's data.
"""

from __future__ import annotations

import orjson

from .capture import capture_record
from .catalogue import Catalogue
from .check import MISSING, Checker

CONTENT_TYPE = {"content_type": "application/json"}


def example_routing_key(checker: Checker, example: dict) -> str | None:
    if example.get("routing_key"):
        return example["routing_key"]
    msg = orjson.loads(example["body"])
    hit = checker.resolve(msg["name"])
    if hit is None:
        return None
    filled = hit[0].rk.fill(msg, hit[1])
    return None if filled is MISSING else filled


def page_examples(catalogue: Catalogue, checker: Checker | None = None) -> list[dict]:
    """[{event, routing_key, body (bytes), expect}] in catalogue order."""
    checker = checker or Checker(catalogue)
    out = []
    for spec in catalogue.events:
        if not spec.example:
            continue
        out.append({
            "event": spec.key,
            "routing_key": example_routing_key(checker, spec.example),
            "body": spec.example["body"].encode("utf-8"),
            "expect": spec.example.get("expect") or {"verdict": "ok", "codes": []},
        })
    return out


def page_examples_capture(catalogue: Catalogue, checker: Checker | None = None) -> bytes:
    return b"".join(
        capture_record(e["routing_key"], e["body"], CONTENT_TYPE,
                       catalogue.meta["exchange"]["name"])
        for e in page_examples(catalogue, checker))
