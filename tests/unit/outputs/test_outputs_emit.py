"""emit_reports: every asked-for report rendered from one dict of the finished run."""

from __future__ import annotations

import argparse
import json

from messages import CATALOGUE, CHECKER, body, valid_message
from validator.commands import common
from validator.outputs import emit_reports
from validator.run import Run
from validator.summary import Summary


def _finished_summary() -> Summary:
    summary = Summary(catalogue_names=CATALOGUE.all_names(), wazo_version="17.08", source="t")
    rk, msg = valid_message("user_created")
    run = Run(CHECKER, summary)
    for line, variant in enumerate([msg, dict(msg, extra=1), {"name": 5}], start=1):
        run.replay_lines([json.dumps({"routing_key": rk, "body": body(variant).decode()})
                          .encode()], line)
    return summary.finish(stop_reason="done")


def test_several_reports_are_rendered_from_one_dict(tmp_path, monkeypatch, capsys):
    summary = _finished_summary()
    built = []
    real = Summary._as_dict
    monkeypatch.setattr(Summary, "_as_dict", lambda self: built.append(1) or real(self))
    parser = argparse.ArgumentParser()
    common.add_report_options(parser)
    args = parser.parse_args(["--format", "json,junit,markdown,html", "--output",
                              str(tmp_path / "out")])
    common.prepare_outputs(args)
    emit_reports(args, summary)
    assert len(built) == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["totals"]["messages"] == 3 and report == real(summary) | {
        "run": report["run"]}
    assert "3 messages" in capsys.readouterr().out
    # Outside emit_reports, as_dict() is built afresh: the summary may change again.
    summary.messages += 1
    assert summary.as_dict()["totals"]["messages"] == 4 and len(built) == 2
