"""Reporters only format a Summary (or, for ndjson, each result as it comes)."""

from __future__ import annotations

from . import json_report, junit, markdown, text

FORMATS = ("text", "json", "ndjson", "junit", "markdown")
EXTENSIONS = {"text": "txt", "json": "json", "ndjson": "ndjson", "junit": "junit.xml",
              "markdown": "md"}
RENDERERS = {
    "text": text.render,
    "json": json_report.render,
    "junit": junit.render,
    "markdown": markdown.render,
}
