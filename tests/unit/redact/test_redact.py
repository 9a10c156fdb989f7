"""--redact keeps the catalogue's personal-data fields out of samples and records."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from messages import CATALOGUE, CHECKER, body, valid_message  # noqa: E402  (tests/messages.py)
from validator.redact import TEXT, Redactor  # noqa: E402
from validator.summary import Summary  # noqa: E402

R = Redactor(CATALOGUE)


def test_personal_fields_become_placeholders_of_the_same_type():
    rk, msg = valid_message("user_voicemail_message_created")
    out = json.loads(R.redact_body(body(msg)))
    assert out["data"]["message"]["caller_id_name"] == TEXT
    assert out["data"]["message"]["caller_id_num"] == TEXT
    assert out["data"]["message"]["duration"] == msg["data"]["message"]["duration"]
    assert out["data"]["user_uuid"] == msg["data"]["user_uuid"]
    # the redacted message still checks as the original did
    assert CHECKER.check(rk, json.dumps(out).encode()).verdict == "ok"


def test_chat_ami_form_and_undocumented_events():
    _, chat = valid_message("chat_message_event")
    text = R.sample_text(body(chat))
    assert "Hi!" not in text and "Alice" not in text
    _, ami = valid_message("QueueMemberStatus")
    assert "petak" not in R.sample_text(body(ami))
    _, form = valid_message("call_form_result")
    out = json.loads(R.redact_body(body(form)))
    assert out["data"]["variables"] == {"firstname": TEXT, "lastname": TEXT}
    assert out["data"]["user_id"] == 40
    unknown = {"name": "mystery", "origin_uuid": chat["origin_uuid"],
               "data": {"caller": "Bob", "n": 3, "l": ["x"]}}
    assert json.loads(R.redact_body(body(unknown)))["data"] == {"caller": TEXT, "n": 0, "l": [TEXT]}
    assert "secret" not in R.sample_text(b"not json secret")


def test_finding_messages_quoting_personal_values_are_redacted():
    rk, msg = valid_message("chat_message_event")
    msg["data"]["msg"] = ["Top secret"]
    result = CHECKER.check(rk, body(msg))
    assert result.verdict == "fail"
    summary = Summary(catalogue_names=CATALOGUE.all_names(), wazo_version="17.08",
                      source="test", redactor=R)
    summary.add(result, body(msg))
    text = json.dumps(summary.as_dict())
    assert "Top secret" not in text
    assert "D601" in text


def test_finding_paths_are_read_by_the_one_json_path_parser():
    chat = next(s.name for s in CATALOGUE.events if s.personal_data and s.name
                and any(p.endswith(".msg") for p in s.personal_data))
    assert R.is_personal(chat, "$.data.msg") and R.is_personal(chat, "$.data")
    assert not R.is_personal(chat, "$.data.to[1]") and not R.is_personal(chat, "$.name")
    assert R.is_personal(chat, "$.data.not a path")  # unreadable: redacted, to be safe
