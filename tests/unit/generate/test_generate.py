"""Property tests of the one generator (validator/generate/): valid messages, erratum shapes
and the fault table as the mutation oracle.

- every generated message of every event, at every representative version where the event
  exists, checks 'ok' (and carries the routing key and ACL its templates give);
- erratum variants check 'warn', every finding carrying the erratum's id;
- single catalogue-driven mutations are each caught with their expected codes, with a
  mutation score printed and required at 100%;
- the fast path and the detailed path agree on every message generated or mutated here.

A failing hypothesis test prints the minimal message (note()) and a @reproduce_failure blob;
a failing seeded sweep prints the seed: `replay(version, event, kind, seed)` rebuilds it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import strategies_profile  # noqa: E402,F401  (the deterministic hypothesis profile)

import copy
import re
from collections import Counter

import pytest
import yaml
from hypothesis import given, note, settings
from hypothesis import strategies as st

from validator import generate as S
from validator.generate import strategies as HS
from validator.catalogue import load_catalogue, parse_version
from validator.check import Checker

CAT = load_catalogue()
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
VERSIONS = HS.representative_versions(CAT)
G17 = HS.generator(CAT, CAT.contract_version)
_CHECKERS: dict = {}


def checkers(catalogue, version):
    key = (id(catalogue), version)
    if key not in _CHECKERS:
        _CHECKERS[key] = (catalogue, Checker(catalogue, version),
                          Checker(catalogue, version, fast=False))
    return _CHECKERS[key][1:]


def describe(example, result=None, seed=None) -> str:
    lines = []
    if seed is not None:
        lines.append(f"seed: {seed!r}")
    lines += [f"routing key: {example.routing_key}",
              f"body: {example.body.decode('utf-8', 'replace')}"]
    if result is not None:
        lines += [f"verdict: {result.verdict}"] + [
            f"  {f.code} {f.severity} {f.path}: {f.message} [{f.erratum}]"
            for f in result.findings]
    return "\n".join(lines)


def check_both(version, example, catalogue=CAT):
    """The fast path's result, after asserting the detailed path gives the very same."""
    fast, detailed = checkers(catalogue, version)
    one = fast.check(example.routing_key, example.body, example.properties)
    two = detailed.check(example.routing_key, example.body, example.properties)
    assert one.as_dict() == two.as_dict(), "fast and detailed paths differ:\n" + \
        describe(example) + f"\nfast: {one.as_dict()}\ndetailed: {two.as_dict()}"
    return one


def template_value(spec, version, key, msg, name_values):
    """The routing key or ACL the catalogue's template gives, rendered here independently."""
    view = spec.at_version(parse_version(version))
    if view[key] is None:
        return None

    def fill(m):
        ph = m.group(1)
        if ph in name_values:
            return name_values[ph]
        node = msg
        for part in view["bindings"][ph].split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        return "None" if node is None else str(node)
    return re.sub(r"\{([^{}]+)\}", fill, view[key])


def blocking_codes(result) -> set:
    return {f.code for f in result.findings if f.severity in ("error", "warning")}


# -- valid messages --------------------------------------------------------------------------

EVENTS = [t.label for t in HS.generator(CAT, CAT.version_range[1]).targets]


def versions_of(event) -> list[str]:
    return [v for v in VERSIONS if HS.generator(CAT, v).exists(HS.generator(CAT, v).target(event))]


def assert_valid(version, example):
    result = check_both(version, example)
    assert result.verdict == "ok" and not result.findings, describe(example, result)
    spec = HS.generator(CAT, version).target(example.name).spec
    msg = example.msg
    assert example.routing_key == template_value(spec, version, "routing_key", msg,
                                                 example.name_values)
    acl = template_value(spec, version, "required_acl", msg, example.name_values)
    assert msg.get("required_acl") == acl and (acl is not None) == ("required_acl" in msg)
    assert example.properties == {"content_type": CAT.meta["content_type"]}


@pytest.mark.parametrize("event", EVENTS)
@settings(max_examples=strategies_profile.examples(10))
@given(data=st.data())
def test_generated_messages_check_ok(event, data):
    """Hypothesis: any version where the event exists, any message: ok, consistent keys."""
    version = data.draw(st.sampled_from(versions_of(event)), label="version")
    example = data.draw(HS.examples(CAT, event, version))
    note(describe(example))
    assert_valid(version, example)


VALID_CASES = [(v, t.label) for v in VERSIONS for t in HS.generator(CAT, v).targets]


def test_generated_messages_check_ok_at_every_version():
    """Seeded sweep: every event at every representative version where it exists."""
    for version, event in VALID_CASES:
        g = HS.generator(CAT, version)
        for i in range(8):
            seed = f"valid:{version}:{event}:{i}"
            example = g.valid(S.RandomSource(seed), g.target(event))
            try:
                assert_valid(version, example)
            except AssertionError as exc:
                raise AssertionError(f"{seed!r} at {version}: {exc}") from None


