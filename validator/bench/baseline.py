"""The pipelines bench compares offline: the orjson parse floor, the naive baseline
(json.loads + Python jsonschema, one prebuilt validator per event name, errors collected;
no format checking, jsonschema's default) and the checker's loops."""

from __future__ import annotations

import json
import re

import orjson

from ..catalogue import Catalogue
from ..check import MISSING, Checker


class NaiveBaseline:
    """json.loads + Python jsonschema, one prebuilt validator per event name (the generated
    whole-message schemas; a family with a name pattern is one validator), errors collected.
    No format checking: jsonschema's default."""

    def __init__(self, catalogue: Catalogue):
        import jsonschema

        from ..schemagen import event_schemas
        self.by_name: dict = {}
        self.patterns: list = []
        for schema in event_schemas(catalogue).values():
            validator = jsonschema.validators.validator_for(schema)(schema)
            name = schema["properties"]["name"]
            if "const" in name:
                self.by_name[name["const"]] = validator
            else:
                self.patterns.append((re.compile(name["pattern"]), validator))
        self._cache: dict = {}

    def validator_for(self, name):
        hit = self._cache.get(name, MISSING)
        if hit is MISSING:
            hit = self.by_name.get(name)
            if hit is None:
                hit = next((v for p, v in self.patterns if p.search(name)), None)
            if len(self._cache) < 10_000:
                self._cache[name] = hit
        return hit

    def run(self, bodies) -> int:
        loads = json.loads
        bad = 0
        for body in bodies:
            try:
                msg = loads(body)
            except ValueError:
                bad += 1
                continue
            name = msg.get("name") if type(msg) is dict else None
            validator = self.validator_for(name) if type(name) is str else None
            if validator is None:
                bad += 1
                continue
            if list(validator.iter_errors(msg)):
                bad += 1
        return bad


def parse_floor_loop(bodies):
    loads = orjson.loads
    for body in bodies:
        try:
            loads(body)
        except orjson.JSONDecodeError:
            pass


def checker_loop(check, items):
    for rk, body, props in items:
        check(rk, body, props)


def checker_summary_loop(check, add, items):
    for rk, body, props in items:
        add(check(rk, body, props), body)


def new_summary(checker: Checker, source: str = "bench"):
    from ..summary import Summary
    return Summary(catalogue_names=checker.catalogue.all_names(),
                   wazo_version=checker.version_text, source=source)

