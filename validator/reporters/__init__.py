"""Reporters only format a Summary (or, for ndjson, each result as it comes)."""

from __future__ import annotations

import importlib

FORMATS = ("text", "json", "ndjson", "junit", "markdown", "html")
EXTENSIONS = {"text": "txt", "json": "json", "ndjson": "ndjson", "junit": "junit.xml",
              "markdown": "md", "html": "html"}
_MODULES = {"text": "text", "json": "json_report", "junit": "junit", "markdown": "markdown",
            "html": "html"}


class _Renderers(dict):
    """format -> render(summary), each reporter imported when a run first asks for it."""

    def __missing__(self, fmt: str):
        if fmt not in _MODULES:
            raise KeyError(fmt)
        render = importlib.import_module(f"{__name__}.{_MODULES[fmt]}").render
        self[fmt] = render
        return render


RENDERERS = _Renderers()