@settings(max_examples=strategies_profile.examples(30))
@given(message=HS.messages(CAT))
def test_messages_strategy_gives_whole_messages(message):
    routing_key, properties, body = message
    assert isinstance(routing_key, str) and isinstance(body, bytes)
    assert check_both(CAT.contract_version, S.Example(None, "", routing_key, properties, body)
                      ).verdict == "ok"


def test_every_event_and_the_ami_family_are_generated():
    labels = {t.label for t in G17.targets}
    assert set(CAT.all_names()) <= labels
    assert any(spec.is_open_family and spec.key in labels for spec in CAT.events)
    ami = [G17.valid(S.RandomSource(i), t) for i in range(40) for t in G17.targets
           if t.name is None]
    names = Counter(ex.name for ex in ami)
    assert len(names) > 10 and "QueueMemberStatus" in names  # realistic AMI event names
    for ex in ami:
        assert all(isinstance(v, str) for v in ex.msg["data"].values())  # AMI headers


@pytest.mark.parametrize("version", VERSIONS)
def test_events_of_later_versions_give_V700(version):
    g = HS.generator(CAT, version)
    later = [t for t in g.all_targets if not g.exists(t)]
    for target in later:
        example = HS.generator(CAT, target.spec.since).valid(
            S.RandomSource(f"v700:{target.label}"), target)
        result = check_both(version, example)
        assert result.verdict == "fail" and "V700" in blocking_codes(result), \
            describe(example, result)


def test_shapes_of_generation_yaml_match_their_patterns():
    data = S.generation_data(CAT)
    src = S.RandomSource(5)
    for pattern, template in data.shapes.items():
        for _ in range(200):
            assert re.search(pattern, data.expand(src, template))


def test_realistic_values():
    g = HS.generator(CAT, values=S.REALISTIC)
    src = S.RandomSource(5)
    call = g.valid(src, g.target("call_created")).msg["data"]
    assert re.fullmatch(r"1[45][0-9]{8}\.[0-9]+", call["call_id"])
    assert re.fullmatch(r"201[5-7]-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", call["creation_time"])
    vm = g.valid(src, g.target("user_voicemail_message_created")).msg["data"]
    assert re.fullmatch(r"1[45][0-9]{8}-[0-9]{8}", vm["message_id"])
    status = {G17.valid(S.RandomSource(i), G17.target("plugin_install_progress")).msg["data"]
              ["status"] for i in range(60)}
    assert status == set(CAT.events[[e.name for e in CAT.events].index(
        "plugin_install_progress")].data["properties"]["status"]["enum"])


def _catalogue_patterns(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "pattern" and isinstance(v, str):
                yield v
            else:
                yield from _catalogue_patterns(v)
    elif isinstance(node, list):
        for v in node:
            yield from _catalogue_patterns(v)


PATTERNS = sorted(set(_catalogue_patterns(CAT.raw))) + [
    r"^[A-Z]{2}-[0-9]{3}$", r"^(foo|bar)+[^.]*$", r"^\w+@\w+\.com$", r"^[^a-z]{3,5}$",
    r"^a{2,}b?c*?$", r"^(?:x|y)z\d\s\S$", r"^(ab)\1$", r"^[a-f0-9]{2}(:[a-f0-9]{2}){5}$",
    r"sip/[a-z0-9]+"]


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=strategies_profile.examples(10))
@given(data=st.data())
def test_regex_strings_match_their_pattern(pattern, data):
    text = S.regex_string(S.HypothesisSource(data.draw), pattern)
    assert re.search(pattern, text), text


# -- errata -----------------------------------------------------------------------------------

ERRATA_CASES = [(e.id, t.label) for t in G17.targets for e in G17.errata_for(t)]


@pytest.mark.parametrize("erratum,event", ERRATA_CASES, ids=[f"{e}-{n}" for e, n in ERRATA_CASES])
@settings(max_examples=strategies_profile.examples(8))
@given(data=st.data())
def test_erratum_variants_are_known_deviations(erratum, event, data):
    example = data.draw(HS.erratum_examples(CAT, event, erratum))
    note(describe(example))
    result = check_both(CAT.contract_version, example)
    assert result.verdict == "warn", describe(example, result)
    assert result.findings and all(f.erratum == erratum and f.severity == "warning"
                                   for f in result.findings), describe(example, result)


