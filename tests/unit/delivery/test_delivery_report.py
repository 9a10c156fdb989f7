"""The run's delivery counting takes shortcuts for conforming messages; it must count exactly
what simulating every message would."""

from __future__ import annotations

import copy
import json
import random
import re
import uuid
from pathlib import Path

import pytest

from messages import CATALOGUE, CHECKER, CT, all_names, valid_message
from validator.bench import generate
from validator.check import Checker
from validator.check.template import MISSING
from validator.delivery.profiles import Profile, Profiles
from validator.delivery.report import DeliveryReport
from validator.delivery.simulate import Simulator
from validator.delivery.stats import DeliveryStats


def _traffic(rounds: int):
    """Every documented event, each round with fresh UUIDs (other users, other calls), some
    with their ACL removed or nulled."""
    out = []
    for r in range(rounds):
        for name in all_names():
            try:
                rk, msg = valid_message(name)
            except KeyError:
                continue
            text = json.dumps(msg)
            for old in {v for v in _uuids(msg)}:
                new = str(uuid.UUID(int=hash((old, r)) & ((1 << 122) - 1) | (4 << 76)))
                text, rk = text.replace(old, new), rk.replace(old, new)
            msg = json.loads(text)
            if r % 3 == 1 and "required_acl" in msg:
                del msg["required_acl"]
            elif r % 3 == 2 and "required_acl" in msg:
                msg["required_acl"] = None
            out.append((rk, json.dumps(msg).encode()))
    return out


def _uuids(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _uuids(v)
    elif isinstance(value, list):
        for v in value:
            yield from _uuids(v)
    elif isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        yield value


def test_shortcuts_count_what_simulating_every_message_counts():
    report, sim = DeliveryReport(CHECKER), Simulator(CHECKER)
    counted, reference = DeliveryStats(), DeliveryStats()
    for rk, body in _traffic(9):
        result = CHECKER.check(rk, body, CT)
        reference.add(sim.simulate(body, result))
        report.enrich(result, body, counted)
    assert report.counted_as  # the shortcut was taken
    assert counted.as_dict() == reference.as_dict()


def test_a_consequence_becomes_an_info_finding_that_keeps_the_verdict():
    rk, msg = valid_message("users_services_dnd_updated")
    del msg["required_acl"]
    body = json.dumps(msg).encode()
    result = CHECKER.check(rk, body, CT)
    verdict = result.verdict
    enriched = DeliveryReport(CHECKER).enrich(result, body, DeliveryStats())
    assert enriched.verdict == verdict
    assert [f.code for f in enriched.findings if f.code.startswith("W")] == ["W800"]
    assert "never delivered to any websocket client" in enriched.findings[-1].message


# -- the shortcuts against the plain simulation, on generated traffic and its ACL mistakes --

OTHER = "5d1c2c6e-49f6-4f62-9b0e-0f4b8a1e22c4"


def _mistakes(msg: dict, concerns: tuple | None, rng: random.Random):
    """The message, and what a publisher could get wrong in its ACL or its user's UUID."""
    yield msg
    acl = msg.get("required_acl")
    user = _at(msg, concerns) if concerns else None
    uuids = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                       json.dumps(msg))
    some = rng.choice(uuids) if uuids else OTHER
    for value in (MISSING, None, 7, "events.statuses.users", f"events.calls.{some}",
                  f"events.users.{some}.services.dnd.updated", f"events.chat.message.{some}.{some}",
                  f"events.config.users.{OTHER}.forwards.busy.updated"):
        yield _with_acl(msg, value)
    if isinstance(acl, str):
        yield _with_acl(msg, acl + "\n")
        yield _with_acl(msg, acl.replace(user, OTHER) if isinstance(user, str) else acl + ".x")
    if concerns and isinstance(user, str):
        for value in (OTHER, user + "\n", None, some):
            changed = copy.deepcopy(msg)
            _set(changed, concerns, value)
            yield changed


def _with_acl(msg, value):
    changed = dict(msg)
    changed.pop("required_acl", None)
    if value is not MISSING:
        changed["required_acl"] = value
    return changed


def _at(msg, path):
    node = msg
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _set(msg, path, value):
    node = _at(msg, path[:-1])
    if isinstance(node, dict) or (isinstance(node, list) and path[-1] < len(node)):
        node[path[-1]] = value


