"""The delivery consequence codes: the W rows of the one code table (validator/codes.py)."""

from __future__ import annotations

from ..codes import CODES, INFO

SEVERITY = INFO
DELIVERY_CODES: tuple[tuple[str, str, str], ...] = tuple(
    (c.code, c.slug, c.summary) for c in CODES if c.code.startswith("W"))
