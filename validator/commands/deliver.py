"""`deliver CAPTURE --acl ACL ... --user UUID | --profile NAME|FILE`: which captured events
one websocket client would receive from xivo-websocketd 17.08, and why (docs/delivery.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from ..capture import CaptureError, CaptureFileError, CaptureItem, read_capture
from ..delivery.matcher import Token, dispatch_of, uses_me
from ..delivery.profiles import ProfileError, load_profiles
from ..delivery.simulate import token_delivery
from .common import UsageError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "deliver", help="which captured events one websocket token receives, and why",
        description="Simulate xivo-websocketd 17.08 for one client subscribed to every "
                    "event: list the captured events its token receives and those it does "
                    "not, with the reason for each. The token is given by its ACLs (--acl) "
                    "and user UUID (--user, which `me` in an ACL stands for), or a profile "
                    "(--profile: a name of specs/profiles.yaml, or a YAML file of the same "
                    "layout, FILE:NAME when it holds several).")
    p.add_argument("capture", metavar="CAPTURE", help="a capture file, or - for standard input")
    p.add_argument("--acl", action="append", default=[], metavar="ACL",
                   help="an ACL of the token (repeatable), e.g. events.calls.me")
    p.add_argument("--user", metavar="UUID", help="the token's user UUID (its auth id)")
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="take the token's ACLs from a profile (--acl adds to them)")
    p.add_argument("--format", choices=("text", "ndjson"), default="text",
                   help="text (default), or ndjson: one object per captured message")
    p.set_defaults(run=run)


def _profile_acls(spec: str) -> tuple[tuple[str, ...], str]:
    """(ACLs, label) of --profile NAME, FILE or FILE:NAME."""
    try:
        builtin = load_profiles()
        if spec in builtin.profiles:
            return builtin.profiles[spec].acl, f"profile {spec}"
        head, _, tail = spec.rpartition(":")
        if Path(spec).is_file():
            path, name = spec, ""
        elif head and Path(head).is_file():
            path, name = head, tail
        else:
            raise UsageError(f"--profile {spec}: neither a profile of "
                             f"{', '.join(builtin.profiles)} nor a file")
        profiles = load_profiles(path, simulation=False).profiles
    except ProfileError as exc:
        raise UsageError(f"--profile: {exc}") from None
    if name:
        if name not in profiles:
            raise UsageError(f"--profile {spec}: {path} has no profile {name!r} "
                             f"(it has {', '.join(profiles)})")
        return profiles[name].acl, f"profile {name} of {path}"
    if len(profiles) != 1:
        raise UsageError(f"--profile {spec}: {path} has {len(profiles)} profiles; name one "
                         f"with {path}:NAME ({', '.join(profiles)})")
    (only,) = profiles.values()
    return only.acl, f"profile {only.name} of {path}"


def build_token(args) -> tuple[Token, str]:
    acls: tuple[str, ...] = ()
    label = "ACLs given"
    if args.profile:
        acls, label = _profile_acls(args.profile)
    extra = tuple(args.acl)
    for acl in extra:
        if not acl:
            raise UsageError("--acl: an ACL cannot be empty")
    acls = acls + extra
    if not acls:
        raise UsageError("give the token's ACLs: --acl ACL (repeatable) or --profile NAME|FILE")
    if args.user is not None and not args.user:
        raise UsageError("--user: the user UUID cannot be empty")
    if args.user is None:
        needing = [a for a in acls if uses_me(a)]
        if needing:
            raise UsageError(f"--user UUID is needed: the ACL {needing[0]!r} names `me`, the "
                             "token's user")
    return Token(acls, args.user), label


def _row(item, token: Token):
    """(line, name, routing key, delivered, reason) of one capture item, None for metadata."""
    if isinstance(item, CaptureError):
        return item.line, None, None, False, f"not a message: {item.message}"
    if isinstance(item, CaptureItem):
        dispatch = dispatch_of(item.body)
        delivered, reason = token_delivery(token, dispatch)
        return item.line, dispatch.name, item.routing_key, delivered, reason
    return None


def run(args) -> int:
    token, label = build_token(args)
    stream = sys.stdin.buffer if args.capture == "-" else args.capture
    rows = []
    try:
        for item in read_capture(stream):
            row = _row(item, token)
            if row is None:
                continue
            if args.format == "ndjson":
                _write_ndjson(row)
            else:
                rows.append(row)
    except CaptureFileError as exc:
        raise UsageError(str(exc)) from None
    if token.matching_acl("websocketd") is None:
        sys.stderr.write("note: no ACL of this token grants 'websocketd': websocketd 17.08 "
                         "would refuse its connection; the answers assume it connects\n")
    if args.format == "text":
        sys.stdout.write(render_text(rows, token, label))
    sys.stdout.flush()
    return 0


def _write_ndjson(row) -> None:
    line, name, routing_key, delivered, reason = row
    sys.stdout.buffer.write(orjson.dumps({"line": line, "name": name, "routing_key": routing_key,
                                          "delivered": delivered, "reason": reason}) + b"\n")


def render_text(rows, token: Token, label: str) -> str:
    who = f"user {token.user}" if token.user is not None else "no user"
    shown = ", ".join(token.acls) if len(token.acls) <= 6 else f"{len(token.acls)} ACLs"
    out = [f"token: {who}, {label}: {shown}"]
    delivered = [r for r in rows if r[3]]
    missed = [r for r in rows if not r[3]]
    for title, part in ((f"receives {len(delivered)} of {len(rows)} messages", delivered),
                        (f"does not receive {len(missed)} of {len(rows)}", missed)):
        out.append(f"{title}:")
        for line, name, routing_key, _, reason in part:
            what = name if name is not None else "(no event name)"
            key = f" [{routing_key}]" if routing_key is not None else ""
            out.append(f"  line {line}: {what}{key}: {reason}")
    return "\n".join(out) + "\n"
