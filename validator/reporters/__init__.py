"""Reporters only format a Summary (or, for ndjson, each result as it comes)."""

from __future__ import annotations

from . import html, json_report, junit, markdown, text

FORMATS = ("text", "json", "ndjson", "junit", "markdown", "html")
EXTENSIONS = {"text": "txt", "json": "json", "ndjson": "ndjson", "junit": "junit.xml",
              "markdown": "md", "html": "html"}
RENDERERS = {
    "text": text.render,
    "json": json_report.render,
    "junit": junit.render,
    "markdown": markdown.render,
    "html": html.render,
}
