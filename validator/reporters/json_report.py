"""The complete summary as JSON (with its format_version)."""

from __future__ import annotations

import orjson


def render(summary) -> bytes:
    # Bytes, as written: a large report's decoding to text and encoding back cost more than
    # its serialization.
    return orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
                        default=str)
