"""The live run's loss warning names each way messages may have gone unchecked."""

from validator.reporters.run_notes import loss_warning


def test_no_warning_when_nothing_may_be_lost():
    assert loss_warning({"may_have_lost": False, "lost_estimate": 0}) is None
    assert loss_warning({}) is None


def test_each_cause_is_named_with_its_figure():
    text = loss_warning({"may_have_lost": True, "lost_estimate": 120, "undrained": 7,
                         "stop_reason": "source-died: SIGKILL"})
    assert "about 120 messages" in text and "7 messages left" in text
    assert "consumer process died" in text


def test_a_full_queue_without_an_estimate_still_warns():
    text = loss_warning({"may_have_lost": True, "lost_estimate": 0, "stop_reason": "idle"})
    assert text and "may have been dropped" in text


RECORDED_GAP = {"start": 1700000000.0, "end": 1700000004.0, "reason": "connection lost"}


def test_gaps_come_from_the_live_run_else_from_each_recording():
    from validator.reporters.run_notes import run_gaps
    live = {"start": 1.0, "end": 2.0}
    assert run_gaps({"gaps": [live], "recorded": [{"gaps": [RECORDED_GAP]}]}) == [live]
    recorded = [{"may_have_lost": True, "gaps": [RECORDED_GAP]}, {"gaps": None},
                {"gaps": [RECORDED_GAP, "not a gap"]}]
    assert run_gaps({"recorded": recorded}) == [RECORDED_GAP, RECORDED_GAP]
    assert run_gaps({"recorded": {"gaps": [RECORDED_GAP]}}) == [RECORDED_GAP]
    assert run_gaps({}) == []


def test_a_replayed_recording_with_gaps_is_reported_in_every_format(tmp_path):
    # The recording's end line lists its gaps: the HTML report crashed on it (it read the
    # list of recordings as one).
    import json
    import subprocess
    import sys

    from messages import valid_message
    from validator.capture import capture_record, meta_record
    rk, msg = valid_message("user_created")
    capture = tmp_path / "rec.jsonl"
    capture.write_bytes(meta_record("start") + capture_record(rk, json.dumps(msg).encode())
                        + meta_record("end", may_have_lost=True, gaps=[RECORDED_GAP]))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "validator", "check", str(capture), "--format",
                           "html,text,markdown,junit,json", "--output", str(out), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    html = next(out.glob("*.html")).read_text()
    assert "1 connection gap" in html
    assert "connection was lost 1 time" in next(out.glob("*.txt")).read_text()
