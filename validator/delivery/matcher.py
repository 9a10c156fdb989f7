"""The ACL matcher and the dispatch rule of xivo-websocketd 17.08, reproduced exactly.

Which client receives a bus event (docs/delivery.md has the whole story):

- the body must be UTF-8 JSON, an object with a string `name`, else websocketd drops it;
- `required_acl` absent: never forwarded to any client;
- `required_acl` null: forwarded to every subscribed client;
- `required_acl` a string: forwarded to a client only when one of its token's ACLs matches;
- `required_acl` of any other type: dropped.

A token ACL matches a required ACL when, after `me` is replaced by the token's auth id
(the user's UUID), it matches the whole string, `*` standing for one dot-free word (possibly
empty) and `#` for anything. The regex is built as websocketd builds it, so its corner cases
are kept too: Python's `$` also matches before one final newline, and `#` (`.`) never
matches a newline.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import orjson

from ..jsonvalue import json_type
from ..record import Record

# How websocketd's dispatcher sees a message's required_acl.
ABSENT = "absent"      # the key is missing: forwarded to no client
NULL = "null"          # null: forwarded to every subscribed client
STRING = "string"      # forwarded to the clients whose ACLs match it
DROPPED = "dropped"    # not an event websocketd can decode: forwarded to no client
# The envelope keys websocketd's dispatcher reads (dispatch_of): nothing else of a message
# but the data the page's ACL is filled from decides who receives it.
DISPATCH_KEYS = ("name", "required_acl")

_COMPILED_CACHE = 4096  # ACL tails from the first wildcard on; few depend on the user


def personalize(acl: str, user: str | None) -> str:
    """The ACL with `me` replaced by the token's auth id, as websocketd 17.08 does it.

    Only a trailing `.me` is replaced when there is one; otherwise every inner `.me.`
    (non-overlapping, left to right). A leading `me.` or a bare `me` is left alone.
    A token without an auth id renders it as Python renders None."""
    auth = "None" if user is None else user
    if acl.endswith(".me"):
        return f"{acl[:-3]}.{auth}"
    return acl.replace(".me.", f".{auth}.")


def acl_pattern(acl: str) -> str:
    """The regex source for an already personalized ACL: `*` one dot-free word, possibly
    empty; `#` anything but a newline; every other character literal; whole string."""
    out = []
    for char in acl:
        if char == "*":
            out.append("[^.]*?")
        elif char == "#":
            out.append(".*?")
        else:
            out.append(re.escape(char))
    return "^" + "".join(out) + "$"


def uses_me(acl: str) -> bool:
    return acl.endswith(".me") or ".me." in acl


@lru_cache(maxsize=_COMPILED_CACHE)
def _tail_regex(tail: str) -> re.Pattern:
    # Without its `^`: matched from a position, where `^` would not match.
    return re.compile(acl_pattern(tail)[1:])


@lru_cache(maxsize=_COMPILED_CACHE)
def _fixed_prefix(token_acl: str) -> str:
    """The start of the ACL that is literal whoever the user: before any wildcard or `me`."""
    marked = personalize(token_acl, "\x00")
    cut = min((i for i in (marked.find("*"), marked.find("#"), marked.find("\x00")) if i >= 0),
              default=len(marked))
    return marked[:cut]


def acl_matches(token_acl: str, required_acl: str, user: str | None) -> bool:
    """True when one token ACL grants `required_acl` to the token of `user`.

    Same answer as websocketd's `^...$` regex of the whole personalized ACL, cheaper: the
    part before the first wildcard is literal, so it is compared as a string, and only the
    rest is a (cached) regex, which for the default policy does not depend on the user
    (measured: one regex compiled per user and ACL cost 0.6 ms per message of a new user)."""
    if not required_acl.startswith(_fixed_prefix(token_acl)):
        return False  # the common case, decided without building anything
    personal = personalize(token_acl, user) if uses_me(token_acl) else token_acl
    cut = len(personal)
    for wildcard in ("*", "#"):
        at = personal.find(wildcard, 0, cut)
        if at >= 0:
            cut = at
    if not required_acl.startswith(personal[:cut]):
        return False
    if cut == len(personal):  # `^literal$`: the literal, or it and one final newline
        return len(required_acl) == cut or required_acl[cut:] == "\n"
    return _tail_regex(personal[cut:]).match(required_acl, cut) is not None


class Token(Record):
    """A websocket client's token: its ACLs and its auth id (the user's UUID, or None)."""

    __slots__ = ("acls", "user")

    def __init__(self, acls: tuple[str, ...], user: str | None = None):
        self.acls = acls
        self.user = user

    def matching_acl(self, required_acl: str) -> str | None:
        """The first of the token's ACLs that grants `required_acl`, else None."""
        for acl in self.acls:
            if acl_matches(acl, required_acl, self.user):
                return acl
        return None

    def receives(self, dispatch: Dispatch) -> bool:
        """True when websocketd forwards this dispatched event to this token's client
        (subscribed to the event's name)."""
        if dispatch.kind == NULL:
            return True
        if dispatch.kind == STRING:
            return self.matching_acl(dispatch.acl) is not None
        return False


