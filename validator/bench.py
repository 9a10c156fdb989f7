"""`bench`: how fast the checker is, offline and on a live broker.

The traffic is generated here, fast and seeded, from the catalogue: every documented event's
data comes from its JSON Schema (closed value sets, ranges, patterns; strings from a few
tables of realistic values keyed by field name, each checked against the schema once), the
routing key and ACL from the checker's own templates (`Template.fill`), the AMI events'
headers from a table of real Asterisk events. Broken messages are valid ones with one
mutation each, chosen from a table by what the event's schema allows (a D602 needs an enum
or a range, an A500 a documented ACL, ...), each with the finding code it must cause.
Nothing here branches on an event name.

What is measured, in one run, interleaved, medians of the repeats (this machine's speed
swings between runs; only figures measured side by side compare):
  (a) the parse floor, `orjson.loads` of the same bodies;
  (b) a naive baseline, `json.loads` + Python `jsonschema`, one prebuilt validator per event
      name from schemas/ (errors collected; no format checking, jsonschema's default);
  (c) the project's checker, `Checker(cat).check(rk, body, props)`;
plus, for information, the checker with `Summary.add` (what `check`/`listen` do per message)
and the detailed path alone. Then start-up time in fresh subprocesses, RSS growth across many
messages, and with --url the live comparison on a broker (see `run_live`).
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time
import uuid as _uuid
from dataclasses import dataclass, field

import orjson

from .catalogue import Catalogue
from .check import MISSING, Checker, Template, render
from .findings import FAIL, OK, WARN

CONTENT_TYPE = {"content_type": "application/json"}

# ---------------------------------------------------------------------------------------------
# Data tables: realistic values. None of them names a documented event.

FIRST_NAMES = ("Alice", "Bob", "Chloé", "David", "Émilie", "François", "Gaëlle", "Hugo",
               "Inès", "Jules", "Karim", "Léa", "Mathis", "Nora", "Olivier", "Pauline")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit",
              "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Tremblay")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo")
SENTENCES = ("Hi!", "Can you call me back?", "Meeting moved to 3pm", "ok", "On my way",
             "Le client attend sur la ligne 2", "Thanks, see you tomorrow",
             "Could you forward the invoice to accounting?")
SERVICES = ("xivo-ctid", "xivo-ctid-ng", "xivo-dird", "xivo-confd", "xivo-agentd",
            "wazo-plugind", "xivo-auth", "xivo-websocketd", "xivo-amid", "xivo-call-logd")
PRESENCES = ("available", "away", "busy", "disconnected", "donotdisturb", "outtolunch")

# String fields: values by field name. Each is checked against the field's schema when the
# generator is built; one that does not fit is not used.
STRING_HINTS = {
    "caller_id_name": lambda g: g.person(),
    "peer_caller_id_name": lambda g: g.person(),
    "caller_id_number": lambda g: g.extension(),
    "peer_caller_id_number": lambda g: g.extension(),
    "caller_id_num": lambda g: g.extension(),
    "creation_time": lambda g: g.timestamp_text(),
    "call_id": lambda g: g.channel_id(),
    "message_id": lambda g: g.voicemail_id(),
    "alias": lambda g: g.pick(FIRST_NAMES),
    "msg": lambda g: g.pick(SENTENCES),
    "destination": lambda g: g.extension(),
    "source": lambda g: g.pick(("internal", "personal", "ldap_office", "phonebook")),
    "service_name": lambda g: g.pick(SERVICES),
    "service_id": lambda g: g.uuid(),
    "address": lambda g: f"10.{g.num(256)}.{g.num(256)}.{1 + g.num(254)}",
    "status": lambda g: g.pick(PRESENCES),
    "name": lambda g: g.pick(("inbox", "old", "work", "family")),
}
INT_HINTS = {
    "timestamp": lambda g: 1_490_000_000 + g.num(20_000_000),
    "duration": lambda g: 3 + g.num(177),
    "port": lambda g: g.pick((9495, 9486, 9489, 9497, 9500, 9503)),
}

# AMI events as xivo-amid relays them (every header a string), with the headers Asterisk 14
# sends. The header values come from AMI_VALUES by header name.
_CHANNEL = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
            "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
            "Exten", "Priority", "Uniqueid", "Linkedid")
_DEST = tuple("Dest" + h for h in _CHANNEL)
_BRIDGE = ("BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName",
           "BridgeNumChannels")
AMI_HEADERS = {
    "VarSet": ("Event", "Privilege") + _CHANNEL + ("Variable", "Value"),
    "Newexten": ("Event", "Privilege") + _CHANNEL + ("Extension", "Application", "AppData"),
    "Newchannel": ("Event", "Privilege") + _CHANNEL,
    "Newstate": ("Event", "Privilege") + _CHANNEL,
    "Hangup": ("Event", "Privilege") + _CHANNEL + ("Cause", "Cause-txt"),
    "QueueMemberStatus": ("Event", "Privilege", "Queue", "MemberName", "Interface",
                          "StateInterface", "Membership", "Penalty", "CallsTaken", "LastCall",
                          "InCall", "Status", "Paused", "PausedReason", "Ringinuse"),
    "DialBegin": ("Event", "Privilege") + _CHANNEL + _DEST + ("DialString",),
    "DialEnd": ("Event", "Privilege") + _CHANNEL + _DEST + ("DialStatus",),
    "BridgeEnter": ("Event", "Privilege") + _BRIDGE + _CHANNEL,
    "BridgeLeave": ("Event", "Privilege") + _BRIDGE + _CHANNEL,
    "DeviceStateChange": ("Event", "Privilege", "Device", "State"),
    "PeerStatus": ("Event", "Privilege", "ChannelType", "Peer", "PeerStatus", "Address"),
}
_STATES = (("4", "Ring"), ("5", "Ringing"), ("6", "Up"), ("0", "Down"))
_VARS = (("BRIDGEPEER", None), ("XIVO_USERID", "int"), ("XIVO_DSTNUM", "ext"),
         ("WAZO_CALL_RECORD_ACTIVE", "0"), ("XIVO_CALLORIGIN", "intern"),
         ("CHANNEL(language)", "fr_FR"), ("XIVO_PICKEDUP", "1"), ("__WAZO_USERUUID", "uuid"),
         ("RTPAUDIOQOS", "ssrc=1887063327;themssrc=2318316112;lp=0;rxjitter=0.000000"))
AMI_VALUES = {
    "Privilege": lambda g: g.pick(("call,all", "dialplan,all", "agent,all",
                                         "system,all")),
    "Channel": lambda g: g.sip_channel(), "DestChannel": lambda g: g.sip_channel(),
    "ChannelState": lambda g: g.state()[0], "DestChannelState": lambda g: g.state()[0],
    "ChannelStateDesc": lambda g: g.state()[1], "DestChannelStateDesc": lambda g: g.state()[1],
    "CallerIDNum": lambda g: g.extension(), "DestCallerIDNum": lambda g: g.extension(),
    "CallerIDName": lambda g: g.person(), "DestCallerIDName": lambda g: g.person(),
    "ConnectedLineNum": lambda g: g.extension(), "DestConnectedLineNum": lambda g: g.extension(),
    "ConnectedLineName": lambda g: g.person(), "DestConnectedLineName": lambda g: g.person(),
    "Language": lambda g: "fr_FR", "DestLanguage": lambda g: "en_US",
    "AccountCode": lambda g: "", "DestAccountCode": lambda g: "",
    "Context": lambda g: g.pick(("default", "from-extern", "user", "outcall")),
    "DestContext": lambda g: "default",
    "Exten": lambda g: g.extension(), "DestExten": lambda g: g.extension(),
    "Extension": lambda g: g.extension(),
    "Priority": lambda g: str(1 + g.num(29)), "DestPriority": lambda g: "1",
    "Uniqueid": lambda g: g.channel_id(), "DestUniqueid": lambda g: g.channel_id(),
    "Linkedid": lambda g: g.channel_id(), "DestLinkedid": lambda g: g.channel_id(),
    "Application": lambda g: g.pick(("Set", "GoSub", "Dial", "AGI", "NoOp", "Return")),
    "AppData": lambda g: g.pick(("XIVO_PRESUBR_GLOBAL_NAME=USER",
                                 "agi://127.0.0.1/incoming_user_set_features",
                                       "SIP/abc123,30,Tt", "(Incoming call)", "")),
    "Cause": lambda g: g.pick(("16", "17", "19", "21")),
    "Cause-txt": lambda g: g.pick(("Normal Clearing", "User busy", "No answer",
                                         "Call Rejected")),
    "DialString": lambda g: g.pick(("abc123", "def456", "local/1001@default")),
    "DialStatus": lambda g: g.pick(("ANSWER", "BUSY", "NOANSWER", "CANCEL", "")),
    "BridgeUniqueid": lambda g: g.uuid(), "BridgeType": lambda g: "basic",
    "BridgeTechnology": lambda g: "simple_bridge", "BridgeCreator": lambda g: "<unknown>",
    "BridgeName": lambda g: "<unknown>", "BridgeNumChannels": lambda g: g.pick("12"),
    "Device": lambda g: g.pick(("SIP/", "Custom:*735", "Queue:")) + g.word(),
    "State": lambda g: g.pick(("NOT_INUSE", "INUSE", "RINGING", "UNAVAILABLE", "BUSY")),
    "ChannelType": lambda g: "SIP", "Peer": lambda g: "SIP/" + g.word(),
    "PeerStatus": lambda g: g.pick(("Registered", "Reachable", "Unregistered")),
    "Address": lambda g: f"10.0.{g.num(256)}.{1 + g.num(254)}:5060",
    "Queue": lambda g: g.pick(("support", "sales", "petak", "accueil")),
    "MemberName": lambda g: g.person(), "Interface": lambda g: "SIP/" + g.word(),
    "StateInterface": lambda g: "SIP/" + g.word(),
    "Membership": lambda g: g.pick(("static", "dynamic")),
    "Penalty": lambda g: g.pick("0012"), "CallsTaken": lambda g: str(g.num(60)),
    "LastCall": lambda g: str(1_490_000_000 + g.num(20_000_000)),
    "InCall": lambda g: g.pick("01"), "Status": lambda g: g.pick("125"),
    "Paused": lambda g: g.pick("001"), "PausedReason": lambda g: "",
    "Ringinuse": lambda g: g.pick("01"),
}

# Names 17.08-era services publish that the page does not document (illustrative): they are
# undocumented (N300, a warning). Their data is generated from these little schemas, their
# routing keys filled from message paths.
UNDOCUMENTED = (
    ("line_edited", "config.line.edited",
     {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}),
    ("user_line_associated", "config.user_line_association.created",
     {"type": "object", "required": ["user_id", "line_id", "main_user", "main_line"],
      "properties": {"user_id": {"type": "integer"}, "line_id": {"type": "integer"},
                     "main_user": {"type": "boolean"}, "main_line": {"type": "boolean"}}}),
    ("call_log_created", "call_log.created",
     {"type": "object", "required": ["id", "duration"],
      "properties": {"id": {"type": "integer"}, "duration": {"type": "integer", "minimum": 0}}}),
    ("agent_paused", "status.agent.pause",
     {"type": "object", "required": ["agent_id", "agent_number", "queue"],
      "properties": {"agent_id": {"type": "integer"}, "agent_number": {"type": "string"},
                     "queue": {"type": "string"}}}),
    ("sip_endpoint_edited", "config.sip_endpoint.edited",
     {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}),
)

PRESETS: dict[str, dict[str, float] | None] = {
    # What a busy 17.08 PBX bus looks like: mostly AMI, then calls and statuses.
    "realistic": {
        "VarSet": 22, "Newexten": 8, "Newchannel": 5, "Hangup": 5, "Newstate": 5,
        "QueueMemberStatus": 5, "DeviceStateChange": 4, "DialBegin": 2, "DialEnd": 2,
        "BridgeEnter": 2, "BridgeLeave": 2, "PeerStatus": 1,
        "call_created": 2.5, "call_updated": 5, "call_ended": 2.5, "call_held": 0.3,
        "call_resumed": 0.3,
        "endpoint_status_update": 6, "user_status_update": 2, "agent_status_update": 1,
        "chat_message_event": 1,
        "user_voicemail_message_created": 0.8, "user_voicemail_message_updated": 0.4,
        "user_voicemail_message_deleted": 0.3,
        "users_forwards_busy_updated": 0.3, "users_forwards_noanswer_updated": 0.3,
        "users_forwards_unconditional_updated": 0.3, "users_services_dnd_updated": 0.5,
        "users_services_incallfilter_updated": 0.2,
        "favorite_added": 0.3, "favorite_deleted": 0.2, "user_created": 0.2,
        "user_edited": 0.5, "user_deleted": 0.1, "call_form_result": 0.2,
        "service_registered_event": 0.2, "service_deregistered_event": 0.2,
        "plugin_install_progress": 0.3, "plugin_uninstall_progress": 0.1,
        "undocumented": 3, "broken": 3,
    },
    # Every documented name and four AMI events alike, plus undocumented and broken ones.
    "uniform": None,
    # Only AMI events.
    "ami": {"VarSet": 4, "Newexten": 2, "Newchannel": 1, "Hangup": 1, "Newstate": 1,
            "QueueMemberStatus": 1, "DeviceStateChange": 1},
}
PRESETS["valid"] = {k: v for k, v in PRESETS["realistic"].items()
                    if k not in ("undocumented", "broken")}
DEFAULT_MIX = "realistic"
SPECIAL_KEYS = ("undocumented", "broken")


class MixError(ValueError):
    """A --mix that names no preset or an unknown event (a usage error)."""


# ---------------------------------------------------------------------------------------------
# Value generation


def _sre_sample(pattern: str, rng: random.Random) -> str:
    """A string matching a simple regex (literals, classes, repeats, groups, branches)."""
    import re._constants as K
    import re._parser as P

    def emit(items, out):
        for op, av in items:
            if op is K.LITERAL:
                out.append(chr(av))
            elif op is K.ANY:
                out.append("x")
            elif op is K.IN:
                out.append(pick_class(av))
            elif op in (K.MAX_REPEAT, K.MIN_REPEAT):
                lo, hi, sub = av
                hi = lo + 2 if hi is K.MAXREPEAT else hi
                for _ in range(rng.randint(lo, min(hi, lo + 3))):
                    emit(sub, out)
            elif op is K.SUBPATTERN:
                emit(av[-1], out)
            elif op is K.BRANCH:
                emit(rng.choice(av[1]), out)
            elif op is K.AT:
                continue
            else:
                raise ValueError(f"cannot generate {op} of {pattern!r}")

    def pick_class(items):
        choices = []
        for op, av in items:
            if op is K.LITERAL:
                choices.append(chr(av))
            elif op is K.RANGE:
                choices.extend(chr(c) for c in range(av[0], min(av[1], av[0] + 25) + 1))
            elif op is K.CATEGORY and av is K.CATEGORY_DIGIT:
                choices.extend("0123456789")
            elif op is K.CATEGORY:
                choices.extend("abcxyz")
            elif op is K.NEGATE:
                return "x"
        return rng.choice(choices)

    out: list[str] = []
    emit(P.parse(pattern), out)
    return "".join(out)


class Gen:
    """Seeded value makers shared by every event."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        rand = rng.random
        # rng.choice is 3x slower than this, and 100,000 messages make ~2M picks.
        self.pick = lambda seq: seq[int(rand() * len(seq))]
        self.num = lambda n: int(rand() * n)
        self.users = [self.uuid() for _ in range(300)]
        self.servers = [self.uuid() for _ in range(2)]
        self.channel_base = 1_490_000_000

    def uuid(self) -> str:
        return str(_uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def user(self) -> str:
        return self.pick(self.users)

    def person(self) -> str:
        return f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}"

    def extension(self) -> str:
        return str(self.pick((1000, 1000, 2000, 8000)) + int(self.rng.random() * 400))

    def word(self) -> str:
        return format(self.rng.getrandbits(30), "x").rjust(8, "0")[-6:]

    def channel_id(self) -> str:
        return f"{self.channel_base + self.num(20_000_000)}.{self.num(5000)}"

    def voicemail_id(self) -> str:
        return f"{self.channel_base + self.num(20_000_000)}-{self.num(100):08d}"

    def sip_channel(self) -> str:
        return f"SIP/{self.word()}-{self.num(1 << 32):08x}"

    def state(self) -> tuple[str, str]:
        return self.pick(_STATES)

    def timestamp_text(self) -> str:
        t = time.gmtime(self.channel_base + self.num(20_000_000))
        return (time.strftime("%Y-%m-%dT%H:%M:%S", t)
                + f".{self.num(1000):03d}" + self.pick(("-0500", "+0100", "+0000")))