def test_erratum_variants_cover_every_cover_at_every_version():
    """Over a seeded sweep, each cover of each erratum shows up in the findings."""
    for version in VERSIONS:
        g = HS.generator(CAT, version)
        for target in g.targets:
            for erratum in g.errata_for(target):
                seen = set()
                for i in range(16):
                    seed = f"errata:{version}:{target.label}:{erratum.id}:{i}"
                    example = g.erratum_variant(S.RandomSource(seed), target, erratum,
                                                full=i % 4 == 0)
                    result = check_both(version, example)
                    assert result.verdict == "warn" and all(
                        f.erratum == erratum.id for f in result.findings), \
                        describe(example, result, seed)
                    seen |= {(f.code, f.path) for f in result.findings}
                wanted = {(c.code, c.path or "$.required_acl")
                          for c in g._applicable(erratum, target)}
                assert wanted <= seen, (version, target.label, erratum.id, wanted - seen)


# -- mutations ------------------------------------------------------------------------------------

@pytest.mark.parametrize("event", EVENTS)
@settings(max_examples=strategies_profile.examples(12))
@given(data=st.data())
def test_single_mutations_are_caught(event, data):
    kind = data.draw(st.sampled_from(G17.mutation_kinds(G17.target(event))), label="kind")
    mutant = data.draw(HS.mutants(CAT, event, kind))
    note(f"{mutant.kind}: {mutant.detail}\n" + describe(mutant.example))
    result = check_both(CAT.contract_version, mutant.example)
    assert result.verdict == "fail" and blocking_codes(result) == set(mutant.expected), \
        f"expected {sorted(mutant.expected)}\n" + describe(mutant.example, result)


def replay(version, event, kind, seed):
    """Rebuild a mutant of the seeded sweep from the seed its failure printed."""
    g = HS.generator(CAT, version)
    target = g.target(event)
    src = S.RandomSource(seed)
    return g.mutate(src, g.valid(src, target), kind, target)


def test_mutation_score(capsys):
    """Every mutation meaningful for an event, at every representative version, 2 seeds."""
    total = caught = 0
    per_kind: Counter = Counter()
    per_kind_caught: Counter = Counter()
    failures = []
    for version in VERSIONS:
        g = HS.generator(CAT, version)
        for target in g.targets:
            for kind in g.mutation_kinds(target):
                for rep in range(2):
                    seed = f"mutation-score:{version}:{target.label}:{kind}:{rep}"
                    mutant = replay(version, target.label, kind, seed)
                    assert mutant is not None, f"{kind} found no place in {target.label} " \
                        f"({seed!r})"
                    total += 1
                    per_kind[kind] += 1
                    result = check_both(version, mutant.example)
                    if result.verdict == "fail" and blocking_codes(result) == set(mutant.expected):
                        caught += 1
                        per_kind_caught[kind] += 1
                    else:
                        failures.append(f"{kind} ({mutant.detail}), expected "
                                        f"{sorted(mutant.expected)}, replay("
                                        f"{version!r}, {target.label!r}, {kind!r}, {seed!r}):\n"
                                        + describe(mutant.example, result, seed))
    with capsys.disabled():
        print(f"\nmutation score: {caught}/{total} caught ({100 * caught / total:.1f}%) over "
              f"{len(VERSIONS)} versions; " + ", ".join(
                  f"{k} {per_kind_caught[k]}/{n}" for k, n in sorted(per_kind.items())))
    assert caught == total, "\n\n".join(failures[:5])
    assert set(per_kind) == set(S.FAULTS)


def test_traffic_is_seeded_and_has_the_faulty_fraction():
    one = [(e.routing_key, e.body, m and m.example.body) for e, m in G17.traffic(3, 200, 0.25)]
    two = [(e.routing_key, e.body, m and m.example.body) for e, m in G17.traffic(3, 200, 0.25)]
    other = [(e.routing_key, e.body, m and m.example.body) for e, m in G17.traffic(4, 200, 0.25)]
    assert one == two and one != other
    assert sum(1 for *_, b in one if b is not None) == 50


def test_representative_versions():
    assert VERSIONS[0] == CAT.version_range[0] and VERSIONS[-1] == CAT.version_range[1]
    for spec in CAT.events:
        for b in ([spec.since] if spec.since else []) + [c["version"] for c in spec.changes]:
            assert b in VERSIONS
            before = [v for v in VERSIONS if parse_version(v) < parse_version(b)]
            assert before, b
    assert CAT.contract_version in VERSIONS


# -- a new catalogue entry needs no Python -------------------------------------------------------