@pytest.mark.parametrize("seed", [1, 2])
def test_the_shortcuts_count_and_word_what_simulating_every_message_does(seed):
    """17.08 traffic (each message, then a few of its ACL or user mistakes, each with new
    UUIDs now and then): enrich's findings and counts are the plain simulation's."""
    report, sim, rng = DeliveryReport(CHECKER), Simulator(CHECKER), random.Random(seed)
    counted, reference = DeliveryStats(), DeliveryStats()
    consequences = set()
    for rk, body, props in generate(CHECKER, 700, "17.08", seed=seed).items:
        try:
            msg = json.loads(body)
        except ValueError:
            bodies = [body]
        else:
            concerns = sim.concerns.get(msg.get("name")) if isinstance(msg, dict) else None
            variants = list(_mistakes(msg, concerns, rng)) if isinstance(msg, dict) else [msg]
            bodies = [json.dumps(v).encode() for v in [variants[0], *rng.sample(
                variants[1:], min(4, len(variants) - 1))]]
        for body in bodies:
            result, decoded = CHECKER.check_parsed(rk, body, props)
            delivery = sim.simulate(body, result)
            reference.add(delivery)
            # the run hands on the decoded body; other callers may not have one
            got = report.enrich(result, body, counted, decoded if rng.random() < 0.8 else MISSING)
            want = result.findings
            if delivery.consequence is not None:
                consequences.add(delivery.consequence.code)
                want = want + (delivery.consequence.finding(),)
                want[-1].erratum = None
            assert [f.as_dict() for f in got.findings] == [f.as_dict() for f in want]
    assert counted.as_dict() == reference.as_dict()
    assert report.shapes and report.counted_as  # the shortcuts were taken
    assert consequences >= {"W800", "W801", "W802", "W803", "W804", "W805", "W806"}


def test_a_message_whose_findings_were_all_left_out_is_counted_as_any_other():
    # --ignore N300: an undocumented event with no finding left (it used to crash the run)
    checker = Checker(CATALOGUE, ignore={"N300"})
    body = b'{"name": "call_log_created", "origin_uuid": "%s", "data": {"id": 1}}' % OTHER.encode()
    result, msg = checker.check_parsed("call_logs.created", body, None)
    assert result.findings == ()
    stats = DeliveryStats()
    assert DeliveryReport(checker).enrich(result, body, stats, msg) is result
    assert stats.as_dict()["events"] == {"(undocumented events)": {
        "messages": 1, "expected": {"unknown": 1}, "actual": {"nobody": 1}, "lost": 0,
        "consequences": {}}}


def test_the_values_an_acl_is_filled_from_make_its_shape():
    # With a policy that names the plugin events' UUID and status, and the event concerning
    # the user of its UUID, who receives them depends on those values and on which are equal
    # (the bundled policy names neither: every such message goes to admins).
    user = Profile("user", ("events.plugin.install.*.me", "events.plugin.*.*.completed",
                            "events.calls.me", "websocketd"))
    profiles = Profiles(Path("test"), {"user": user, "admin": Profile("admin", ("events.#",))},
                        "user", "admin")
    concerns = {"plugin_install_progress": ("data", "uuid")}
    report = DeliveryReport(CHECKER, profiles, concerns)
    sim = Simulator(CHECKER, profiles, concerns)
    counted, reference = DeliveryStats(), DeliveryStats()
    rk, msg = valid_message("plugin_install_progress")
    rng = random.Random(5)
    for _ in range(300):
        msg["data"]["uuid"] = rng.choice([str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                                          OTHER, "x", "None"])
        msg["data"]["status"] = rng.choice(["completed", "starting", msg["data"]["uuid"], OTHER,
                                            OTHER + "\n"])  # (Python's $ matches before it)
        msg["required_acl"] = rng.choice([
            f"events.plugin.install.{msg['data']['uuid']}.{msg['data']['status']}",
            f"events.plugin.install.{OTHER}.completed"])
        body = json.dumps(msg).encode()
        result, decoded = CHECKER.check_parsed(rk, body, CT)
        delivery = sim.simulate(body, result)
        reference.add(delivery)
        got = report.enrich(result, body, counted, decoded)
        assert got.findings[len(result.findings):] == ((delivery.consequence.finding(),)
                                                       if delivery.consequence else ())
    assert counted.as_dict() == reference.as_dict()
    actual = reference.as_dict()["events"]["plugin_install_progress"]["actual"]
    assert {"concerned_user", "other_user", "all_users", "admins"} <= set(actual)  # they mattered
