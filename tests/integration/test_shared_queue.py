"""`listen --shared-queue` workers and `merge` on the real RabbitMQ: three workers split
30,000 messages (one stopped while traffic flows), their merged report counts exactly what
was published, and the queue is gone once the last one stopped; a worker whose settings
differ from the queue's is refused in one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import pika
import pika.exceptions
import pytest

from validator.capture import capture_record
from test_listen_watch import Proc

pytestmark = pytest.mark.broker

READY = "listening on exchange xivo"
CT = "application/json"
TOTAL = 30_000


def _traffic(user: str, wazo: str) -> list[tuple[str, bytes]]:
    """Distinct messages (conforming, a known deviation, broken), repeated to TOTAL."""
    rk = f"config.users.{user}.services.dnd.updated"
    ok = {"name": "users_services_dnd_updated", "required_acl": "events." + rk,
          "origin_uuid": wazo, "data": {"user_uuid": user, "enabled": False}}
    no_acl = {k: v for k, v in ok.items() if k != "required_acl"}
    bad_uuid = dict(ok, origin_uuid="not-a-uuid")
    fw_rk = f"config.users.{user}.forwards.busy.updated"
    deviation = {"name": "users_forwards_busy_updated", "required_acl": "events." + fw_rk,
                 "origin_uuid": wazo, "data": {"user_uuid": user, "enabled": True,
                                               "destination": None}}
    kinds = [(rk, ok)] * 7 + [(fw_rk, deviation), (rk, no_acl), (rk, bad_uuid)]
    return [(rk, json.dumps(msg).encode()) for rk, msg in kinds] * (TOTAL // len(kinds))


def _expected(items, tmp_path):
    """What one process checking the same messages reports: `check` of their capture."""
    capture, report = tmp_path / "all.jsonl", tmp_path / "all.json"
    capture.write_bytes(b"".join(capture_record(rk, body, {"content_type": CT}, "xivo")
                                 for rk, body in items))
    # --jobs 1: one process checking every line, the reference the workers are compared with
    subprocess.run([sys.executable, "-m", "validator", "check", str(capture), "--jobs", "1",
                    "--format", "json", "--output", str(report), "--quiet"], timeout=120)
    whole = json.loads(report.read_text())
    return (whole["totals"]["verdicts"], {c["code"]: c["count"] for c in whole["codes"]},
            {n: e["count"] for n, e in whole["events"].items()})


class Broker:
    def __init__(self, url, confirm: bool = False):
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.confirm = confirm   # each publish then returns once routed
        self.ch = self._channel()

    def _channel(self):
        ch = self.conn.channel()
        if self.confirm:
            ch.confirm_delivery()
        return ch

    def publish(self, items):
        props = pika.BasicProperties(content_type="application/json")
        for rk, body in items:
            self.ch.basic_publish(exchange="xivo", routing_key=rk, body=body, properties=props)

    def queue(self, name):
        """(ready, consumers) of the queue, or None when it does not exist."""
        try:
            m = self.ch.queue_declare(queue=name, passive=True).method
        except pika.exceptions.ChannelClosedByBroker as exc:
            assert exc.reply_code == 404
            self.ch = self._channel()
            return None
        return m.message_count, m.consumer_count

    def wait_queue(self, name, predicate, what, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.queue(name)
            if predicate(state):
                return state
            self.conn.sleep(0.1)   # polling the broker, not a synchronisation by time
        raise AssertionError(f"queue {name}: {what} not reached, last {state}")

    def close(self):
        self.conn.close()


@pytest.fixture
def broker(broker_url, xivo_exchange):
    b = Broker(broker_url)
    yield b
    b.close()


def _worker(queue, bind, report, *extra):
    return Proc("listen", "--shared-queue", queue, "--bind", bind, "--duration", "600",
                "--format", "json", "--output", str(report), *extra)


def _stop(procs):
    for p in procs:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(10)


def test_three_workers_split_the_traffic_and_merge_exactly(tmp_path, broker):
    user, wazo = str(uuid.uuid4()), str(uuid.uuid4())
    queue, bind = f"vt-shared-{uuid.uuid4().hex[:10]}", f"config.users.{user}.#"
    items = _traffic(user, wazo)
    verdicts, codes, events = _expected(items, tmp_path)
    assert verdicts["fail"] == TOTAL // 10 * 2 and verdicts["warn"] == TOTAL // 10
    reports = [tmp_path / f"w{i}.json" for i in (1, 2, 3)]
    workers = [_worker(queue, bind, r) for r in reports]
    try:
        for w in workers:
            w.wait_line(READY)
        assert broker.queue(queue)[1] == 3
        broker.publish(items[:TOTAL // 3])
        # one worker leaves while traffic flows: what it had not acknowledged goes back to
        # the others, and the queue stays bound for them
        workers[0].proc.send_signal(signal.SIGTERM)
        broker.publish(items[TOTAL // 3:])
        assert workers[0].finish()[0] == 1
        broker.wait_queue(queue, lambda s: s is not None and s[0] == 0, "empty")
        for w in workers[1:]:
            w.proc.send_signal(signal.SIGTERM)
        assert [w.finish()[0] for w in workers[1:]] == [1, 1]
    finally:
        _stop(workers)
    assert broker.queue(queue) is None    # the last worker deleted it
    parts = [json.loads(r.read_text()) for r in reports]
    assert all(p["totals"]["messages"] > 0 for p in parts)
    assert all(p["run"]["may_have_lost"] is False for p in parts)
    assert all(p["run"]["stop_reason"] == "signal:SIGTERM" for p in parts)

    merged_path = tmp_path / "merged.json"
    proc = subprocess.run([sys.executable, "-m", "validator", "merge", *map(str, reports),
                           "--format", "json", "--output", str(merged_path), "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr     # the broken messages fail the gate
    merged = json.loads(merged_path.read_text())
    assert merged["totals"]["messages"] == TOTAL
    assert merged["totals"]["verdicts"] == verdicts
    assert {c["code"]: c["count"] for c in merged["codes"]} == codes
    assert {n: e["count"] for n, e in merged["events"].items()} == events
    assert merged["run"]["messages_received"] == TOTAL
    assert merged["run"]["may_have_lost"] is False
    assert [w["messages"] for w in merged["run"]["workers"]] == [
        p["totals"]["messages"] for p in parts]
    assert merged["status"] == "failed" and merged["exit_code"] == 1


def test_other_settings_than_the_queue_s_are_one_line_exit_2(tmp_path, broker):
    queue, bind = f"vt-shared-{uuid.uuid4().hex[:10]}", f"vt{uuid.uuid4().hex[:10]}.#"
    first = _worker(queue, bind, tmp_path / "a.json", "--max-length", "1000")
    try:
        first.wait_line(READY)
        other = subprocess.run([sys.executable, "-m", "validator", "listen", "--shared-queue",
                                queue, "--bind", bind, "--max-length", "500", "--duration", "5",
                                "--format", "json", "--output", str(tmp_path / "b.json")],
                               capture_output=True, text=True, timeout=60)
        assert other.returncode == 2
        lines = other.stderr.splitlines()
        assert len(lines) == 1 and "x-max-length" in lines[0] and queue in lines[0], lines
        assert "Traceback" not in other.stderr
        assert broker.queue(queue) == (0, 1)    # the first worker goes on, untouched
        first.proc.send_signal(signal.SIGTERM)
        code, _, err = first.finish()
        assert code == 2, err                   # it saw no message: tested nothing
    finally:
        _stop([first])
    assert broker.queue(queue) is None


def test_workers_stopped_together_with_a_backlog_lose_nothing(tmp_path, broker):
    """All workers get SIGTERM at once while the queue holds a backlog and each has
    deliveries on its way: each hands back what it did not check, the last to leave
    drains the queue, the merged count is exact and the queue is gone."""
    user, wazo = str(uuid.uuid4()), str(uuid.uuid4())
    queue, bind = f"vt-shared-{uuid.uuid4().hex[:10]}", f"config.users.{user}.#"
    items = _traffic(user, wazo)[:9_000]
    reports = [tmp_path / f"w{i}.json" for i in (1, 2, 3)]
    workers = [_worker(queue, bind, r) for r in reports]
    try:
        for w in workers:
            w.wait_line(READY)
        for w in workers:
            w.proc.send_signal(signal.SIGSTOP)
        broker.publish(items)
        # a declare on the publishing channel is answered after its messages were routed
        ready, consumers = broker.queue(queue)
        assert consumers == 3 and ready > 0
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)     # pending until the worker runs again
        for w in workers:
            w.proc.send_signal(signal.SIGCONT)
        # a worker whose deliveries all went back to the queue checked nothing: exit 2
        assert {w.finish()[0] for w in workers} <= {1, 2}
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGCONT)
        _stop(workers)
    assert broker.queue(queue) is None
    parts = [json.loads(r.read_text()) for r in reports]
    assert sum(p["totals"]["messages"] for p in parts) == len(items)
    assert not any(p["run"]["may_have_lost"] for p in parts), [p["run"] for p in parts]


def test_killed_workers_leave_nothing_behind(tmp_path, broker, rabbitmqctl):
    """SIGKILL writes no report and deletes nothing: x-expires removes the queue (and its
    bindings) a few seconds after its last consumer went away. (Watched with rabbitmqctl:
    a passive declare would count as a use and keep it alive.)"""
    queue, bind = f"vt-shared-{uuid.uuid4().hex[:10]}", f"vt{uuid.uuid4().hex[:10]}.#"
    workers = [_worker(queue, bind, tmp_path / f"w{i}.json") for i in (1, 2)]
    try:
        for w in workers:
            w.wait_line(READY)
        assert broker.queue(queue) == (0, 2)
    finally:
        _stop(workers)   # SIGKILL
    assert not any((tmp_path / f"w{i}.json").exists() for i in (1, 2))
    deadline = time.monotonic() + 90   # x-expires is 30 s
    while any(q["name"] == queue for q in rabbitmqctl("list_queues", "name")):
        assert time.monotonic() < deadline, f"{queue} still there"
    assert not any(b["destination_name"] == queue
                   for b in rabbitmqctl("list_bindings", "destination_name"))


# After each batch of published messages: start a worker (+), or SIGTERM the oldest (-n)
# or the newest (-1) running one without waiting for it to end.
SCHEDULE = ["+", "+", "-0", "", "+", "-1", "+", "-0", "-0", "+", "", "-1", "+", "+", "-0"]


def test_workers_started_and_stopped_while_traffic_flows_count_every_message_once(
        tmp_path, broker):
    user, wazo = str(uuid.uuid4()), str(uuid.uuid4())
    queue, bind = f"vt-shared-{uuid.uuid4().hex[:10]}", f"config.users.{user}.#"
    items = _traffic(user, wazo)[:len(SCHEDULE) * 1000]
    verdicts, codes, _ = _expected(items, tmp_path)
    started: list = []
    running: list = []

    def start():
        w = _worker(queue, bind, tmp_path / f"w{len(started)}.json")
        w.wait_line(READY)
        started.append(w)
        running.append(w)

    try:
        start()
        for batch, step in enumerate(SCHEDULE):
            broker.publish(items[batch * 1000:(batch + 1) * 1000])
            if step == "+":
                start()
            elif step:
                running.pop(int(step[1:]) if step != "-1" else -1).proc.send_signal(
                    signal.SIGTERM)
        broker.wait_queue(queue, lambda s: s is not None and s[0] == 0, "empty")
        for w in running:
            w.proc.send_signal(signal.SIGTERM)
        ends = [w.finish() for w in started]
    finally:
        _stop(started)
    assert not any("Traceback" in err for _, _, err in ends)
    assert broker.queue(queue) is None
    reports = [tmp_path / f"w{i}.json" for i in range(len(started))]
    parts = [json.loads(r.read_text()) for r in reports]
    assert not any(p["run"]["may_have_lost"] for p in parts)
    merged_path = tmp_path / "merged.json"
    proc = subprocess.run([sys.executable, "-m", "validator", "merge", *map(str, reports),
                           "--format", "json", "--output", str(merged_path), "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    merged = json.loads(merged_path.read_text())
    assert merged["totals"]["messages"] == len(items)
    assert merged["totals"]["verdicts"] == verdicts
    assert {c["code"]: c["count"] for c in merged["codes"]} == codes



def _close_connection_of(proc):
    """Close one worker's connection from the broker's side (found by its connection name)."""
    out = subprocess.run(["rabbitmqctl", "list_connections", "pid", "client_properties", "-q",
                          "--no-table-headers"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    pids = [line.split("\t", 1)[0].strip() for line in out.splitlines()
            if f"wazo-bus-validator pid={proc.pid} " in line]
    assert len(pids) == 1, out
    subprocess.run(["rabbitmqctl", "close_connection", pids[0], "wazo-bus-validator test"],
                   check=True, capture_output=True, timeout=30)


def test_a_worker_that_loses_its_connection_loses_nothing_and_says_so(tmp_path, broker,
                                                                         rabbitmqctl):
    """The queue outlives one worker's connection: the other consumes meanwhile, what the
    cut worker had not acknowledged is redelivered. Nothing is lost; a message it checked
    whose acknowledgement never arrived is checked again (at most a prefetch's worth), and
    its report records the gap and the messages it had not acknowledged."""
    from validator.sources.shared import PREFETCH
    user, wazo = str(uuid.uuid4()), str(uuid.uuid4())
    queue, bind = f"vt-shared-{uuid.uuid4().hex[:10]}", f"config.users.{user}.#"
    items = _traffic(user, wazo)[:12_000]
    reports = [tmp_path / f"w{i}.json" for i in (1, 2)]
    workers = [_worker(queue, bind, r) for r in reports]
    try:
        for w in workers:
            w.wait_line(READY)
        broker.publish(items[:6_000])
        _close_connection_of(workers[0].proc)
        workers[0].wait_line("reconnected, listening", timeout=30)
        broker.publish(items[6_000:])
        broker.wait_queue(queue, lambda s: s is not None and s[0] == 0, "empty")
        for w in workers:
            w.proc.send_signal(signal.SIGTERM)
        ends = [w.finish() for w in workers]
    finally:
        _stop(workers)
    assert not any("Traceback" in err for _, _, err in ends)
    assert broker.queue(queue) is None
    cut, other = (json.loads(r.read_text()) for r in reports)
    assert len(cut["run"]["gaps"]) == 1 and cut["run"]["may_have_lost"] is True
    assert other["run"]["gaps"] == [] and other["run"]["may_have_lost"] is False
    checked = cut["totals"]["messages"] + other["totals"]["messages"]
    assert len(items) <= checked <= len(items) + PREFETCH
