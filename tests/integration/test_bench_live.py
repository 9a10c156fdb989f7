"""`bench --url` on the real RabbitMQ: every live figure is there, and the private exchange
it measured on is gone afterwards (`xivo` is never touched)."""

from __future__ import annotations

import json
import subprocess
import sys

import pika
import pika.exceptions
import pytest

pytestmark = pytest.mark.broker


def test_bench_live_on_the_local_broker_cleans_up(broker_url):
    out = subprocess.run([sys.executable, "-m", "validator", "bench", "--messages", "1000",
                          "--rss-messages", "0", "--startup-runs", "0", "--repeats", "1",
                          "--url", broker_url, "--live-messages", "1500", "--live-repeats", "1",
                          "--live-timeout", "60"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    live = json.loads(out.stdout.strip().splitlines()[-1])["live"]
    assert set(live["rates"]) == {"pika_bare", "pika_parse_only", "pika_validating",
                                  "source_bare", "listen", "listen_consumer_process"}
    assert live["verdicts_match"] is True
    assert live["exchange"].startswith("wbv-bench-")
    conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as exc:
            conn.channel().exchange_declare(live["exchange"], passive=True)
        assert exc.value.reply_code == 404
    finally:
        if conn.is_open:
            conn.close()
