"""What the checker builds at first use (start-up: a run meets few names, keys and covers)
is what it built eagerly: the validators and regex of a name, the owners' alternation of a
key's first word, the errata's checks, the version check without a regex."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
from messages import CATALOGUE, CT, DETAILED, all_names, body, valid_message

from validator.catalogue import envelope_schema
from validator.check import Checker, VersionError
from validator.check.compile import strict
from validator.check.routes import undocumented_schema

ORIGIN = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"


def _variants(msg):
    data = msg["data"]
    return [msg, dict(msg, extra=1), dict(msg, origin_uuid="nope"), dict(msg, data=None),
            dict(msg, data=dict(data, undocumented_field=1) if type(data) is dict else data),
            {k: v for k, v in msg.items() if k != "data"}]


@pytest.mark.parametrize("name", all_names())
def test_a_names_lazy_validators_are_the_eager_ones(name):
    checker = Checker(CATALOGUE)
    compiled, _ = checker.resolve(name)
    view = compiled.spec.at_version(checker.version)
    strict_defs = {k: strict(v) for k, v in CATALOGUE.definitions.items()}
    strict_data = strict(view["data"])
    data_schema = (dict(strict_data, **{"$defs": strict_defs})
                   if isinstance(strict_data, dict) else strict_data)
    # The compiled schema carries only the definitions it reaches, and validates as the
    # whole document does (below)
    if isinstance(strict_data, dict):
        kept = compiled.data_schema.get("$defs", {})
        assert {k: v for k, v in compiled.data_schema.items() if k != "$defs"} == strict_data
        assert kept.items() <= strict_defs.items()
        if any(isinstance(v, dict) for v in strict_data.get("properties", {}).values()):
            assert len(kept) < len(strict_defs)
    else:
        assert compiled.data_schema == data_schema
    assert checker.strict_defs == strict_defs
    fast = jsonschema_rs.Draft202012Validator(
        dict(envelope_schema(strict_data, closed=True), **{"$defs": strict_defs}))
    envelope = jsonschema_rs.Draft202012Validator(
        dict(envelope_schema(True, closed=True), **{"$defs": strict_defs}))
    data = jsonschema_rs.Draft202012Validator(data_schema)
    for msg in _variants(valid_message(name)[1]):
        assert compiled.is_valid(msg) == fast.is_valid(msg)
        assert compiled.envelope_is_valid(msg) == envelope.is_valid(msg)
        if "data" in msg:
            assert compiled.data_is_valid(msg["data"]) == data.is_valid(msg["data"])
            pruned = jsonschema_rs.Draft202012Validator(compiled.data_schema)
            assert pruned.is_valid(msg["data"]) == data.is_valid(msg["data"])
    open_patterns = {k: p.pattern for k, p in compiled.spec.name_placeholders.items()
                     if p.values is None}
    assert compiled.rk_regex.pattern == compiled.rk.regex(open_patterns)
    assert compiled.fast_validator.is_valid is not None
    with pytest.raises(AttributeError):
        compiled.no_such_attribute  # noqa: B018


@pytest.mark.parametrize("name", all_names())
def test_the_first_message_of_a_fresh_checker_with_a_wrong_key_gets_its_findings(name):
    # The key's regex, the owners' alternation and the validators are all built by it.
    rk, msg = valid_message(name)
    for key in (rk + ".x", "x" + rk, "zz.never.seen", rk.split(".", 1)[0] + ".q"):
        for variant in (msg, dict(msg, extra=1), dict(msg, required_acl="events.nobody")):
            raw = body(variant)
            got = Checker(CATALOGUE).check(key, raw, CT)
            want = DETAILED.check(key, raw, CT)
            assert got.as_dict() == want.as_dict(), (key, variant)
            assert "R400" in {f.code for f in got.findings} or any(
                f.code.startswith("R") for f in got.findings), key


@pytest.mark.parametrize("name", [n for n in all_names()
                                  if Checker(CATALOGUE).resolve(n)[0].rk.constant])
def test_a_key_with_no_placeholder_is_compared_without_a_regex(name):
    checker = Checker(CATALOGUE)
    rk, msg = valid_message(name)
    for key in (rk + ".x", rk + "\n", rk):
        got = checker.check(key, body(dict(msg, extra=1)), CT)
        assert got.as_dict() == DETAILED.check(key, body(dict(msg, extra=1)), CT).as_dict()
        assert ("R400" in {f.code for f in got.findings}) == (key != rk)
    assert not isinstance(checker.resolve(name)[0].rk_regex, re.Pattern)  # never compiled


@pytest.mark.parametrize("name", all_names())
def test_a_conforming_message_builds_neither_the_explainer_nor_the_data_validator(name):
    # A name whose messages all conform never pays for what explains their errors.
    checker = Checker(CATALOGUE)
    rk, msg = valid_message(name)
    assert checker.check(rk, body(msg), CT).verdict == "ok"
    compiled, _ = checker.resolve(name)
    assert compiled._data_validator is None
    assert compiled.explain_data == compiled._first_explain
    # The data's first error builds them, the explainer on the data validator already built.
    if not isinstance(msg.get("data"), dict):
        return
    broken = dict(msg, data=dict(msg["data"], undocumented_field=1))
    got = checker.check(rk, body(broken), CT)
    assert got.as_dict() == DETAILED.check(rk, body(broken), CT).as_dict()
    assert compiled._data_validator is not None
    assert compiled.explain_data.iter_errors == compiled._data_validator.iter_errors
    assert compiled.data_is_valid(msg["data"]) and not compiled.data_is_valid(broken["data"])
    # data_is_valid asks is_valid alone: its validator is the boolean form's (compile.py).
    assert compiled.data_is_valid == checker.boolean_validator(compiled.data_schema).is_valid


def test_the_key_regex_is_compiled_in_its_stand_ins_place_at_its_first_use():
    checker = Checker(CATALOGUE)
    compiled, _ = checker.resolve(all_names()[0])
    stand_in = compiled.rk_regex
    assert not isinstance(stand_in, re.Pattern)
    assert stand_in.fullmatch("zz.never") is None
    assert isinstance(compiled.rk_regex, re.Pattern)
    assert compiled.rk_regex.pattern == compiled.rk_source()


def test_an_undocumented_first_message_is_checked_as_by_the_eager_checker():
    uuid_def = CATALOGUE.definitions["uuid"]
    fields = CATALOGUE.meta["uuid_fields"]
    eager = jsonschema_rs.Draft202012Validator(undocumented_schema(uuid_def, fields))
    for data in ({"id": 1}, {"user_uuid": "nope"}, {"user_uuid": ORIGIN}, {"x": [{"uuid": 3}]}):
        msg = {"name": "never_documented", "origin_uuid": ORIGIN, "data": data}
        for key in (None, "ami.VarSet", "zz.zz"):
            checker = Checker(CATALOGUE)
            got = checker.check(key, body(msg), CT)
            assert got.as_dict() == DETAILED.check(key, body(msg), CT).as_dict()
            assert checker.undocumented_is_valid(msg) == eager.is_valid(msg)
    checker = Checker(CATALOGUE)
    assert checker.is_uuid(ORIGIN) and not checker.is_uuid("nope")
    assert checker.is_uuid_field("user_uuid") and not checker.is_uuid_field("name")


def test_an_open_familys_name_regex_is_compiled_at_the_first_undocumented_name():
    checker = Checker(CATALOGUE)
    assert all(type(family[0]) is str for family in checker.open_families)
    names = [n for n in all_names() if checker.by_name.get(n) is None]
    assert names  # an open family's names
    for name in names + ["lowercase_never", "Zz"]:
        hit = checker.resolve(name)
        want = next(((spec, {ph: m.group(f"n{i}") for i, ph in enumerate(spec.name_placeholders)})
                     for source, spec, _ in checker.open_families
                     if (m := re.fullmatch(source, name))), None)
        assert (hit is None) == (want is None), name
        if hit is not None:
            assert (hit[0].spec, hit[1]) == want


def test_the_errata_checks_built_at_first_use_match_as_the_eager_ones():
    lazy, eager = Checker(CATALOGUE).errata, Checker(CATALOGUE).errata
    for covers in eager.by_key.values():
        for cc in covers:
            cc.build()
    for (name, code), covers in eager.by_key.items():
        if name not in all_names():
            continue
        msg = valid_message(name)[1]
        for cc in covers:
            for path in {cc.cover.path, "$.data.x", None}:
                for value in (None, "x", 1, ORIGIN):
                    assert (lazy.match(name, code, path, value, msg)
                            == eager.match(name, code, path, value, msg))


@pytest.mark.parametrize("text", ["17.08", "99.99", "00.00"])
def test_a_version_like_17_08_is_read_without_a_regex(text):
    try:
        Checker(CATALOGUE, text)
    except VersionError as exc:
        assert "outside the catalogue's range" in str(exc)


@pytest.mark.parametrize("text", ["1.08", "17.8", "17.080", "17-08", "\u0661\u0667.08", "17.0८",
                                  " 17.08", "17.08\n", "", "ab.cd", 17.08])
def test_a_version_not_like_17_08_is_refused_as_the_regex_refused_it(text):
    assert not (isinstance(text, str) and re.fullmatch(r"[0-9]{2}\.[0-9]{2}", text))
    with pytest.raises(VersionError, match="is not a Wazo version"):
        Checker(CATALOGUE, text)



def test_equal_schemas_share_one_validator():
    checker = Checker(CATALOGUE)
    one = checker.validator({"type": "object", "required": ["a"]})
    assert checker.validator({"required": ["a"], "type": "object"}) is one  # key order aside
    other = checker.validator({"type": "object", "required": ["b"]})
    assert other is not one
    assert one.is_valid({"a": 1}) and not one.is_valid({"b": 1})
    assert other.is_valid({"b": 1}) and not other.is_valid({"a": 1})


def test_no_schema_is_built_twice(monkeypatch):
    # The names of one family share their data's schema, and errata covers repeat: checking
    # every documented name, conforming and not, builds each distinct schema once.
    built = []
    real = jsonschema_rs.Draft202012Validator

    def counting(schema, **options):
        built.append(repr((schema, options)))
        return real(schema, **options)

    checker = Checker(CATALOGUE)
    monkeypatch.setattr(jsonschema_rs, "Draft202012Validator", counting)
    for name in all_names():
        rk, msg = valid_message(name)
        for variant in _variants(msg):
            checker.check(rk, body(variant), CT)
    assert len(built) > len(all_names())
    assert len(built) == len(set(built))
