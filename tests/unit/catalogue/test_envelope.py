"""The envelope is written once (catalogue.envelope_schema): the generated files and the
checker's compiled schema say the same thing about the same envelopes."""

from __future__ import annotations

import jsonschema_rs
import pytest

from validator.catalogue import (
    ACL_ABSENT,
    ACL_OPTIONAL,
    ACL_REQUIRED,
    ENVELOPE_KEYS,
    envelope_schema,
    load_catalogue,
)
from validator.schemagen import envelope_file, event_schemas

CATALOGUE = load_catalogue()
UUID = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"
ENVELOPES = [
    ({"name": "x", "origin_uuid": UUID, "data": {}}, True),
    ({"name": "x", "origin_uuid": UUID, "data": {}, "required_acl": None}, True),
    ({"name": "x", "origin_uuid": UUID, "data": {}, "required_acl": "a.b"}, True),
    ({"name": "x", "origin_uuid": UUID, "data": {}, "required_acl": 3}, False),
    ({"name": 3, "origin_uuid": UUID, "data": {}}, False),
    ({"name": "x", "origin_uuid": "nope", "data": {}}, False),
    ({"name": "x", "origin_uuid": UUID}, False),
    ({"origin_uuid": UUID, "data": {}}, False),
]


def _valid(schema, instance) -> bool:
    defs = {"uuid": CATALOGUE.definitions["uuid"]}
    return jsonschema_rs.Draft202012Validator(dict(schema, **{"$defs": defs})).is_valid(instance)


@pytest.mark.parametrize("envelope,ok", ENVELOPES)
def test_the_file_and_the_checkers_schema_agree(envelope, ok):
    assert _valid(envelope_file(CATALOGUE), envelope) is ok
    assert _valid(envelope_schema(closed=True), envelope) is ok


def test_closed_refuses_an_extra_key_that_the_published_file_allows():
    envelope = {"name": "x", "origin_uuid": UUID, "data": {}, "extra": 1}
    assert _valid(envelope_file(CATALOGUE), envelope)
    assert not _valid(envelope_schema(closed=True), envelope)
    assert set(envelope_schema()["properties"]) == set(ENVELOPE_KEYS)


def test_acl_modes():
    with_acl = {"name": "x", "origin_uuid": UUID, "data": {}, "required_acl": "a"}
    without = {"name": "x", "origin_uuid": UUID, "data": {}}
    assert _valid(envelope_schema(acl=ACL_REQUIRED), with_acl)
    assert not _valid(envelope_schema(acl=ACL_REQUIRED), without)
    assert not _valid(envelope_schema(acl=ACL_ABSENT), with_acl)
    assert _valid(envelope_schema(acl=ACL_ABSENT), without)
    assert _valid(envelope_schema(acl=ACL_OPTIONAL), without)


def test_every_event_file_uses_the_one_envelope():
    for name, schema in event_schemas(CATALOGUE).items():
        assert schema["properties"]["origin_uuid"] == {"$ref": "#/$defs/uuid"}, name
        assert schema["required"][:3] == ["name", "origin_uuid", "data"], name