def _deref(schema, defs):
    """(schema without top-level $ref, name of the definition it came from or None)."""
    name = None
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = defs[name]
    return schema, name


def _is_uuid_schema(schema, uuid_pattern) -> bool:
    return isinstance(schema, dict) and schema.get("pattern") == uuid_pattern


class SchemaMaker:
    """Compiles a JSON Schema into a function rng -> a value valid against it."""

    def __init__(self, gen: Gen, defs: dict, uuid_pattern: str):
        self.gen = gen
        self.defs = defs
        self.uuid_pattern = uuid_pattern

    def compile(self, schema, key: str | None = None):
        g = self.gen
        schema, _ = _deref(schema, self.defs)
        if schema is True or schema == {}:
            return lambda: g.pick(WORDS)
        if "const" in schema:
            value = schema["const"]
            return lambda: value
        if "enum" in schema or "enum" in (schema.get("anyOf") or [{}])[0]:  # a value set
            values = tuple(schema.get("enum") or schema["anyOf"][0]["enum"])
            return lambda: g.pick(values)
        types = schema.get("type", "object")
        types = [types] if isinstance(types, str) else list(types)
        non_null = [t for t in types if t != "null"] or ["null"]
        kind = non_null[0]
        if kind == "string" and _is_uuid_schema(schema, self.uuid_pattern):
            make = (g.user if key and key.endswith("user_uuid") else
                    (lambda: g.pick(g.servers)) if key in ("xivo_id", "xivo_uuid")
                    else g.uuid)
        elif kind == "string":
            make = self._string(schema, key)
        elif kind == "integer":
            make = self._integer(schema, key)
        elif kind == "number":
            make = lambda: g.rng.random() * 100  # noqa: E731
        elif kind == "boolean":
            make = lambda: g.rng.random() < 0.5  # noqa: E731
        elif kind == "array":
            make = self._array(schema)
        elif kind == "object":
            make = self._object(schema, key)
        else:
            make = lambda: None  # noqa: E731
        if "null" in types and kind != "null":
            inner = make
            return lambda: None if g.rng.random() < 0.1 else inner()
        return make

    def _string(self, schema, key):
        g = self.gen
        pattern = schema.get("pattern")
        hint = STRING_HINTS.get(key)
        if hint is not None:
            probe = [hint(g) for _ in range(20)]
            if pattern is None or all(re.search(pattern, s) for s in probe):
                return lambda: hint(g)
        if pattern is not None:
            return lambda: _sre_sample(pattern, g.rng)
        return lambda: g.pick(WORDS)

    def _integer(self, schema, key):
        g = self.gen
        lo, hi = schema.get("minimum"), schema.get("maximum")
        hint = INT_HINTS.get(key)
        if hint is not None:
            probe = [hint(g) for _ in range(20)]
            if all((lo is None or v >= lo) and (hi is None or v <= hi) for v in probe):
                return lambda: hint(g)
        lo = 1 if lo is None else lo
        hi = max(lo, 5000 if hi is None else hi)
        return lambda: g.rng.randint(lo, hi)

    def _array(self, schema):
        g = self.gen
        prefix = [self.compile(s) for s in schema.get("prefixItems", ())]
        items = schema.get("items", True if not prefix else False)
        item = self.compile(items) if items is not False else None
        lo = schema.get("minItems", len(prefix))
        hi = schema.get("maxItems", max(lo, len(prefix) + (3 if item else 0)))

        def make():
            n = g.rng.randint(lo, hi)
            out = [m() for m in prefix[:n]]
            while item is not None and len(out) < n:
                out.append(item())
            return out
        return make

    def _object(self, schema, key):
        g = self.gen
        required = set(schema.get("required", ()))
        props = [(k, k in required, self.compile(v, k))
                 for k, v in (schema.get("properties") or {}).items()]
        extra = schema.get("additionalProperties")
        extra_make = (self.compile(extra, key) if isinstance(extra, dict) and not props
                      else None)

        def make():
            out = {}
            for k, req, m in props:
                if req or g.rng.random() < 0.6:
                    out[k] = m()
            if extra_make is not None:  # e.g. a call's talking_to: channel id -> user
                for _ in range(g.num(3)):
                    out[g.channel_id()] = extra_make()
            return out
        return make