class Dispatch(Record):
    """What websocketd's dispatcher makes of one message."""

    __slots__ = ("kind", "acl", "name", "why", "msg")

    def __init__(self, kind: str, acl: str | None = None, name: str | None = None,
                 why: str = "", msg: dict | None = None):
        self.kind = kind  # ABSENT, NULL, STRING or DROPPED
        self.acl = acl    # the required_acl when kind is STRING
        self.name = name  # the event name, when the body has a string one
        self.why = why    # for DROPPED: why websocketd drops it
        self.msg = msg    # the decoded body, when it is an object




def decode(body: bytes) -> tuple[object, str]:
    """(the decoded JSON value, "") or (None, why websocketd could not decode it).

    websocketd decodes with Python's json module, which accepts NaN and lone surrogates
    that orjson refuses: orjson first for speed, json when orjson refuses."""
    try:
        return orjson.loads(body), ""
    except orjson.JSONDecodeError:
        return websocketd_decode(body)


def websocketd_decode(body: bytes) -> tuple[object, str]:
    """decode() of a body orjson refused already (trying it again costs an exception, ~2 us):
    Python's json module alone, as websocketd reads it (orjson reads an integer past 64 bits
    as a float, json as an integer: decode() keeps orjson's reading of what it accepts)."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return None, "the body is not UTF-8"
    try:
        return json.loads(text), ""
    except (ValueError, RecursionError):
        return None, "the body is not JSON"


def dispatch_of(body: bytes | None = None, msg: object = None) -> Dispatch:
    """websocketd 17.08's reading of a message: from its raw body, or an already decoded
    value (`msg`, when the caller parsed it)."""
    if body is not None:
        msg, why = decode(body)
        if why:
            return Dispatch(DROPPED, why=why)
    if not isinstance(msg, dict):
        return Dispatch(DROPPED,
                        why=f"the body is a JSON {json_type(msg, integer=False)}, not an object")
    if "name" not in msg:
        return Dispatch(DROPPED, why="the body has no name", msg=msg)
    name = msg["name"]
    if not isinstance(name, str):
        return Dispatch(DROPPED, msg=msg,
                        why=f"name is a {json_type(name, integer=False)}, not a string")
    if "required_acl" not in msg:
        return Dispatch(ABSENT, name=name, msg=msg)
    acl = msg["required_acl"]
    if acl is None:
        return Dispatch(NULL, name=name, msg=msg)
    if not isinstance(acl, str):
        return Dispatch(DROPPED, name=name, msg=msg,
                        why=f"required_acl is a {json_type(acl, integer=False)}, not a string or null")
    return Dispatch(STRING, acl=acl, name=name, msg=msg)
