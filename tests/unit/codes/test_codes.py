"""Codes carry their category: every report groups codes by these, never by its own map."""

from __future__ import annotations

import pytest

from validator import codes as C


def test_every_code_has_a_category_including_the_input_codes():
    for code in C.CODES:
        assert C.category_of(code.code) in C.CATEGORY_BY_NAME, code
    assert C.category_of("X901") == "input"
    assert C.category_of("X900") == "input"
    assert C.category_of("D602") == "data"
    assert C.category_of("A501") == "required-acl"


def test_every_category_has_codes_and_the_table_follows_the_category_order():
    order = [c.name for c in C.CATEGORIES]
    seen = list(dict.fromkeys(C.category_of(c.code) for c in C.CODES))
    assert seen == order
    assert all(C.codes_of(name) for name in order)
    assert sum(len(C.codes_of(name)) for name in order) == len(C.CODES)


def test_category_letters_and_names_are_unique():
    assert len({c.letter for c in C.CATEGORIES}) == len(C.CATEGORIES)
    assert len(C.CATEGORY_BY_NAME) == len(C.CATEGORIES)


def test_unknown_code_has_no_category():
    with pytest.raises(KeyError):
        C.category_of("Z999")
