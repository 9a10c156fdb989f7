"""The complete summary as JSON (with its format_version)."""

from __future__ import annotations

import orjson


def render(summary) -> str:
    return orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2, default=str).decode() + "\n"