SYNTHETIC = """
- name: widget_updated
  description: A synthetic event using the schema features the generator reads.
  since: "16.01"
  routing_key: "widgets.{tenant}.{widget_id}.updated"
  required_acl: "events.widgets.{tenant}.{owner}"
  bindings: {tenant: data.tenant, widget_id: data.id, owner: data.owner.1}
  data:
    type: object
    required: [id, tenant, owner, code, level, tags, extra, maybe, choice]
    properties:
      id: {type: integer, minimum: 1, maximum: 999}
      tenant: {type: string, minLength: 3, maxLength: 8}
      owner:
        type: array
        prefixItems: [{type: string, enum: [a, b]}, {$ref: "#/$defs/uuid"}]
        minItems: 2
        maxItems: 2
      code: {type: string, pattern: "^[A-Z]{2}-[0-9]{3}$"}
      level: {enum: [1, 2, 3]}
      tags: {type: array, items: {type: string}, minItems: 1, maxItems: 4, uniqueItems: true}
      extra: {type: object, additionalProperties: {type: integer}}
      maybe: {type: [integer, "null"]}
      choice: {anyOf: [{type: string, maxLength: 3}, {type: boolean}]}
      ratio: {type: number, minimum: 0, maximum: 1}
      nested:
        type: object
        required: [deep]
        properties:
          deep: {type: object, required: [x], properties: {x: {const: 42}}}
  changes:
    - version: "17.01"
      text: The owner became a pair.
      before:
        bindings: {tenant: data.tenant, widget_id: data.id, owner: data.owner}
        data:
          type: object
          required: [id, tenant, owner]
          properties:
            id: {type: integer, minimum: 1, maximum: 999}
            tenant: {type: string, minLength: 3, maxLength: 8}
            owner: {$ref: "#/$defs/uuid"}
- name_template: "gizmo_{gizmo}"
  title: Gizmo events
  description: A synthetic open family (lower case, so that the AMI family's pattern does
    not take its names).
  name_placeholders:
    gizmo: {pattern: "[a-z][a-z0-9]{2,6}"}
  routing_key: "gizmo.{gizmo}"
  required_acl: "events.gizmo.{gizmo}"
  data: {type: object, additionalProperties: {type: [string, integer]}}
"""

SYNTHETIC_ERRATUM = """
- id: E99
  title: Synthetic deviations
  description: Widgets send maybe as a string, and a comment when the level is 3.
  evidence: none, a test.
  events: [widget_updated]
  covers:
    - {code: D601, path: $.data.maybe, value: {type: string}}
    - code: D604
      path: $.data.comment
      value: {type: string, pattern: "^note: "}
      when: {properties: {data: {properties: {level: {const: 3}}}}}
    - code: D600
      path: $.data.code
      when: {properties: {data: {required: [legacy_code]}}}
    - {code: D604, path: $.data.legacy_code, value: {type: integer, minimum: 0}}
"""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    raw = yaml.load(open(CAT.path, encoding="utf-8"), Loader=LOADER)
    raw["events"] += yaml.safe_load(SYNTHETIC)
    raw["errata"] += yaml.safe_load(SYNTHETIC_ERRATUM)
    path = tmp_path_factory.mktemp("catalogue") / "events.yaml"
    path.write_text(yaml.dump(raw, Dumper=DUMPER, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return load_catalogue(path)


@pytest.mark.parametrize("version", ["15.10", "16.01", "16.12", "17.01", "17.13"])
def test_a_new_catalogue_entry_gets_a_strategy_with_no_new_python(synthetic, version):
    g = S.Generator(synthetic, version)
    targets = [t for t in g.targets if t.label in ("widget_updated", "gizmo_{gizmo}")]
    assert len(targets) == (2 if version >= "16.01" else 1)
    for target in targets:
        for i in range(20):
            seed = f"synthetic:{version}:{i}"
            src = S.RandomSource(seed)
            example = g.valid(src, target)
            result = check_both(version, example, synthetic)
            assert result.verdict == "ok" and not result.findings, \
                describe(example, result, seed)
            for kind in g.mutation_kinds(target):
                mutant = g.mutate(src, copy.deepcopy(example), kind, target)
                assert mutant is not None, (kind, seed)
                result = check_both(version, mutant.example, synthetic)
                assert result.verdict == "fail" and blocking_codes(result) == set(
                    mutant.expected), f"{kind}: {mutant.detail}\n" + describe(
                    mutant.example, result, seed)
            for erratum in g.errata_for(target):
                variant = g.erratum_variant(src, target, erratum, full=i % 3 == 0)
                result = check_both(version, variant, synthetic)
                assert result.verdict == "warn" and all(
                    f.erratum == erratum.id for f in result.findings), \
                    describe(variant, result, seed)


def test_generation_problems_are_named(tmp_path):
    raw = yaml.load(open(CAT.path, encoding="utf-8"), Loader=LOADER)
    raw["events"].append({"name": "odd", "description": "x", "routing_key": "odd",
                          "required_acl": None,
                          "data": {"type": "object", "required": ["a"],
                                   "properties": {"a": {"not": {"type": "string"}}}}})
    path = tmp_path / "events.yaml"
    path.write_text(yaml.dump(raw, Dumper=DUMPER, sort_keys=False), encoding="utf-8")
    g = S.Generator(load_catalogue(path))
    with pytest.raises(S.GenerationError, match="'not'"):
        g.valid(S.RandomSource(0), g.target("odd"))
