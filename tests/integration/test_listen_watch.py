"""`listen` and `watch` end to end on the real RabbitMQ: traffic of known composition,
exact counts, SIGTERM, a connection killed by the broker, topology unchanged, exit codes,
and the password nowhere. No mock of pika or the broker.

Each test binds only routing keys carrying its own fresh UUIDs, so that it sees its own
traffic and nothing else on the shared `xivo` exchange.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pika
import pytest

from conftest import BROKER_URL, rabbitmqctl, rabbitmqctl_many, wait_for_lines
from validator.bench.publish import publish_backlog

pytestmark = pytest.mark.broker

CT = "application/json"


def _uuid() -> str:
    return str(uuid.uuid4())


class Traffic:
    """Mixed conforming, erratum and broken messages whose findings are known in advance."""

    def __init__(self):
        self.user = _uuid()
        self.wazo = _uuid()
        self.plugin = _uuid()
        self.items: list[tuple[str, bytes, str, tuple[str, ...]]] = []  # rk, body, verdict, codes

    @property
    def bindings(self) -> list[str]:
        return [f"config.users.{self.user}.#", f"directory.{self.user}.#",
                f"chat.message.*.{self.user}", f"plugin.*.{self.plugin}.*"]

    def add(self, rk, msg, verdict, codes=(), raw=None):
        body = raw if raw is not None else json.dumps(msg).encode()
        self.items.append((rk, body, verdict, tuple(codes)))

    def build(self, repeat: int = 1) -> "Traffic":
        u, w, p = self.user, self.wazo, self.plugin
        fw_rk = f"config.users.{u}.forwards.busy.updated"
        fw_acl = "events." + fw_rk

        def forward(**data):
            return {"name": "users_forwards_busy_updated", "required_acl": fw_acl,
                    "origin_uuid": w, "data": {"user_uuid": u, "enabled": True,
                                               "destination": "1234", **data}}
        sv_rk = f"config.users.{u}.services.dnd.updated"
        fav_rk = f"directory.{u}.favorite.created"
        chat_rk = f"chat.message.{w}.{u}"
        pl_rk = f"plugin.install.{p}.starting"
        for _ in range(repeat):
            self.add(fw_rk, forward(), "ok")
            self.add(sv_rk, {"name": "users_services_dnd_updated", "required_acl": "events." + sv_rk,
                             "origin_uuid": w, "data": {"user_uuid": u, "enabled": False}}, "ok")
            self.add(fav_rk, {"name": "favorite_added", "required_acl": "events." + fav_rk,
                              "origin_uuid": w, "data": {"xivo_id": w, "user_uuid": u,
                                                         "source": "internal",
                                                         "source_entry_id": 42}}, "ok")
            chat = {"name": "chat_message_event", "origin_uuid": w,
                    "data": {"alias": "Alice", "to": [w, u], "from": [w, _uuid()], "msg": "Hi!"}}
            self.add(chat_rk, chat, "ok")
            self.add(pl_rk, {"name": "plugin_install_progress", "required_acl": "events." + pl_rk,
                             "origin_uuid": w, "data": {"uuid": p, "status": "starting"}}, "ok")
            # known deviations
            self.add(fw_rk, forward(destination=None), "warn", ["D601"])
            self.add(chat_rk, dict(chat, required_acl="events." + chat_rk), "warn", ["A503"])
            # broken
            bad_acl = forward()
            bad_acl["required_acl"] = fw_acl.replace(u, _uuid())
            self.add(fw_rk, bad_acl, "fail", ["A502"])
            self.add(sv_rk, {"name": "users_services_dnd_updated", "origin_uuid": w,
                             "data": {"user_uuid": u, "enabled": True}}, "fail", ["A500"])
            self.add(fav_rk, {"name": "favorite_added", "required_acl": "events." + fav_rk,
                              "origin_uuid": w, "data": {"xivo_id": w, "user_uuid": u,
                                                         "source_entry_id": 42}},
                     "fail", ["D600"])
            self.add(chat_rk, None, "fail", ["B101"], raw=b'{"name": "chat_message_event",')
            self.add(fw_rk, dict(forward(), name="users_forwards_busy_edited"), "fail",
                     ["N300", "N301"])
            self.add(fw_rk, dict(forward(), origin_uuid="xivo"), "fail", ["D605"])
            self.add(f"config.users.{u}.forwards.noanswer.updated", forward(), "fail", ["R401"])
        return self

    def expected(self):
        verdicts = Counter(v for _, _, v, _ in self.items)
        codes = Counter(c for *_, cs in self.items for c in cs)
        return verdicts, codes

    def publish(self, publisher):
        for rk, body, _, _ in self.items:
            publisher.publish(rk, body, content_type=CT)


class Proc:
    """A `python -m validator` subprocess whose stderr is read as it comes."""

    def __init__(self, *args, env=None):
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "validator", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_line(self, needle: str, timeout: float = 20, count: int = 1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(needle in x for x in self.lines) >= count:
                return
            if self.proc.poll() is not None:
                time.sleep(0.2)
                break
            time.sleep(0.05)
        raise AssertionError(f"no {needle!r} on stderr: {''.join(self.lines)}")

    def finish(self, timeout: float = 60):
        out, _ = self.proc.communicate(timeout=timeout)
        self.reader.join(5)
        return self.proc.returncode, out, "".join(self.lines)


def _bind_args(traffic):
    return [a for b in traffic.bindings for a in ("--bind", b)]


CONSUMERS = pytest.mark.parametrize("consumer", [[], ["--consumer-process"]],
                                    ids=["in-process", "consumer-process"])


@CONSUMERS
def test_listen_reports_exact_counts_and_records(tmp_path, publisher, consumer):
    traffic = Traffic().build(repeat=3)
    report, record = tmp_path / "r.json", tmp_path / "rec.jsonl"
    p = Proc("listen", *consumer, *_bind_args(traffic), "--max-messages", str(len(traffic.items)),
             "--duration", "60", "--format", "json", "--output", str(report),
             "--record", str(record))
    p.wait_line("listening on exchange xivo")
    traffic.publish(publisher)
    code, out, err = p.finish()
    assert code == 1, err
    data = json.loads(report.read_text())
    verdicts, codes = traffic.expected()
    assert data["totals"]["messages"] == len(traffic.items) == 42
    assert data["totals"]["verdicts"] == {"ok": verdicts["ok"], "warn": verdicts["warn"],
                                          "fail": verdicts["fail"]}
    seen = {c["code"]: c["count"] for c in data["codes"]}
    assert {k: n for k, n in seen.items() if not k.startswith("W")} == dict(codes)
    # who receives them: the DND update without its ACL reaches nobody (W800), the forward
    # with another user's UUID in its ACL the wrong user (W801), the chat message with an
    # ACL the page does not document (erratum E4) reaches websocket clients (W806)
    assert {k: n for k, n in seen.items() if k.startswith("W")} == {
        "W800": 3, "W801": 3, "W806": 3}
    assert data["delivery"]["messages"] == 42
    assert data["known_deviations"] == {"E4": 3, "E7": 3}
    assert data["run"]["stop_reason"] == "max-messages"
    assert data["run"]["may_have_lost"] is False
    # the record replays to the same verdicts
    proc = subprocess.run([sys.executable, "-m", "validator", "check", str(record), "--format",
                           "ndjson"], capture_output=True, text=True)
    replay = Counter(json.loads(x)["verdict"] for x in proc.stdout.splitlines())
    assert replay == verdicts


@CONSUMERS
def test_sigterm_mid_run_leaves_a_complete_report(tmp_path, publisher, consumer):
    traffic = Traffic().build(repeat=2)
    report, record = tmp_path / "r.json", tmp_path / "rec.jsonl"
    p = Proc("listen", *consumer, *_bind_args(traffic), "--duration", "120", "--format", "json",
             "--output", str(report), "--record", str(record))
    p.wait_line("listening on exchange xivo")
    traffic.publish(publisher)  # confirmed: in the listener's queue when this returns
    p.proc.send_signal(signal.SIGTERM)
    code, out, err = p.finish()
    data = json.loads(report.read_text())
    assert data["run"]["stop_reason"] == "signal:SIGTERM"
    assert data["totals"]["messages"] == len(traffic.items)
    assert code == 1
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert lines[0]["meta"]["kind"] == "start" and lines[-1]["meta"]["kind"] == "end"
    assert len(lines) == len(traffic.items) + 2


def test_killed_connection_is_survived_and_the_gap_reported(tmp_path, publisher):
    before, after = Traffic().build(), Traffic()
    after.user, after.wazo, after.plugin = before.user, before.wazo, before.plugin
    after.build()
    report, record = tmp_path / "r.json", tmp_path / "rec.jsonl"
    p = Proc("listen", *_bind_args(before), "--duration", "120", "--format", "json",
             "--output", str(report), "--record", str(record))
    p.wait_line("listening on exchange xivo")
    before.publish(publisher)
    # checked, then recorded (the record follows the bus slice by slice): the start line
    # and every message
    assert len(wait_for_lines(record, 1 + len(before.items))) == 1 + len(before.items)
    # Close only the listener's own connection (found by its client connection_name), not
    # every client of the shared broker.
    out = subprocess.run(["rabbitmqctl", "list_connections", "pid", "client_properties", "-q",
                          "--no-table-headers"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    pids = [line.split("\t", 1)[0].strip() for line in out.splitlines()
            if f"wazo-bus-validator pid={p.proc.pid} " in line]
    assert len(pids) == 1, out
    subprocess.run(["rabbitmqctl", "close_connection", pids[0], "wazo-bus-validator test"],
                   check=True, capture_output=True, timeout=30)
    p.wait_line("reconnected, listening", timeout=30)
    after.publish(publisher)  # the publisher reopens its own closed connection
    p.proc.send_signal(signal.SIGTERM)
    code, out, err = p.finish()
    data = json.loads(report.read_text())
    gaps = data["run"]["gaps"]
    assert len(gaps) == 1 and gaps[0]["start"] < gaps[0]["end"]
    assert data["run"]["reconnects"] == 1
    # what the broker had sent and what was published during the gap cannot be counted:
    # any lost connection is a possible loss, in the report and the text summary
    assert data["run"]["may_have_lost"] is True
    # every message published after the reconnect is checked (and the ones before, too)
    assert data["totals"]["messages"] == len(before.items) + len(after.items)
    assert "connection gap" in out


def _topology():
    """Exchanges, queues and bindings; other clients' transient server-named exclusive queues
    (a concurrent test or tool) are left out, so the comparison sees only lasting state."""
    exchanges, queues, bindings = rabbitmqctl_many(
        ("list_exchanges", "name", "type", "durable", "auto_delete", "internal", "arguments"),
        ("list_queues", "name", "durable", "auto_delete", "exclusive", "arguments"),
        ("list_bindings", "source_name", "destination_name", "routing_key", "arguments"))
    transient = {q["name"] for q in queues if q["exclusive"] and q["name"].startswith("amq.gen-")}
    queues = [q for q in queues if q["name"] not in transient]
    bindings = [b for b in bindings if b["destination_name"] not in transient]
    key = lambda rows: sorted(json.dumps(r, sort_keys=True) for r in rows)  # noqa: E731
    return key(exchanges), key(queues), key(bindings), transient


def test_topology_is_the_same_before_and_after(tmp_path, publisher):
    traffic = Traffic().build()
    before = _topology()
    p = Proc("listen", *_bind_args(traffic), "--duration", "30", "--max-messages",
             str(len(traffic.items)), "--format", "json", "--output", str(tmp_path / "r.json"))
    p.wait_line("listening on exchange xivo")
    own_name = p.lines[-1].split("own queue ")[1].split(",")[0]
    queues = rabbitmqctl("list_queues", "name", "durable", "auto_delete", "exclusive",
                         "arguments")
    own = [q for q in queues if q["name"] == own_name]
    assert len(own) == 1
    assert own[0]["exclusive"] and own[0]["auto_delete"] and not own[0]["durable"]
    assert "x-max-length" in json.dumps(own[0]["arguments"])
    bindings = [b for b in rabbitmqctl("list_bindings", "source_name", "destination_name",
                                       "routing_key") if b["destination_name"] == own_name]
    assert sorted(b["routing_key"] for b in bindings if b["source_name"] == "xivo") == \
        sorted(traffic.bindings)
    traffic.publish(publisher)
    code, _, err = p.finish()
    assert code == 1, err
    after = _topology()
    assert after[:3] == before[:3]
    assert own_name not in after[3]


@pytest.mark.parametrize("kind,expected", [
    ("clean", 0), ("broken", 1), ("clean-command-fails", 1), ("silent", 2), ("not-found", 2)])
def test_watch_exit_codes(tmp_path, broker_url, xivo_exchange, kind, expected):
    traffic = Traffic()
    u, w = traffic.user, traffic.wazo
    rk = f"config.users.{u}.services.dnd.updated"
    msg = {"name": "users_services_dnd_updated", "required_acl": "events." + rk,
           "origin_uuid": w, "data": {"user_uuid": u, "enabled": True}}
    if kind == "broken":
        del msg["required_acl"]
    script = tmp_path / "pub.py"
    script.write_text(
        "import json, pika, sys\n"
        f"c = pika.BlockingConnection(pika.URLParameters({broker_url!r}))\n"
        "ch = c.channel()\n"
        f"n = {0 if kind == 'silent' else 5}\n"
        "for _ in range(n):\n"
        f"    ch.basic_publish('xivo', {rk!r}, {json.dumps(msg)!r}.encode(),\n"
        "                     pika.BasicProperties(content_type='application/json'))\n"
        "c.close()\n"
        f"sys.exit({3 if kind == 'clean-command-fails' else 0})\n")
    command = ["no-such-command-wbv"] if kind == "not-found" else [sys.executable, str(script)]
    proc = subprocess.run([sys.executable, "-m", "validator", "watch", "--bind", f"config.users.{u}.#",
                           "--settle", "0.5", "--settle-max", "5", "--format", "json",
                           "--output", str(tmp_path / "r.json"), "--", *command],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == expected, proc.stderr
    if kind != "not-found":
        data = json.loads((tmp_path / "r.json").read_text())
        assert data["totals"]["messages"] == (0 if kind == "silent" else 5)
        assert data["run"]["command_exit"] == (3 if kind == "clean-command-fails" else 0)
    else:
        assert proc.stderr.strip().splitlines()[-1].startswith(
            "wazo-bus-validator: error: cannot run 'no-such-command-wbv'")
        assert "Traceback" not in proc.stderr


PASSWORD = "S3cret-Pw-" + uuid.uuid4().hex[:8]


@pytest.fixture
def secret_user(broker_url):
    user = "wbv-test-" + uuid.uuid4().hex[:8]
    subprocess.run(["rabbitmqctl", "add_user", user, PASSWORD], check=True, capture_output=True)
    try:
        subprocess.run(["rabbitmqctl", "set_permissions", "-p", "/", user, ".*", ".*", ".*"],
                       check=True, capture_output=True)
        yield f"amqp://{user}:{PASSWORD}@127.0.0.1:5672/%2F"
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", user], capture_output=True)


def test_the_password_appears_nowhere(tmp_path, secret_user, publisher):
    traffic = Traffic().build()
    outputs = []
    for fmt in ("json", "junit", "markdown", "text"):
        report = tmp_path / f"r.{fmt}"
        p = Proc("listen", "--url", secret_user, *_bind_args(traffic), "--max-messages",
                 str(len(traffic.items)), "--duration", "30", "--format", fmt, "--output",
                 str(report), "--record", str(tmp_path / f"rec-{fmt}.jsonl"))
        p.wait_line("listening on exchange xivo")
        traffic.publish(publisher)
        code, out, err = p.finish()
        assert code == 1, err
        outputs += [out, err, report.read_text(), (tmp_path / f"rec-{fmt}.jsonl").read_text()]
    bad = secret_user.replace("127.0.0.1:5672", "127.0.0.1:1")
    proc = subprocess.run([sys.executable, "-m", "validator", "listen", "--url", bad,
                           "--duration", "5"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    outputs += [proc.stdout, proc.stderr]
    env = dict(os.environ, WAZO_BUS_URL=bad)
    proc = subprocess.run([sys.executable, "-m", "validator", "listen", "--duration", "5"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 2
    outputs += [proc.stdout, proc.stderr]
    assert all(PASSWORD not in o for o in outputs)
    assert any("***" in o for o in outputs)


def test_unreachable_broker_is_one_line_exit_2_within_seconds():
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "validator", "listen", "--url",
                           "amqp://guest:guest@127.0.0.1:1/%2F", "--duration", "30"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 10


def test_redacted_records_and_reports(tmp_path, publisher):
    traffic = Traffic().build()
    report, record = tmp_path / "r.json", tmp_path / "rec.jsonl"
    p = Proc("listen", *_bind_args(traffic), "--max-messages", str(len(traffic.items)),
             "--duration", "30", "--format", "json", "--output", str(report), "--record",
             str(record), "--redact")
    p.wait_line("listening on exchange xivo")
    traffic.publish(publisher)
    code, out, err = p.finish()
    for text in (report.read_text(), record.read_text(), out):
        assert "Alice" not in text and "Hi!" not in text and '"1234"' not in text
    assert traffic.user in record.read_text()  # not personal: kept


def test_idle_stop_with_nothing_seen_is_nothing_tested(tmp_path, broker_url, xivo_exchange):
    proc = subprocess.run([sys.executable, "-m", "validator", "listen", "--bind",
                           f"config.users.{_uuid()}.#", "--idle", "1", "--format", "json",
                           "--output", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["status"] == "nothing tested" and data["run"]["stop_reason"] == "idle"


@CONSUMERS
def test_a_second_signal_cuts_the_drain_short_and_says_so(tmp_path, xivo_exchange, publisher,
                                                          consumer):
    # A backlog larger than a drain can finish between two signals sent back to back: the
    # second one cuts the drain, the report is written and flags what was not checked.
    report = tmp_path / "r.json"
    p = Proc("listen", "--bind", "drain.cut.#", "--max-length", "200000", "--format", "json",
             "--output", str(report), *consumer)
    p.wait_line("listening on exchange xivo")
    p.proc.send_signal(signal.SIGSTOP)
    try:
        # Confirmed in a window, not one by one: a publish loop that outlives the stopped
        # listener's heartbeat would test a lost connection instead.
        body = json.dumps({"name": "x", "origin_uuid": _uuid(), "data": {"pad": "y" * 300}})
        publish_backlog(pika.URLParameters(BROKER_URL), "xivo",
                        [("drain.cut.k", body.encode(), {"content_type": CT})], 60_000, 60)
    finally:
        p.proc.send_signal(signal.SIGCONT)
    p.proc.send_signal(signal.SIGINT)
    p.wait_line("again to stop at once")
    p.proc.send_signal(signal.SIGINT)
    code, out, err = p.finish()
    data = json.loads(report.read_text())
    assert "Traceback" not in err
    assert data["run"]["may_have_lost"] is True
    assert data["totals"]["messages"] + data["run"]["undrained"] >= 1, err[-3000:]
    assert data["totals"]["messages"] < 60_000
    assert "drain" in out, err[-3000:]
