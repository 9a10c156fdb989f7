"""Template.filler (validator/check/template.py): the fill of one name's template as a
function of the message, exactly Template.fill on any message."""

from __future__ import annotations

import pytest
from messages import CHECKER, all_names, valid_message

from validator.check import Template

HOSTILE = [None, 0, 1.5, True, "", "x.y", [], {}, {"user_uuid": None}, ["a", "b"]]


def _variants(msg):
    yield msg
    yield {k: v for k, v in msg.items() if k != "data"}
    for value in HOSTILE:
        yield dict(msg, data=value)
        if isinstance(msg.get("data"), dict):
            for key in list(msg["data"])[:6]:
                yield dict(msg, data=dict(msg["data"], **{key: value}))


@pytest.mark.parametrize("name", all_names())
def test_a_names_filler_is_its_fill(name):
    compiled, values = CHECKER.resolve(name)
    _, msg = valid_message(name)
    for template in (compiled.rk, compiled.acl):
        if template is None:
            continue
        fill = template.filler(values)
        for variant in _variants(msg):
            assert fill(variant) == template.fill(variant, values), (template.text, variant)


@pytest.mark.parametrize("text", ["a.{x}", "{x}", "{x}.{y}", "a.{data.to.0}.b", "a{data.x.y}b",
                                  "lit", "{data.x}{data.y}"])
def test_fillers_of_any_shape(text):
    template = Template(text, {"x": "data.x", "y": "data.y"}, {})
    fill = template.filler({})
    for data in ({"x": "1", "y": 2, "to": ["u", "v"]}, {"x": {"y": None}}, {"to": "uv"}, [1],
                 {"x": False}, {}):
        msg = {"data": data}
        assert fill(msg) == template.fill(msg, {})
