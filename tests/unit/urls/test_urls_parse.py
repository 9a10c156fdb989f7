"""Our own AMQP URL parser: a password with an unencoded '/', '#', '?' or '@' is read whole,
reaches pika encoded, and no piece of it appears in any message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pika
import pytest
from hypothesis import given, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import strategies_profile  # noqa: E402,F401 - the project's deterministic profile
from validator.urls import UrlError, checked_url, parse_amqp_url, redact_url, scrub

SECRET = "S3cret/Pw#x"


@pytest.mark.parametrize("url,user,password,host,port,vhost", [
    ("amqp://guest:S3cret/Pw@127.0.0.1:5672/vh", "guest", "S3cret/Pw", "127.0.0.1", 5672, "vh"),
    ("amqp://guest:S3c#ret@h/%2F", "guest", "S3c#ret", "h", None, "/"),
    ("amqp://guest:p@ss?w@h:1/v?heartbeat=5", "guest", "p@ss?w", "h", 1, "v"),
    ("amqps://u%40x:p%2Fw@[::1]:5671/", "u@x", "p/w", "[::1]", 5671, None),
    ("amqp://h", None, None, "h", None, None),
])
def test_parsed_and_handed_to_pika_whole(url, user, password, host, port, vhost):
    parsed = parse_amqp_url(url)
    assert (parsed.username, parsed.password, parsed.host, parsed.port) == (user, password,
                                                                            host, port)
    params = pika.URLParameters(checked_url(url))
    if password is not None:
        assert (params.credentials.username, params.credentials.password) == (user, password)
    if vhost is not None:
        assert params.virtual_host == vhost


@pytest.mark.parametrize("url,needle", [
    ("http://h", "not an amqp"), ("", "empty"), ("amqp://u:S3cret/Pw@h:99999/", "port"),
    ("amqp://u:S3cret/Pw@h:x1/", "port"),
])
def test_bad_urls_say_why_without_the_password(url, needle):
    with pytest.raises(UrlError, match=needle) as info:
        parse_amqp_url(url)
    assert "S3cret" not in str(info.value) and "Pw" not in str(info.value)


passwords = st.text(alphabet="abcXYZ019/#?@:%!$&'()*+,;=", min_size=1, max_size=16)


@given(passwords)
def test_no_password_survives_redaction(password):
    url = f"amqp://user:{password}@broker.example:5672/%2F"
    assert parse_amqp_url(url).password == password
    assert redact_url(url) == "amqp://user:***@broker.example:5672/%2F"
    assert pika.URLParameters(checked_url(url)).credentials.password == password


def test_scrub_hides_a_piece_of_the_password_a_parser_quoted():
    url = "amqp://guest:S3cret/Pw@127.0.0.1:5672/vh"
    assert "S3cret" not in scrub("Port could not be cast to integer value as 'S3cret'", url)


@pytest.mark.parametrize("command", [
    ("listen", "--duration", "1"), ("watch", "--", "true"), ("publish", "--count", "1"),
    ("bench", "--messages", "100"),
])
@pytest.mark.parametrize("port", ["1", "99999", "x"])
def test_no_command_leaks_a_password_with_a_slash_or_hash(command, port):
    # port 1: nothing listens there, the connection is refused at once; no broker needed.
    url = f"amqp://guest:{SECRET}@127.0.0.1:{port}/vh"
    proc = subprocess.run([sys.executable, "-m", "validator", command[0], "--url", url,
                           *command[1:]], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, WAZO_BUS_URL=""))
    assert proc.returncode == 2, proc.stderr
    out = proc.stdout + proc.stderr
    for piece in ("S3cret", "Pw", "#x"):
        assert piece not in out, out
    assert "Traceback" not in out
    if not (command[0] == "bench" and port == "1"):  # bench runs offline before connecting
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