# ---------------------------------------------------------------------------------------------
# The capture

@dataclass
class Kind:
    """One generator of valid messages: a documented event, an AMI event or an undocumented one."""

    key: str
    name: str
    make_data: object
    rk: Template
    acl: Template | None
    name_values: dict
    data_schema: object = None
    fields: list = field(default_factory=list)  # the data's fields, for the mutations
    not_yet: bool = False  # not in the target version: its messages cause V700

    def message(self, gen: Gen) -> tuple[dict, str]:
        msg = {"name": self.name, "origin_uuid": gen.pick(gen.servers),
               "data": self.make_data()}
        if self.acl is not None:
            msg["required_acl"] = self.acl.fill(msg, self.name_values)
        rk = self.rk.fill(msg, self.name_values)
        return msg, rk


@dataclass
class Capture:
    """The generated messages, with what each is and the finding it must cause."""

    items: list            # (routing_key, body, properties)
    keys: list             # the mix key each message was drawn for
    intended: list         # None (a valid message), or the code a broken/undocumented one causes
    mutations: list        # the mutation label of a broken message, else None
    mix: dict
    seed: int

    def __len__(self):
        return len(self.items)

    def counts(self) -> dict:
        out: dict = {}
        for k in self.keys:
            out[k] = out.get(k, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def mean_body_bytes(self) -> float:
        return sum(len(b) for _, b, _ in self.items) / max(1, len(self.items))


@dataclass
class FieldInfo:
    name: str
    required: bool
    schema: dict
    types: tuple
    is_uuid: bool


def _data_fields(data_schema, defs, uuid_pattern) -> list[FieldInfo]:
    schema, _ = _deref(data_schema, defs)
    if not isinstance(schema, dict):
        return []
    required = set(schema.get("required", ()))
    out = []
    for k, v in (schema.get("properties") or {}).items():
        resolved, ref = _deref(v, defs)
        if not isinstance(resolved, dict):
            continue
        types = resolved.get("type", ())
        types = (types,) if isinstance(types, str) else tuple(types)
        out.append(FieldInfo(k, k in required, resolved, types,
                             _is_uuid_schema(resolved, uuid_pattern)))
    return out


def _wrong_type_value(types):
    for value, t in (([], "array"), ({}, "object"), (12345, "integer"), ("x", "string")):
        if t not in types and not (t == "integer" and "number" in types):
            return value
    return None


def _dumps(msg) -> bytes:
    # As the Python publishers serialize (json.dumps defaults: ", " and ": ", ASCII escapes).
    return json.dumps(msg).encode("utf-8")


# A mutation: (the code it must cause, a label, applies(kind, checker) -> candidates or None,
# apply(kind, msg, rk, props, candidate, gen) -> (body bytes, rk, props)).
def _envelope(fn):
    def apply(kind, msg, rk, props, cand, gen):
        return fn(msg, rk, props, gen)
    return apply


def _set_data(value_of):
    def apply(kind, msg, rk, props, cand, gen):
        msg["data"][cand.name] = value_of(cand)
        return _dumps(msg), rk, props
    return apply


def _drop_data(kind, msg, rk, props, cand, gen):
    del msg["data"][cand.name]
    return _dumps(msg), rk, props


def _rk_word(kind, msg, rk, props, part, gen):
    # The routing key the message would have if the field it carries had another value.
    fake = _path_set_copy(msg, part[2], render(_path_get(msg, part[2])) + "0")
    return _dumps(msg), kind.rk.fill(fake, kind.name_values), props


def _range_breaker(f: FieldInfo):
    if "maximum" in f.schema:
        return f.schema["maximum"] + 1
    return f.schema["minimum"] - 1


def _covered_paths(checker: Checker, name: str, code: str) -> set:
    return {cc.cover.path for cc in checker.errata.by_key.get((name, code), ())}


def _fields(pred):
    def applies(kind: Kind, checker: Checker):
        found = [f for f in kind.fields if pred(f, kind, checker)]
        return found or None
    return applies


def _envelope_only(kind, checker):
    return [None]


def _with_acl(kind, checker):
    return [None] if kind.acl is not None else None


def _without_acl(kind, checker):
    return [None] if kind.acl is None else None


def _rk_from_data(kind, checker):
    paths = [p for p in kind.rk.parts if type(p) is not str and p[0] == "path"]
    return paths or None


def _path_get(msg, path):
    node = msg
    for p in path:
        node = node[p]
    return node


def _path_set_copy(msg, path, value):
    root = orjson.loads(orjson.dumps(msg))
    node = root
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return root


def _mutations():
    def not_utf8(msg, rk, props, gen):
        return _dumps(msg).replace(b'"data"', b'"d\xffata"', 1), rk, props

    def truncated(msg, rk, props, gen):
        body = _dumps(msg)
        return body[: len(body) // 2], rk, props

    def array_body(msg, rk, props, gen):
        return b"[" + _dumps(msg) + b"]", rk, props

    def text_plain(msg, rk, props, gen):
        return _dumps(msg), rk, {"content_type": "text/plain"}

    def no_origin(msg, rk, props, gen):
        del msg["origin_uuid"]
        return _dumps(msg), rk, props

    def name_not_string(msg, rk, props, gen):
        msg["name"] = 42
        return _dumps(msg), rk, props

    def origin_not_uuid(msg, rk, props, gen):
        msg["origin_uuid"] = gen.pick(("localhost", "xivo", "", "None"))
        return _dumps(msg), rk, props

    def foreign_rk(msg, rk, props, gen):
        return _dumps(msg), "bench.misrouted." + rk, props

    def undocumented_on_documented_rk(msg, rk, props, gen):
        msg["name"] = "bench_renamed_event"
        return _dumps(msg), rk, props

    def acl_missing(msg, rk, props, gen):
        del msg["required_acl"]
        return _dumps(msg), rk, props

    def acl_null(msg, rk, props, gen):
        msg["required_acl"] = None
        return _dumps(msg), rk, props

    def acl_wrong(msg, rk, props, gen):
        msg["required_acl"] = msg["required_acl"] + ".other"
        return _dumps(msg), rk, props

    def acl_undocumented(msg, rk, props, gen):
        msg["required_acl"] = "events.bench.undocumented"
        return _dumps(msg), rk, props

    return (
        ("B100", "body not UTF-8", _envelope_only, _envelope(not_utf8)),
        ("B101", "body truncated", _envelope_only, _envelope(truncated)),
        ("B102", "body is an array", _envelope_only, _envelope(array_body)),
        ("B104", "content type text/plain", _envelope_only, _envelope(text_plain)),
        ("E200", "no origin_uuid", _envelope_only, _envelope(no_origin)),
        ("E201", "name is a number", _envelope_only, _envelope(name_not_string)),
        ("D605", "origin_uuid not a UUID", _envelope_only, _envelope(origin_not_uuid)),
        ("R400", "routing key of nothing", _envelope_only, _envelope(foreign_rk)),
        ("N301", "renamed, documented routing key", _envelope_only,
         _envelope(undocumented_on_documented_rk)),
        ("R401", "routing-key word differs from data", _rk_from_data, _rk_word),
        ("A500", "required_acl missing", _with_acl, _envelope(acl_missing)),
        ("A501", "required_acl null", _with_acl, _envelope(acl_null)),
        ("A502", "required_acl of something else", _with_acl, _envelope(acl_wrong)),
        ("A503", "required_acl undocumented", _without_acl, _envelope(acl_undocumented)),
        ("D600", "required field missing",
         _fields(lambda f, k, c: f.required and f"$.data.{f.name}"
                 not in _covered_paths(c, k.name, "D600")), _drop_data),
        ("D601", "field of the wrong JSON type",
         _fields(lambda f, k, c: f.types and not f.is_uuid
                 and _wrong_type_value(f.types) is not None),
         _set_data(lambda f: _wrong_type_value(f.types))),
        ("D602", "value outside its set or range",
         _fields(lambda f, k, c: "enum" in f.schema and f.types == ("string",)
                 or ("minimum" in f.schema or "maximum" in f.schema)),
         _set_data(lambda f: "bench-not-in-set" if "enum" in f.schema else _range_breaker(f))),
        ("D603", "string not of its format",
         _fields(lambda f, k, c: "pattern" in f.schema and not f.is_uuid),
         _set_data(lambda f: "bench!")),
        ("D605", "data UUID not a UUID", _fields(lambda f, k, c: f.is_uuid),
         _set_data(lambda f: "not-a-uuid")),
    )


class Generator:
    """Builds a Capture of `n` messages for a mix, deterministic for a seed."""

    def __init__(self, checker: Checker, seed: int = 0):
        self.checker = checker
        self.seed = seed
        self.gen = Gen(random.Random(seed))
        cat = checker.catalogue
        self.maker = SchemaMaker(self.gen, cat.definitions, checker.uuid_pattern)
        self.mutations = _mutations()
        self._kinds: dict[str, Kind] = {}

    # -- kinds ------------------------------------------------------------------------------
    def kind(self, key: str) -> Kind:
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = self._build_kind(key)
        return kind

    def _build_kind(self, key: str) -> Kind:
        checker = self.checker
        cat = checker.catalogue
        hit = checker.resolve(key)
        if hit is None:
            raise MixError(f"--mix: {key!r} is neither a documented event, an AMI-like name, "
                           f"nor one of {', '.join(SPECIAL_KEYS)}")
        compiled, name_values = hit
        view = compiled.spec.at_version(checker.version)
        data_schema = view["data"]
        if compiled.spec.is_open_family:
            make_data = self._ami_data(key)
        else:
            make_data = self.maker.compile(data_schema)
        return Kind(key, key, make_data, compiled.rk, compiled.acl, name_values, data_schema,
                    _data_fields(data_schema, cat.definitions, checker.uuid_pattern),
                    compiled.not_yet)

    def _ami_data(self, name: str):
        g = self.gen
        headers = AMI_HEADERS.get(name, ("Event", "Privilege") + _CHANNEL)
        makers = tuple((h, AMI_VALUES.get(h, lambda g: g.word())) for h in headers)

        def make():
            out = {}
            for h, m in makers:
                out[h] = name if h == "Event" else m(g)
            return out
        if "Variable" in headers:
            base = make

            def make():  # noqa: F811 - a VarSet-like event: a variable and its value
                out = base()
                var, kind = g.pick(_VARS)
                out["Variable"] = var
                out["Value"] = {None: g.sip_channel(), "int": str(1 + g.num(399)),
                                "ext": g.extension(), "uuid": g.user()}.get(kind, kind)
                return out
        return make

    def undocumented_kinds(self) -> list[Kind]:
        kinds = self._kinds.get("undocumented")
        if kinds is None:
            kinds = []
            for name, rk, schema in UNDOCUMENTED:
                if self.checker.resolve(name) is not None:
                    continue  # documented after all (another catalogue)
                kinds.append(Kind("undocumented", name, self.maker.compile(schema),
                                  Template(rk, {}, {}), None, {}, schema))
            self._kinds["undocumented"] = kinds
        return kinds

    # -- messages ---------------------------------------------------------------------------
    def valid(self, key: str) -> tuple[str, bytes, dict]:
        msg, rk = self.kind(key).message(self.gen)
        return rk, _dumps(msg), CONTENT_TYPE

    def broken(self, base_keys, base_weights, code: str | None = None):
        """(routing key, body, properties, code, label) of one broken message."""
        rng = self.gen.rng
        for _ in range(1000):
            key = rng.choices(base_keys, base_weights)[0]
            kind = self.kind(key)
            options = []
            for m in self.mutations:
                if code is not None and m[0] != code:
                    continue
                cands = m[2](kind, self.checker)
                if cands:
                    options.append((m, cands))
            if not options:
                continue
            (mcode, label, _, apply), cands = rng.choice(options)
            cand = rng.choice(cands)
            msg, rk = kind.message(self.gen)
            body, rk, props = apply(kind, msg, rk, CONTENT_TYPE, cand, self.gen)
            return rk, body, props, mcode, label
        raise MixError(f"--mix: no event of the mix can be broken with {code}")

    def capture(self, n: int, mix: dict[str, float]) -> Capture:
        rng = self.gen.rng
        keys = list(mix)
        weights = [mix[k] for k in keys]
        base_keys = [k for k in keys if k not in SPECIAL_KEYS and not k.startswith("broken:")]
        base_weights = [mix[k] for k in base_keys] or None
        if not base_keys:
            base_keys = list(self.checker.by_name)
            base_weights = None
        for k in base_keys:
            self.kind(k)  # an unknown name fails before generating anything
        items, out_keys, intended, mutations = [], [], [], []
        for key in rng.choices(keys, weights, k=n):
            if key == "undocumented":
                kind = rng.choice(self.undocumented_kinds())
                msg, rk = kind.message(self.gen)
                owner = self.checker.owner_of(rk)
                items.append((rk, _dumps(msg), CONTENT_TYPE))
                intended.append("N301" if owner else "N300")
                mutations.append(None)
            elif key == "broken" or key.startswith("broken:"):
                code = key.split(":", 1)[1] if ":" in key else None
                rk, body, props, code, label = self.broken(base_keys, base_weights, code)
                items.append((rk, body, props))
                intended.append(code)
                mutations.append(label)
            else:
                items.append(self.valid(key))
                intended.append("V700" if self._kinds[key].not_yet else None)
                mutations.append(None)
            out_keys.append(key)
        return Capture(items, out_keys, intended, mutations, dict(mix), self.seed)


def parse_mix(text: str | None, checker: Checker) -> tuple[str, dict[str, float]]:
    """(label, {key: weight}) from a preset name or `event=weight,...`."""
    text = text or DEFAULT_MIX
    if text in PRESETS:
        mix = PRESETS[text]
        if mix is None:  # uniform
            mix = {n: 1.0 for n in checker.by_name}
            mix.update({k: 1.0 for k in ("VarSet", "Newchannel", "Hangup",
                                         "QueueMemberStatus")})
            mix.update({"undocumented": 1.0, "broken": 1.0})
        # A preset is traffic of the target version: no event it does not have yet.
        return text, {k: w for k, w in mix.items()
                      if k in SPECIAL_KEYS or not checker.resolve(k)[0].not_yet}
    mix: dict[str, float] = {}
    codes = {m[0] for m in _mutations()}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, weight = part.partition("=")
        key = key.strip()
        try:
            w = float(weight) if sep else 1.0
        except ValueError:
            raise MixError(f"--mix: {part!r}: the weight must be a number") from None
        if w < 0:
            raise MixError(f"--mix: {part!r}: the weight must not be negative")
        if key.startswith("broken:"):
            if key.split(":", 1)[1] not in codes:
                raise MixError(f"--mix: {key!r}: the mutations cause {', '.join(sorted(codes))}")
        elif key not in SPECIAL_KEYS and checker.resolve(key) is None:
            raise MixError(f"--mix: {key!r} is not a preset ({', '.join(PRESETS)}), a "
                           f"documented event, an AMI-like name, nor one of "
                           f"{', '.join(SPECIAL_KEYS)}")
        mix[key] = mix.get(key, 0.0) + w
    if not mix or sum(mix.values()) <= 0:
        raise MixError("--mix: give at least one event with a positive weight")
    return text, mix


def generate(checker: Checker, n: int, mix: str | dict | None = None, seed: int = 0) -> Capture:
    if not isinstance(mix, dict):
        _, mix = parse_mix(mix, checker)
    return Generator(checker, seed).capture(n, mix)


# ---------------------------------------------------------------------------------------------
# Offline measurements

class NaiveBaseline:
    """json.loads + Python jsonschema, one prebuilt validator per event name (the generated
    whole-message schemas; a family with a name pattern is one validator), errors collected.
    No format checking: jsonschema's default."""

    def __init__(self, catalogue: Catalogue):
        import jsonschema

        from .schemagen import event_schemas
        self.by_name: dict = {}
        self.patterns: list = []
        for schema in event_schemas(catalogue).values():
            validator = jsonschema.validators.validator_for(schema)(schema)
            name = schema["properties"]["name"]
            if "const" in name:
                self.by_name[name["const"]] = validator
            else:
                self.patterns.append((re.compile(name["pattern"]), validator))
        self._cache: dict = {}

    def validator_for(self, name):
        hit = self._cache.get(name, MISSING)
        if hit is MISSING:
            hit = self.by_name.get(name)
            if hit is None:
                hit = next((v for p, v in self.patterns if p.search(name)), None)
            if len(self._cache) < 10_000:
                self._cache[name] = hit
        return hit

    def run(self, bodies) -> int:
        loads = json.loads
        bad = 0
        for body in bodies:
            try:
                msg = loads(body)
            except ValueError:
                bad += 1
                continue
            name = msg.get("name") if type(msg) is dict else None
            validator = self.validator_for(name) if type(name) is str else None
            if validator is None:
                bad += 1
                continue
            if list(validator.iter_errors(msg)):
                bad += 1
        return bad


def _floor(bodies):
    loads = orjson.loads
    for body in bodies:
        try:
            loads(body)
        except orjson.JSONDecodeError:
            pass


def _checker_loop(check, items):
    for rk, body, props in items:
        check(rk, body, props)


def _checker_summary_loop(check, add, items):
    for rk, body, props in items:
        add(check(rk, body, props), body)


def new_summary(checker: Checker, source: str = "bench"):
    from .summary import Summary
    return Summary(catalogue_names=checker.catalogue.all_names(),
                   wazo_version=checker.version_text, source=source)


def measure_offline(checker: Checker, capture: Capture, *, repeats: int = 5,
                    baseline_messages: int = 10_000, chunks: int = 20, progress=None) -> dict:
    """Rates of the pipelines over the same capture, interleaved; medians of `repeats`."""
    items = capture.items
    bodies = [b for _, b, _ in items]
    naive = NaiveBaseline(checker.catalogue)
    naive_bodies = bodies[:baseline_messages]
    naive_items = items[:baseline_messages]
    detailed = Checker(checker.catalogue, checker.version_text, fast=False)
    # The same checker instance throughout, warmed (name cache filled) as a running listener's.
    _checker_loop(checker.check, items[:5000])
    naive.run(naive_bodies[:500])
    _checker_loop(detailed.check, naive_items[:500])
    summary = new_summary(checker)

    # Each repeat walks the capture in `chunks` slices and runs every pipeline on each slice
    # in turn (the order rotating), so a burst of load on this shared machine hits all of them
    # alike; time is the thread's CPU time. The slow pipelines get proportionally smaller slices.
    k = max(1, min(chunks, len(items), len(naive_items)))

    def sliced(seq):
        return [seq[len(seq) * i // k: len(seq) * (i + 1) // k] for i in range(k)]

    floor_s, items_s, naive_s, det_s = (sliced(bodies), sliced(items), sliced(naive_bodies),
                                        sliced(naive_items))
    pipelines = {
        "parse_floor": (len(bodies), [lambda i=i: _floor(floor_s[i]) for i in range(k)]),
        "naive_baseline": (len(naive_bodies), [lambda i=i: naive.run(naive_s[i])
                                               for i in range(k)]),
        "checker": (len(items), [lambda i=i: _checker_loop(checker.check, items_s[i])
                                 for i in range(k)]),
        "checker_summary": (len(items), [
            lambda i=i: _checker_summary_loop(checker.check, summary.add, items_s[i])
            for i in range(k)]),
        "detailed_only": (len(naive_items), [lambda i=i: _checker_loop(detailed.check, det_s[i])
                                             for i in range(k)]),
    }
    names = list(pipelines)
    rates: dict[str, list[float]] = {n: [] for n in names}
    clock = time.thread_time
    gc.freeze()  # the capture is long-lived: keep it out of the collector's scans
    try:
        for r in range(repeats):
            gc.collect()
            spent = dict.fromkeys(names, 0.0)
            for i in range(k):
                turn = (r + i) % len(names)
                for n in names[turn:] + names[:turn]:
                    fn = pipelines[n][1][i]
                    t0 = clock()
                    fn()
                    spent[n] += clock() - t0
            for n in names:
                rates[n].append(pipelines[n][0] / max(spent[n], 1e-9))
            if progress:
                progress(f"repeat {r + 1}/{repeats}: " + ", ".join(
                    f"{n} {rates[n][-1] / 1000:.1f}k" for n in names))
    finally:
        gc.unfreeze()

    def paired(a, b):
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    verdicts = {OK: 0, WARN: 0, FAIL: 0}
    fast_ok = 0
    for rk, body, props in items:
        result = checker.check(rk, body, props)
        verdicts[result.verdict] += 1
        fast_ok += not result.findings and result.verdict == OK
    return {
        "rates": {n: statistics.median(v) for n, v in rates.items()},
        "rates_all": rates,
        "ratios": {
            "checker_vs_floor": paired("checker", "parse_floor"),
            "checker_vs_naive": paired("checker", "naive_baseline"),
            "checker_summary_vs_floor": paired("checker_summary", "parse_floor"),
            "detailed_vs_checker": paired("detailed_only", "checker"),
        },
        "vs_floor": {n: paired(n, "parse_floor") for n in names},
        "messages": {n: c for n, (c, _) in pipelines.items()},
        "chunks": k,
        "verdicts": verdicts,
        "fast_path_share": fast_ok / max(1, len(items)),
    }


# ---------------------------------------------------------------------------------------------
# Memory and start-up

def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best we have
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure_rss_growth(checker: Checker, capture: Capture, messages: int,
                       unique_every: int = 20) -> dict:
    """RSS after one warm-up pass over the capture vs after `messages` more checked messages
    (check + Summary.add, as `listen` does). Every `unique_every`-th message carries a name
    never seen before (half undocumented, half AMI-like), as a hostile stream would: the
    name caches must stay bounded."""
    summary = new_summary(checker)
    check, add = checker.check, summary.add
    items = capture.items
    _checker_summary_loop(check, add, items)
    origin = "ca7f87e9-c2c8-5fad-ba1b-c3140ebb9be3"
    gc.collect()
    before = current_rss_bytes()
    n = len(items)
    done = 0
    i = 0
    unique = 0
    t0 = time.perf_counter()
    while done < messages:
        rk, body, props = items[i]
        i = i + 1 if i + 1 < n else 0
        done += 1
        if unique_every and done % unique_every == 0:
            unique += 1
            name = (f"bench_unique_{unique}" if unique & 1 else f"BenchUnique{unique}")
            body = (b'{"name": "%s", "origin_uuid": "%s", "data": {}}'
                    % (name.encode(), origin.encode()))
            rk = "bench.unique." + name
        add(check(rk, body, props), body)
    elapsed = time.perf_counter() - t0
    gc.collect()
    after = current_rss_bytes()
    return {
        "messages": messages,
        "unique_names": unique,
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "growth_mb": (after - before) / 2**20,
        "rate": messages / elapsed if elapsed > 0 else None,
    }


_STARTUP_SCRIPT = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from validator.catalogue import load_catalogue
from validator.check import Checker
t1 = time.perf_counter()
cat = load_catalogue(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None)
t2 = time.perf_counter()
Checker(cat, sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None)
t3 = time.perf_counter()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from the (big) parent.
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "compile": t3 - t2, "total": t3 - t0,
                  "maxrss_kb": peak}))
"""


def measure_startup(runs: int = 5, catalogue_path: str | None = None,
                    wazo_version: str | None = None) -> dict:
    """Catalogue load + Checker compile in fresh interpreters; medians of `runs`."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", _STARTUP_SCRIPT, str(catalogue_path or ""), wazo_version or ""],
            capture_output=True, text=True, timeout=120)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            raise RuntimeError(f"start-up probe failed: {out.stderr.strip()[-500:]}")
        sample = json.loads(out.stdout.strip().splitlines()[-1])
        sample["process_wall"] = wall
        samples.append(sample)
    keys = ("imports", "load", "compile", "total", "process_wall")
    result = {k: statistics.median(s[k] for s in samples) for k in keys}
    result["load_and_compile"] = statistics.median(s["load"] + s["compile"] for s in samples)
    result["peak_rss_mb"] = statistics.median(s["maxrss_kb"] for s in samples) / 1024
    result["runs"] = runs
    return result


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(terse=True), "machine": platform.machine()}


