"""`publish`: generated traffic whose per-code counts a consumer finds exactly.

These use the RabbitMQ at 127.0.0.1:5672 (guest/guest), started with
`rabbitmq-server -detached` when it does not answer; tests/unit/publish needs no broker.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pika
import pytest


from publish_helpers import CAT, CLI, publish, recorded, tally  # noqa: F401

BROKER = "amqp://guest:guest@127.0.0.1:5672/%2F"



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
