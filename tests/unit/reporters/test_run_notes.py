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