def versions() -> dict:
    from importlib import metadata
    out = {}
    for dist in ("orjson", "jsonschema", "jsonschema-rs", "pika"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


# ---------------------------------------------------------------------------------------------
# Live, on a broker

class LiveError(Exception):
    """The live measurement could not run (one line)."""


def _basic_properties(props: dict | None):
    import pika
    props = props or {}
    return pika.BasicProperties(content_type=props.get("content_type"),
                                headers=props.get("headers"))


def publish_backlog(params, exchange: str, items, n: int, timeout: float) -> float:
    """Publish `n` messages (cycling `items`) with publisher confirms; returns once the broker
    confirmed them all (they are in the bound queues). A SelectConnection publishes ~2.5x
    faster than BlockingConnection, which flushes the socket on every publish."""
    import pika
    from pika.adapters.select_connection import SelectConnection

    cache: dict = {}
    st = {"sent": 0, "confirmed": 0, "nacked": 0, "error": None, "done": False,
          "scheduled": False, "stalled": False, "ch": None}
    window, batch = 5000, 250
    t0 = time.perf_counter()

    def props_for(p):
        bp = cache.get(id(p))
        if bp is None:
            bp = cache[id(p)] = (_basic_properties(p), p)
        return bp[0]

    def schedule():
        if not st["scheduled"]:
            st["scheduled"] = True
            conn.ioloop.call_later(0, pump)

    def pump():
        st["scheduled"] = False
        ch = st["ch"]
        if ch is None or not ch.is_open:
            return
        k = 0
        m = len(items)
        while st["sent"] < n and st["sent"] - st["confirmed"] < window and k < batch:
            rk, body, p = items[st["sent"] % m]
            ch.basic_publish(exchange, rk, body, props_for(p))
            st["sent"] += 1
            k += 1
        if st["sent"] < n:
            if st["sent"] - st["confirmed"] < window:
                schedule()
            else:
                st["stalled"] = True

    def on_confirm(frame):
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            st["nacked"] += 1
        st["confirmed"] = max(st["confirmed"], method.delivery_tag)
        if st["confirmed"] >= n:
            st["done"] = True
            conn.close()
        elif st["stalled"] and st["sent"] - st["confirmed"] < window:
            st["stalled"] = False
            schedule()

    def on_channel(ch):
        st["ch"] = ch
        ch.add_on_close_callback(on_channel_closed)
        ch.confirm_delivery(ack_nack_callback=on_confirm, callback=lambda frame: pump())

    def on_channel_closed(ch, reason):
        if not st["done"]:
            st["error"] = f"publisher channel closed: {reason}"
            if conn.is_open:
                conn.close()

    def on_open_error(c, err):
        st["error"] = f"publisher cannot connect: {err}"
        c.ioloop.stop()

    def on_timeout():
        st["error"] = f"publishing {n} messages took more than {timeout:.0f} s"
        if conn.is_open:
            conn.close()

    conn = SelectConnection(params,
                            on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                            on_open_error_callback=on_open_error,
                            on_close_callback=lambda c, reason: c.ioloop.stop())
    conn.ioloop.call_later(timeout, on_timeout)
    try:
        conn.ioloop.start()
    finally:
        if conn.is_open:
            try:
                conn.close()
                conn.ioloop.start()
            except Exception:
                pass
    if st["error"] or not st["done"]:
        raise LiveError(st["error"] or "publishing stopped early")
    if st["nacked"]:
        raise LiveError(f"the broker refused {st['nacked']} published messages")
    return time.perf_counter() - t0


def _props_of(properties) -> dict:
    out = {}
    if properties.content_type is not None:
        out["content_type"] = properties.content_type
    if properties.headers:
        out["headers"] = properties.headers
    return out


def _warmup(n: int) -> int:
    """Deliveries left out of a live rate: the first fifth, which may already sit in socket
    and pipe buffers when timing starts (the broker sends no-ack consumers ~8k ahead)."""
    return n // 5


def _window(n: int, st: dict) -> dict:
    done = n - st["warm"]
    seconds = st["end"] - st["t_warm"]
    return {"messages": n, "timed_messages": done, "seconds": seconds, "rate": done / seconds,
            "cpu_us_per_message": (st["cpu_end"] - st["cpu_warm"]) / done * 1e6}


def _tick(st: dict, n: int) -> None:
    """Per delivery: the two timestamps of the timed window."""
    c = st["count"] = st["count"] + 1
    if c == st["warm"]:
        st["t_warm"] = time.perf_counter()
        st["cpu_warm"] = time.process_time()
    elif c == n:
        st["end"] = time.perf_counter()
        st["cpu_end"] = time.process_time()


def _pika_consume(params, exchange, items, n, timeout, handler) -> dict:
    """Own exclusive queue bound with #, a BlockingConnection consumer with auto_ack attached,
    a backlog of n published (the consumer not serviced meanwhile, as the sources' are not),
    then handler(method, properties, body) per delivery; timed after the warm-up."""
    import pika
    conn = pika.BlockingConnection(params)
    try:
        ch = conn.channel()
        queue = ch.queue_declare("", exclusive=True, auto_delete=True,
                                 arguments={"x-max-length": n + 1000}).method.queue
        ch.queue_bind(queue, exchange, routing_key="#")
        st = {"count": 0, "warm": max(1, _warmup(n)), "end": None}

        def on_message(channel, method, properties, body):
            handler(method, properties, body)
            _tick(st, n)

        ch.basic_consume(queue, on_message, auto_ack=True)
        publish_backlog(params, exchange, items, n, timeout)
        deadline = time.perf_counter() + timeout
        while st["count"] < n and time.perf_counter() < deadline:
            conn.process_data_events(time_limit=0.1)
        if st["end"] is None:
            raise LiveError(f"consumed {st['count']} of {n} messages in {timeout:.0f} s")
        return _window(n, st)
    finally:
        if conn.is_open:
            conn.close()


def _source_consume(url, params, exchange, items, n, timeout, on_delivery,
                    in_child: bool = False) -> dict:
    """The project's source on the same kind of backlog: AmqpSource in this process, as listen
    runs it, or in a child process (ProcessSource), as listen --consumer-process does.  The backlog is published into its
    own queue when it reports 'connected'; timed after the warm-up, as _pika_consume."""
    from .sources.amqp import AmqpSource, SourceError
    from .sources.process import ProcessSource
    st = {"count": 0, "warm": max(1, _warmup(n)), "end": None, "error": None, "published": False}

    def on_event(kind, info):
        if kind == "connected" and not st["published"]:
            st["published"] = True
            try:
                publish_backlog(params, exchange, items, n, timeout)
            except Exception as exc:  # LiveError, or pika's own
                st["error"] = str(exc) if isinstance(exc, LiveError) else \
                    f"publishing failed: {_why(exc)}"
                source.stop("bench: publishing failed")

    def deliver(d):
        on_delivery(d)
        _tick(st, n)

    try:
        source = AmqpSource(url, exchange=exchange, bindings=("#",), max_length=n + 1000,
                            reconnect=False)
        if in_child:
            source = ProcessSource(source)
        stats = source.run(deliver, max_messages=n, duration=2 * timeout + 10, on_event=on_event)
    except SourceError as exc:
        raise LiveError(str(exc)) from None
    if st["error"]:
        raise LiveError(st["error"])
    if str(stats.stop_reason).startswith("signal:"):
        raise KeyboardInterrupt
    if st["end"] is None:
        raise LiveError(f"the source stopped ({stats.stop_reason}) after {st['count']} of {n} "
                        "messages")
    out = _window(n, st)
    out["stop_reason"] = stats.stop_reason
    return out


def run_live(url: str, checker: Checker, capture: Capture, *, messages: int = 50_000,
             repeats: int = 7, timeout: float = 120.0,
             use_source: bool = True, progress=None) -> dict:
    """Bare vs validating consumers on the same backlog, alternating order, medians.

    A uniquely named, non-durable, auto-delete topic exchange `wbv-bench-<random>` is created
    and deleted afterwards (also on Ctrl-C; a held keeper binding keeps it between runs and,
    should this process die, its auto-delete removes it with the keeper's connection).
    Variants:
      pika_bare        BlockingConnection, auto_ack, counts only (the ceiling of a consumer);
      pika_parse_only  the same loop + orjson.loads (what any validator must at least do);
      pika_validating  the same loop + Checker.check + Summary.add;
      source_bare      validator.sources.amqp.AmqpSource in this process, counting only;
      listen           what listen does: AmqpSource + Checker.check + Summary.add;
      listen_consumer_process  listen --consumer-process: AmqpSource in a child process
                       (ProcessSource), Checker.check + Summary.add in this one.
    Each rate is over the deliveries after the first fifth (see _warmup). Many short rounds
    rather than a few long ones: the machine's speed drifts, and a round's ratio only holds
    when its consumers ran under the same conditions.
    """
    import pika

    from .urls import redact_url, scrub
    where = redact_url(url)
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise LiveError(f"--url {where}: {scrub(str(exc), url)}") from None
    params.socket_timeout = 10
    params.blocked_connection_timeout = timeout
    exchange = f"wbv-bench-{_uuid.uuid4().hex[:12]}"
    items = capture.items
    expected = {OK: 0, WARN: 0, FAIL: 0}
    cycle = [items[i % len(items)] for i in range(messages)]
    for rk, body, props in cycle:
        expected[checker.check(rk, body, props).verdict] += 1

    def validating_pika():
        summary = new_summary(checker, "bench live")
        check, add, now = checker.check, summary.add, time.time

        def handler(method, properties, body):
            add(check(method.routing_key, body, _props_of(properties)), body,
                where={"index": summary.messages + 1, "received_at": now()})
        return summary, handler

    def validating_source():
        summary = new_summary(checker, "bench live")
        check, add = checker.check, summary.add

        def on_delivery(d):
            add(check(d.routing_key, d.body, d.properties), d.body,
                where={"index": summary.messages + 1, "received_at": d.received_at})
        return summary, on_delivery

    def counting(*args):
        return None

    def parsing(method, properties, body):
        # The least any validator must do: parse the body (the live twin of the parse floor).
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            pass

    def pika_run(make_handler):
        def run():
            summary, handler = make_handler()
            return summary, _pika_consume(params, exchange, cycle, messages, timeout, handler)
        return run

    def source_run(make_handler, in_child=False):
        def run():
            summary, on_delivery = make_handler()
            return summary, _source_consume(url, params, exchange, cycle, messages, timeout,
                                            on_delivery, in_child=in_child)
        return run

    variants = {
        "pika_bare": pika_run(lambda: (None, counting)),
        "pika_parse_only": pika_run(lambda: (None, parsing)),
        "pika_validating": pika_run(validating_pika),
    }
    source_note = None
    if use_source:
        variants.update({
            "source_bare": source_run(lambda: (None, counting)),
            "listen": source_run(validating_source),
            "listen_consumer_process": source_run(validating_source, in_child=True),
        })
    else:
        source_note = "AmqpSource variants skipped (--no-source)"

    keeper = None
    rates: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    verdicts_ok = True
    seen_verdicts = {}
    try:
        keeper_params = pika.URLParameters(url)
        keeper_params.heartbeat = 0  # idle between runs; a missed heartbeat would drop the exchange
        try:
            keeper = pika.BlockingConnection(keeper_params)
        except Exception as exc:
            raise LiveError(f"cannot connect to {where}: {scrub(_why(exc), url)}") from None
        kch = keeper.channel()
        kch.exchange_declare(exchange, exchange_type="topic", durable=False, auto_delete=True)
        kq = kch.queue_declare("", exclusive=True, auto_delete=True,
                               arguments={"x-max-length": 1}).method.queue
        kch.queue_bind(kq, exchange, routing_key="wbv-bench-keeper")
        names = list(variants)
        # The capture is the bench's, not a listener's: keep it out of the collector's scans
        # (a full collection walks every tracked object; a listener has few).
        gc.collect()
        gc.freeze()
        for r in range(repeats):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                try:
                    summary, result = variants[name]()
                except (pika.exceptions.AMQPError, OSError) as exc:
                    raise LiveError(f"{name}: {scrub(_why(exc), url)}") from None
                rates[name].append(result["rate"])
                cpu[name].append(result["cpu_us_per_message"])
                if summary is not None:
                    got = {v: summary.verdicts[v] for v in (OK, WARN, FAIL)}
                    seen_verdicts[name] = got
                    verdicts_ok = verdicts_ok and got == expected
                if progress:
                    progress(f"live repeat {r + 1}/{repeats}: {name} {result['rate']:,.0f} msg/s, "
                             f"{result['cpu_us_per_message']:.1f} us of this process's CPU "
                             "per message")
                keeper.process_data_events(0)  # keep the keeper's connection serviced
    finally:
        gc.unfreeze()
        _delete_exchange(params, exchange)
        if keeper is not None and keeper.is_open:
            try:
                keeper.close()
            except Exception:
                pass

    med = {k: statistics.median(v) for k, v in rates.items() if v}

    def paired(a, b):
        if a not in rates or b not in rates:
            return None
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    return {
        "exchange": exchange,
        "messages": messages,
        "repeats": repeats,
        "rates": med,
        "rates_all": rates,
        "cpu_us_per_message": {k: statistics.median(v) for k, v in cpu.items() if v},
        "ratios": {
            "pika_validating_vs_pika_bare": paired("pika_validating", "pika_bare"),
            "pika_parse_only_vs_pika_bare": paired("pika_parse_only", "pika_bare"),
            "listen_vs_pika_bare": paired("listen", "pika_bare"),
            "listen_consumer_process_vs_pika_bare": paired("listen_consumer_process",
                                                           "pika_bare"),
            "listen_vs_source_bare": paired("listen", "source_bare"),
            "source_bare_vs_pika_bare": paired("source_bare", "pika_bare"),
        },
        "verdicts_expected": expected,
        "verdicts_seen": seen_verdicts,
        "verdicts_match": verdicts_ok,
        "source": "validator.sources.amqp.AmqpSource" if not source_note else None,
        "note": source_note,
    }


def _why(exc: BaseException) -> str:
    """The innermost reason of a pika connection error, in one line."""
    for _ in range(6):
        inner = getattr(exc, "exception", None)  # pika's connector errors
        if not isinstance(inner, BaseException):
            many = getattr(exc, "exceptions", None)  # pika's connection workflow
            inner = many[-1] if many else None
        if not isinstance(inner, BaseException) and exc.args:
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _delete_exchange(params, exchange: str) -> None:
    import pika
    try:
        conn = pika.BlockingConnection(params)
    except Exception:
        return  # the keeper's auto-delete removes it once its connection is gone
    try:
        conn.channel().exchange_delete(exchange)
    except Exception:
        pass
    finally:
        if conn.is_open:
            try:
                conn.close()
            except Exception:
                pass
