"""The bench command and its generator; the fast checker agrees with the detailed one.

Nothing here times anything: speed is what `wazo-bus-validator bench` prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter

import orjson
import pytest

from validator import bench
from validator.generate import FAULTS
from validator.generate.values import generation_data
from validator.catalogue import load_catalogue
from validator.check import Checker

CATALOGUE = load_catalogue()
CHECKER = Checker(CATALOGUE)
DETAILED = Checker(CATALOGUE, fast=False)


@pytest.fixture(scope="module")
def realistic():
    return bench.generate(CHECKER, 5000, "realistic", seed=11)


@pytest.fixture(scope="module")
def uniform():
    return bench.generate(CHECKER, 5000, "uniform", seed=12)


# -- the generator ---------------------------------------------------------------------------

def test_generator_is_deterministic_for_a_seed():
    a = bench.generate(CHECKER, 1500, "realistic", seed=3)
    b = bench.generate(Checker(CATALOGUE), 1500, "realistic", seed=3)
    assert a.items == b.items and a.keys == b.keys and a.intended == b.intended
    c = bench.generate(CHECKER, 1500, "realistic", seed=4)
    assert [i[1] for i in c.items] != [i[1] for i in a.items]


def test_generator_produces_the_requested_mix():
    n = 20_000
    cap = bench.generate(CHECKER, n, "VarSet=3,call_created=1,broken=1,undocumented=1", seed=1)
    counts = Counter(cap.keys)
    assert set(counts) == {"VarSet", "call_created", "broken", "undocumented"}
    for key, share in (("VarSet", 0.5), ("call_created", 1 / 6), ("broken", 1 / 6),
                       ("undocumented", 1 / 6)):
        sigma = (n * share * (1 - share)) ** 0.5
        assert abs(counts[key] - n * share) < 5 * sigma, (key, counts[key])
    names = Counter(orjson.loads(b)["name"] for (_, b, _), k in zip(cap.items, cap.keys)
                    if k in ("VarSet", "call_created"))
    assert set(names) == {"VarSet", "call_created"}


def test_realistic_preset_shares(realistic):
    mix = bench.parse_mix("realistic", CHECKER).weights
    total = sum(mix.values())
    counts = Counter(realistic.keys)
    n = len(realistic)
    for key in ("VarSet", "call_updated", "endpoint_status_update", "broken", "undocumented"):
        share = mix[key] / total
        sigma = (n * share * (1 - share)) ** 0.5
        assert abs(counts[key] - n * share) < 5 * sigma, key
    ami = sum(c for k, c in counts.items() if k[0].isupper())
    assert ami > n / 2  # a 17.08 bus is mostly AMI events


def test_uniform_mix_covers_every_documented_event(uniform):
    assert set(CHECKER.by_name) <= set(uniform.keys)


def test_valid_messages_check_ok_and_broken_ones_fail_as_intended(realistic, uniform):
    for cap in (realistic, uniform):
        for (rk, body, props), key, code in zip(cap.items, cap.keys, cap.intended):
            result = CHECKER.check(rk, body, props)
            codes = [f.code for f in result.findings]
            if code is None:
                assert result.verdict == "ok" and not codes, (key, rk, body)
            elif key == "undocumented":
                assert "N300" in codes and code in codes, (rk, body, codes)
            else:
                assert result.verdict == "fail" and code in codes, (code, rk, body, codes)


@pytest.mark.parametrize("code", sorted({c for f in FAULTS.values() for c in f.codes}))
def test_every_mutation_causes_its_code(code):
    cap = bench.generate(CHECKER, 60, f"broken:{code}", seed=5)
    for (rk, body, props), intended in zip(cap.items, cap.intended):
        assert intended == code
        result = CHECKER.check(rk, body, props)
        assert result.verdict == "fail" and code in [f.code for f in result.findings], body


def test_realistic_values_follow_the_schemas(realistic):
    bodies = {k: orjson.loads(b) for (_, b, _), k, c in zip(realistic.items, realistic.keys,
                                                           realistic.intended) if c is None}
    call = bodies["call_updated"]["data"]
    assert call["caller_id_name"] is None or " " in call["caller_id_name"]
    ami = bodies["VarSet"]["data"]
    assert ami["Event"] == "VarSet" and all(type(v) is str for v in ami.values())


@pytest.mark.parametrize("text", ["nosuchevent=1", "VarSet=x", "VarSet=-1", "broken:Z999=1",
                                  "VarSet=0"])
def test_bad_mixes_are_refused(text):
    with pytest.raises(bench.MixError):
        bench.parse_mix(text, CHECKER)


def test_presets_parse():
    names = list(generation_data(CATALOGUE).mixes) + ["realistic"]
    assert {"17.08", "documented", "failing", "uniform", "ami", "valid"} <= set(names)
    for preset in names:
        mix = bench.parse_mix(preset, CHECKER)
        assert mix.label == preset and mix.weights and all(w >= 0 for w in mix.weights.values())
    assert bench.parse_mix(None, CHECKER).label == "17.08"


# -- the fast checker ------------------------------------------------------------------------

def _same(a: Checker, b: Checker, items):
    for rk, body, props in items:
        for p in (props, None):
            ra, rb = a.check(rk, body, p), b.check(rk, body, p)
            assert ra.as_dict() == rb.as_dict(), (rk, body, p)


def test_fast_and_detailed_paths_agree_on_a_generated_capture(realistic):
    _same(CHECKER, DETAILED, realistic.items)


def test_fast_and_detailed_paths_agree_on_every_event_and_fault(uniform):
    _same(CHECKER, DETAILED, uniform.items)
    broken = bench.generate(CHECKER, 3000, "broken=3,undocumented=1", seed=13)
    _same(CHECKER, DETAILED, broken.items)


@pytest.mark.parametrize("version", ["15.01", "16.07", "16.08"])
def test_fast_and_detailed_paths_agree_for_older_targets(version):
    fast, slow = Checker(CATALOGUE, version), Checker(CATALOGUE, version, fast=False)
    cap = bench.generate(fast, 1500, "uniform", seed=14)
    _same(fast, slow, cap.items)


def _routing_key_variants(rk: str) -> list:
    return [rk, None, rk + "x", "x" + rk, rk + ".x", rk.replace(".", "-", 1), "", "ami.",
            rk.upper(), rk.rsplit(".", 1)[0]]


def _general_ok(compiled, msg, routing_key, values) -> bool:
    """No finding at all, by the general checks (the reference the per-name plans follow)."""
    if compiled.not_yet or not compiled.is_valid(msg):
        return False
    if routing_key is not None and not compiled._rk_ok(msg, routing_key, values):
        return False
    if compiled.acl is None:
        return "required_acl" not in msg
    acl = msg.get("required_acl")
    return type(acl) is str and acl == compiled.acl.fill(msg, values)


def _plan_ok(msg, routing_key) -> bool:
    result = CHECKER.check(routing_key, orjson.dumps(msg), None)
    return not result.findings


def test_each_names_plan_is_its_general_check(uniform):
    """The checker's per-name plan finds nothing exactly when the general checks pass, for
    every name and many keys."""
    seen = set()
    names = ["VarSet", "Newchannel", "A", "Z9_x", "UserEvent"]
    for (rk, body, _), key, code in zip(uniform.items, uniform.keys, uniform.intended):
        if code is not None or key in seen:
            continue
        msg = orjson.loads(body)
        hit = CHECKER.resolve(msg["name"])
        seen.add(key)
        compiled, values = hit
        variants = [dict(msg), {k: v for k, v in msg.items() if k != "required_acl"},
                    dict(msg, required_acl=None), dict(msg, required_acl=1),
                    dict(msg, required_acl=str(msg.get("required_acl")) + "x")]
        for m in variants:
            for r in _routing_key_variants(rk or ""):
                assert _plan_ok(m, r) == _general_ok(compiled, m, r, values), (m, r)
    for name in names:
        compiled, values = CHECKER.resolve(name)
        msg = {"name": name, "origin_uuid": str(uuid.UUID(int=7)), "data": {"a": "b"}}
        for r in _routing_key_variants(f"ami.{name}"):
            assert _plan_ok(msg, r) == _general_ok(compiled, msg, r, values)
        assert _plan_ok(msg, f"ami.{name}") and _plan_ok(msg, None)


def test_name_caches_are_bounded_in_count_and_length():
    checker = Checker(CATALOGUE)
    origin = str(uuid.UUID(int=1))
    for i in range(10_500):
        body = orjson.dumps({"name": f"Bench{i}", "origin_uuid": origin, "data": {}})
        assert checker.check(f"ami.Bench{i}", body).verdict == "ok"
    assert len(checker._plans) <= 10_000 and len(checker._resolved) <= 10_000
    checker = Checker(CATALOGUE)
    long_name = "A" * 100_000
    body = orjson.dumps({"name": long_name, "origin_uuid": origin, "data": {}})
    assert checker.check("ami." + long_name, body).verdict == "ok"
    assert long_name not in checker._plans and long_name not in checker._resolved
    assert checker.resolve(long_name) is not None


def test_the_fast_path_answers_without_findings_and_checks_content_type(realistic):
    rk, body, props = next(i for i, c in zip(realistic.items, realistic.intended) if c is None)
    assert CHECKER.check(rk, body, props).findings == ()
    result = CHECKER.check(rk, body, {"content_type": "application/json; charset=utf-8"})
    assert result.verdict == "ok" and result.findings == ()
    assert [f.code for f in CHECKER.check(rk, body, {}).findings] == ["B105"]


# -- the command -----------------------------------------------------------------------------

EXPECTED_KEYS = {"bench", "tool", "machine", "versions", "capture", "repeats", "chunks", "vs_floor",
                 "pipeline_messages", "rates", "rates_all", "ratios", "startup", "rss_growth",
                 "peak_rss_mb", "live", "targets", "process"}


def _run_bench(*args, timeout=600):
    out = subprocess.run([sys.executable, "-m", "validator", "bench", *args],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    return out, json.loads(lines[-1])


def test_bench_command_prints_a_table_and_a_json_line():
    out, data = _run_bench("--messages", "2000", "--rss-messages", "5000", "--startup-runs", "1",
                           "--repeats", "1", "--process-messages", "500", "--process-runs", "1")
    assert set(data) == EXPECTED_KEYS
    assert set(data["rates"]) == {"parse_floor", "naive_baseline", "checker", "checker_summary",
                                  "detailed_only"}
    assert all(v > 0 for v in data["rates"].values())
    assert {"checker_vs_floor", "checker_vs_naive"} <= set(data["ratios"])
    assert data["capture"]["messages"] == 2000 and data["capture"]["mix"] == "17.08"
    assert any(k.startswith("erratum:") for k in data["capture"]["shapes"])
    assert data["process"]["messages"] == 500 and data["process"]["rate"] > 0
    assert data["process"]["vs_floor"] > 0 and "whole process" in out.stdout
    assert sum(data["capture"]["verdicts"].values()) == 2000
    assert data["rss_growth"]["messages"] == 5000
    assert {"imports", "load", "compile", "total", "process_wall"} <= set(data["startup"])
    assert data["live"] is None
    assert set(data["targets"]) == {"checker_vs_floor", "checker_vs_naive", "startup_seconds",
                                    "rss_growth_mb", "live_listen_cpu_beyond_parse_only_us",
                                    "live_listen_vs_parse_only", "process_check_vs_floor"}
    assert data["targets"]["checker_vs_floor"]["target"] == 0.4
    assert "(a) parse floor" in out.stdout and "c/a =" in out.stdout


def test_bench_command_usage_errors():
    out = subprocess.run([sys.executable, "-m", "validator", "bench", "--mix", "nosuch=1",
                          "--messages", "10"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "nosuch" in out.stderr and len(out.stderr.splitlines()) == 1


def test_presets_follow_the_target_version():
    old = Checker(CATALOGUE, "16.07")
    mix = bench.parse_mix("uniform", old).weights
    assert "plugin_install_progress" not in mix and "call_created" in mix
    cap = bench.generate(old, 2000, "uniform", seed=2)
    for (rk, body, props), code in zip(cap.items, cap.intended):
        if code is None:
            assert old.check(rk, body, props).verdict == "ok", body
    cap = bench.generate(old, 20, "plugin_install_progress=1", seed=2)
    assert set(cap.intended) == {"V700"}
    for rk, body, props in cap.items:
        assert "V700" in [f.code for f in old.check(rk, body, props).findings]


def test_the_1708_mix_carries_erratum_shapes_and_a_few_broken_messages():
    cap = bench.generate(CHECKER, 3000, "17.08", seed=21)
    shapes = Counter(cap.mutations)
    n = len(cap)
    errata = {k: v for k, v in shapes.items() if k and k.startswith("erratum:")}
    broken = sum(v for k, v in shapes.items() if k and not k.startswith("erratum:"))
    assert {"erratum:E1", "erratum:E5"} <= set(errata) and sum(errata.values()) > 0.1 * n
    assert 0.01 * n < broken < 0.08 * n
    for (rk, body, props), key, code, shape in zip(cap.items, cap.keys, cap.intended,
                                                   cap.mutations):
        result = CHECKER.check(rk, body, props)
        if shape and shape.startswith("erratum:"):
            assert result.verdict == "warn" and {f.erratum for f in result.findings} == {
                shape[8:]}, body
        elif key == "broken":
            assert result.verdict == "fail" and code in [f.code for f in result.findings]
        elif code is None:
            assert result.verdict == "ok", body
    # Every status update of the shipped code lacks xivo_id (erratum E1's share is 1).
    status = [s for k, s in zip(cap.keys, cap.mutations) if k == "user_status_update"]
    assert status and set(status) == {"erratum:E1"}


def test_the_failing_mix_fails_every_message():
    cap = bench.generate(CHECKER, 600, "failing", seed=22)
    assert all(CHECKER.check(*item).verdict == "fail" for item in cap.items)
    assert len(set(cap.mutations)) > 10
