"""`publish`: generated traffic whose per-code counts a consumer finds exactly.

The tests marked `broker` use the RabbitMQ at 127.0.0.1:5672 (guest/guest), started with
`rabbitmq-server -detached` when it does not answer; the others need no broker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter

import pika
import pytest

from validator.capture import read_capture
from validator.catalogue import load_catalogue
from validator.check import Checker

BROKER = "amqp://guest:guest@127.0.0.1:5672/%2F"
CLI = [sys.executable, "-m", "validator.cli"]
CAT = load_catalogue()


def publish(*args, timeout=120):
    done = subprocess.run(CLI + ["publish", *args], capture_output=True, text=True,
                          timeout=timeout)
    lines = done.stdout.strip().splitlines()
    stats = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return done.returncode, stats, done.stderr


def tally(messages, version=None) -> dict:
    """What the checker says of (routing_key, body, properties): messages per code, verdicts."""
    checker = Checker(CAT, version)
    by_code: Counter = Counter()
    by_verdict: Counter = Counter()
    for routing_key, body, properties in messages:
        result = checker.check(routing_key, body, properties)
        by_verdict[result.verdict] += 1
        by_code.update({f.code for f in result.findings})
    return {"by_code": dict(sorted(by_code.items())),
            "by_verdict": {v: by_verdict.get(v, 0) for v in ("ok", "warn", "fail")}}


def recorded(path) -> list[tuple]:
    return [(i.routing_key, i.body, i.properties) for i in read_capture(path)]


# -- without a broker ----------------------------------------------------------------------------

def test_dry_run_counts_are_what_the_checker_reports(tmp_path):
    record = tmp_path / "traffic.jsonl"
    code, stats, err = publish("--dry-run", "--count", "300", "--faulty", "0.1", "--seed", "7",
                               "--record", str(record))
    assert code == 0, err
    assert stats["sent"] == 300 and stats["broken"] == 30 and stats["ok"] == 270
    assert sum(stats["by_mutation"].values()) == 30
    messages = recorded(record)
    assert len(messages) == 300
    assert tally(messages) == {"by_code": stats["by_code"], "by_verdict": stats["by_verdict"]}
    assert stats["by_verdict"]["fail"] == 30 and stats["by_verdict"]["ok"] == 270
    # `check` on the record fails exactly because of the broken messages.
    checked = subprocess.run(CLI + ["check", str(record)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 1 and "300 messages: 270 ok, 0 warn, 30 fail" in checked.stdout


def test_the_seed_decides_the_traffic(tmp_path):
    runs = {}
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        path = tmp_path / f"{name}.jsonl"
        code, stats, err = publish("--dry-run", "--count", "50", "--faulty", "0.3",
                                   "--seed", seed, "--record", str(path))
        assert code == 0, err
        runs[name] = (path.read_bytes(), stats)
    assert runs["a"] == runs["b"] and runs["a"][0] != runs["c"][0]


def test_rate_paces_the_messages():
    started = time.monotonic()
    code, stats, err = publish("--dry-run", "--count", "21", "--rate", "50")
    assert code == 0 and stats["sent"] == 21, err
    assert time.monotonic() - started >= 0.4  # 20 intervals of 20 ms, after start-up


@pytest.mark.parametrize("args,message", [
    (["--faulty", "1.5"], "--faulty 1.5: must be between 0 and 1"),
    (["--count", "0"], "--count 0: must be at least 1"),
    (["--rate", "-1"], "--rate -1.0: must be 0"),
    (["--wazo-version", "12.01"], "outside the catalogue's range"),
    (["--url", "http://x"], "not an amqp:// or amqps:// URL"),
])
def test_bad_options_are_one_line_and_exit_2(args, message):
    code, stats, err = publish(*args)
    assert code == 2 and stats is None
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unreachable_broker_is_one_line_exit_2_quickly():
    started = time.monotonic()
    code, stats, err = publish("--url", "amqp://guest:pw-s3cret-x@127.0.0.1:1/%2F",
                               "--count", "5")
    assert code == 2 and stats is None and time.monotonic() - started < 10
    assert err.count("\n") == 1 and "cannot connect to amqp://guest:***@127.0.0.1:1/%2F" in err
    assert "pw-s3cret-x" not in err and "Traceback" not in err


def test_the_password_never_shows_on_success(tmp_path):
    env_url = "amqp://guest:guest@127.0.0.1:5672/%2F"
    done = subprocess.run(CLI + ["publish", "--dry-run", "--count", "3"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, WAZO_BUS_URL=env_url))
    assert done.returncode == 0 and ":guest@" not in done.stdout + done.stderr


# -- with the broker ------------------------------------------------------------------------------

def _connect():
    params = pika.URLParameters(BROKER)
    params.socket_timeout = 2
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


@pytest.fixture(scope="module")
def broker():
    try:
        _connect().close()
    except Exception:
        if shutil.which("rabbitmq-server") is None:
            pytest.skip("RabbitMQ does not answer at 127.0.0.1:5672 and is not installed")
        subprocess.run(["rabbitmq-server", "-detached"], capture_output=True, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                _connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    pytest.skip("RabbitMQ did not start within 60 s")
                time.sleep(1)
    connection = _connect()
    channel = connection.channel()
    # As Wazo declares it: a durable topic exchange (a no-op when it exists).
    channel.exchange_declare(exchange="xivo", exchange_type="topic", durable=True)
    yield connection, channel
    try:
        connection.close()
    except Exception:
        pass


def consume(channel, queue, wanted: set, expected: int, timeout: float = 30) -> list[tuple]:
    """Our messages, in order (the bus may carry other tests' traffic too)."""
    out = []
    deadline = time.monotonic() + timeout
    for method, props, body in channel.consume(queue, auto_ack=True, inactivity_timeout=1):
        if method is not None:
            message = (method.routing_key, body, {"content_type": props.content_type})
            if (method.routing_key, body) in wanted:
                out.append(message)
        if len(out) >= expected or time.monotonic() > deadline:
            break
        if method is None and len(out) >= expected:
            break
    channel.cancel()
    return out


@pytest.mark.broker
def test_publish_counts_equal_what_a_consumer_checks(broker, tmp_path):
    _, channel = broker
    # Exclusive: deleted with the connection at the latest (not auto-delete: the queue must
    # outlive the first run's consumer).
    queue = channel.queue_declare(queue=f"test-publish-{uuid.uuid4().hex[:8]}",
                                  exclusive=True).method.queue
    channel.queue_bind(queue, "xivo", routing_key="#")
    try:
        runs = []
        for i in (1, 2):
            record = tmp_path / f"run{i}.jsonl"
            code, stats, err = publish("--url", BROKER, "--count", "300", "--faulty", "0.1",
                                       "--seed", "7", "--record", str(record))
            assert code == 0, err
            assert "guest:guest" not in err
            sent = recorded(record)
            wanted = {(rk, body) for rk, body, _ in sent}
            got = consume(channel, queue, wanted, len(sent))
            assert len(got) == stats["sent"] == 300, (len(got), stats)
            assert stats["broken"] == 30
            assert tally(got) == {"by_code": stats["by_code"],
                                  "by_verdict": stats["by_verdict"]}
            runs.append((stats, [(rk, body) for rk, body, _ in got], record.read_bytes()))
        # The same seed: the same messages, in the same order, and the same counts.
        assert runs[0] == runs[1]
    finally:
        channel.queue_delete(queue)


@pytest.mark.broker
def test_a_missing_exchange_is_never_declared(broker):
    name = f"no-such-exchange-{uuid.uuid4().hex[:8]}"
    code, stats, err = publish("--url", BROKER, "--exchange", name, "--count", "5")
    assert code == 2 and stats is None and err.count("\n") == 1
    assert f"exchange {name!r} does not exist" in err
    connection = _connect()
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            connection.channel().exchange_declare(exchange=name, passive=True)
        assert caught.value.reply_code == 404
    finally:
        connection.close()
