"""Where each report of a run goes, from --format and --output alone."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from validator.errors import UsageError
from validator.outputs import parse_formats, primary_format, report_path, report_targets


def args(formats, output=None):
    formats = parse_formats(formats)
    return argparse.Namespace(formats=formats, format=primary_format(formats), output=output)


def targets(formats, output=None):
    return [(t.format, t.path) for t in report_targets(args(formats, output))]


def test_defaults_without_output():
    assert targets("text") == [("text", None)]
    assert targets("json") == [("json", Path("reports/wazo-bus-report.json"))]
    # both want stdout: ndjson takes it, the text summary goes to stderr (no target)
    assert targets("text,ndjson") == [("ndjson", None)]
    assert targets("junit,text") == [("junit", Path("reports/wazo-bus-report.junit.xml")),
                                     ("text", None)]


def test_several_formats_name_a_folder(tmp_path):
    out = tmp_path / "new"
    assert targets("markdown,junit", str(out)) == [("markdown", out / "report.md"),
                                                   ("junit", out / "report.junit.xml")]


def test_one_format_in_an_existing_folder_or_a_trailing_slash(tmp_path):
    assert targets("json", str(tmp_path)) == [("json", tmp_path / "report.json")]
    assert targets("json", f"{tmp_path}/x/") == [("json", tmp_path / "x" / "report.json")]
    assert targets("json", str(tmp_path / "r.json")) == [("json", tmp_path / "r.json")]


def test_ndjson_is_the_streamed_primary_format(tmp_path):
    a = args("junit,ndjson", str(tmp_path))
    assert a.format == "ndjson" and report_path(a) == tmp_path / "report.ndjson"


def test_dash_is_stdout_for_one_format_only():
    assert targets("json", "-") == [("json", None)]
    with pytest.raises(UsageError):
        report_targets(args("json,markdown", "-"))


def test_format_list_is_parsed_and_deduplicated():
    assert parse_formats("JUnit, markdown,junit,") == ("junit", "markdown")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_formats("pdf")
