"""Two contracts -> the changes between them, classified like oasdiff and `buf breaking`.

breaking: an event gone, a field removed, a type narrowed or changed, a routing-key or ACL
template changed, a field made required or optional; non-breaking: an event or a field
added; info: the rest. A capture shows what happened, not everything that can: where NEW
is a capture, an absence is breaking only when OLD makes it unlikely to be chance
(docs/asyncapi-and-diff.md gives every rule).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Contract, EventContract, FieldContract, covers, templates_compatible

BREAKING, NON_BREAKING, INFO = "breaking", "non-breaking", "info"
LEVELS = (BREAKING, NON_BREAKING, INFO)
# An absence in NEW's capture counts as a change when OLD's rate would have shown it with
# less than this probability of missing it by chance.
EVIDENCE = 0.01
STRAY_SHARE = 0.005
MIN_SEEN = 5  # a field seen only as null this often, and never so on the other side, changed


@dataclass(frozen=True)
class Change:
    level: str
    kind: str          # a stable id, as oasdiff's: event-removed, field-type-changed, ...
    event: str
    path: str | None
    message: str

    def to_json(self) -> dict:
        return {"level": self.level, "kind": self.kind, "event": self.event, "path": self.path,
                "message": self.message}


def diff(old: Contract, new: Contract, reference: Contract | None = None) -> list[Change]:
    """The changes from OLD to NEW. `reference` (the catalogue) tells which names are
    documented (a capture's rare undocumented names are strays, set aside), which objects
    are maps (their keys are data) and which fields are optional."""
    out: list[Change] = []
    strays = {"OLD": _strays(old, reference), "NEW": _strays(new, reference)}
    for side, names in strays.items():
        if names:
            shown = ", ".join(sorted(names)[:10]) + (", ..." if len(names) > 10 else "")
            out.append(Change(INFO, "stray-events", "(undocumented)", None,
                              f"{side}: {len(names)} undocumented names too rare to compare "
                              f"(under {STRAY_SHARE:.1%} of the messages): {shown}"))
    for name in sorted(set(old.events) | set(new.events)):
        o, n = old.events.get(name), new.events.get(name)
        if (o is None or name in strays["OLD"]) and (n is None or name in strays["NEW"]):
            continue
        if o is None and old.inferred and not new.inferred:
            out.append(Change(INFO, "event-not-seen", name, None,
                              "documented, not seen in OLD's capture"))
        elif o is None:
            out.append(Change(NON_BREAKING, "event-added", name, None, _added_text(n)))
        elif n is None:
            out.append(_event_gone(old, new, o))
        else:
            hint = reference.events.get(name) if reference is not None else None
            out.extend(_event_changes(old, new, o, n, hint))
    order = {level: i for i, level in enumerate(LEVELS)}
    return sorted(out, key=lambda c: (order[c.level], c.event, c.path or "", c.kind))


def _strays(contract: Contract, reference: Contract | None) -> set[str]:
    """A capture's undocumented names seen in a tiny share of it: faults (a renamed event)
    rather than a contract, which no other capture would carry alike."""
    if not contract.inferred or not contract.messages:
        return set()
    documented = reference.events if reference is not None else {}
    return {name for name, e in contract.events.items()
            if name not in documented and e.name_pattern is None
            and (e.messages or 0) < contract.messages * STRAY_SHARE}


def _added_text(event: EventContract) -> str:
    if event.messages is not None:
        return f"new event, seen {_times(event.messages)}"
    return f"new event (since {event.since})" if event.since else "new event"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _event_gone(old: Contract, new: Contract, o: EventContract) -> Change:
    """Gone from NEW. A capture cannot show that a documented event no longer exists; but
    a capture missing what another one carried is breaking: two captures of a release gate
    run the same scenario (rare stray names were set aside before)."""
    if new.inferred and not old.inferred:
        return Change(INFO, "event-not-seen", o.name, None,
                      "documented, not seen in the capture")
    seen = f" (seen {_times(o.messages)} in OLD)" if o.messages is not None else ""
    return Change(BREAKING, "event-removed", o.name, None, f"the event is gone{seen}")


def _event_changes(old: Contract, new: Contract, o: EventContract, n: EventContract,
                   hint: EventContract | None):
    out = []
    out += _templates("routing-key", o.name, o.routing_keys, n.routing_keys, new.inferred)
    out += _templates("acl", o.name, o.acls, n.acls, new.inferred)
    sides = (o.fields, n.fields) + ((hint.fields,) if hint is not None else ())
    opaque = [p for f in sides for p, fc in f.items() if fc.opaque]
    paths = list(o.fields) + [p for p in n.fields if p not in o.fields]
    for path in paths:
        if any(path != p and path.startswith(p) and path[len(p)] in ".[" for p in opaque):
            continue  # keys of a map are data, not fields
        fo, fn = o.fields.get(path), n.fields.get(path)
        if fo is None:
            out.append(_field_added(o.name, fn))
        elif fn is None:
            optional = hint is not None and path in hint.fields and \
                hint.fields[path].required is False
            out.append(_field_gone(new, o, fo, n, optional))
        else:
            out += _field_changes(old, new, o.name, fo, fn, n)
    if not new.inferred and not old.inferred and old.version:
        # The catalogue's own changelog between the two versions.
        for version, text in n.changes:
            if _version(old.version) < _version(version):
                out.append(Change(INFO, "changelog", n.name, None, f"{version}: {text}"))
    return out


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _fmt_templates(templates) -> str:
    return ", ".join("(none)" if t is None else t for t in templates) or "(none seen)"


def _templates(kind: str, event: str, olds, news, new_inferred: bool) -> list[Change]:
    what = "routing key" if kind == "routing-key" else "required ACL"
    unmatched_new = [t for t in news if not any(templates_compatible(t, o) for o in olds)]
    unmatched_old = [o for o in olds if not any(templates_compatible(o, t) for t in news)]
    change = f"{_fmt_templates(olds)} -> {_fmt_templates(news)}"
    if unmatched_new:
        return [Change(BREAKING, f"{kind}-changed", event, None, f"{what} {change}")]
    if unmatched_old:
        if new_inferred:
            return [Change(INFO, f"{kind}-not-seen", event, None,
                           f"{what} {_fmt_templates(unmatched_old)} not seen ({change})")]
        return [Change(BREAKING, f"{kind}-changed", event, None, f"{what} {change}")]
    return []


def _describe(f: FieldContract) -> str:
    types = "|".join(f.types) or "any type"
    if f.presence is not None:
        return f"{types}, in {f.presence:.0%} of messages"
    return types + ("" if f.required is None else ", required" if f.required else ", optional")


def _field_added(event: str, fn: FieldContract) -> Change:
    return Change(NON_BREAKING, "field-added", event, fn.path, f"new field ({_describe(fn)})")


def _field_gone(new: Contract, o: EventContract, fo: FieldContract, n: EventContract,
                optional: bool) -> Change:
    """Removed from NEW's contract, or never seen in NEW's capture: breaking when OLD carried
    it so often that missing it in every one of NEW's messages is unlikely to be chance (a
    field the catalogue calls optional gets a cautious estimate of its rate: seen / (n+1))."""
    event = o.name
    text = f"field removed (was {_describe(fo)})"
    if not new.inferred:
        return Change(BREAKING, "field-removed", event, fo.path, text)
    if fo.required is None:
        return Change(INFO, "field-not-seen", event, fo.path, f"not seen in {n.messages} messages")
    if fo.presence is not None:
        rate = fo.seen / (o.messages + 1) if optional and o.messages else fo.presence
        certain = (1 - rate) ** (n.messages or 0) < EVIDENCE
    else:
        certain = fo.required
    if certain:
        return Change(BREAKING, "field-removed", event, fo.path,
                      f"{text}; absent from all {n.messages} messages")
    return Change(INFO, "field-not-seen", event, fo.path,
                  f"not seen in {n.messages} messages (was {_describe(fo)})")


def _field_changes(old: Contract, new: Contract, event: str, fo: FieldContract,
                   fn: FieldContract, n: EventContract) -> list[Change]:
    out = []
    if (old.inferred or new.inferred) and ("null",) in (fo.types, fn.types) \
            and not _null_only_is_a_change(fo, fn):
        # A field seen only as null, a few times, says nothing of its type.
        if fo.types != fn.types:
            out.append(Change(INFO, "field-type-null-only", event, fo.path,
                              f"type {'|'.join(fo.types)} -> {'|'.join(fn.types)}"))
    elif fo.types and fn.types:
        lost = [t for t in fo.types if not covers(fn.types, t)]
        gained = [t for t in fn.types if not covers(fo.types, t)]
        change = f"{'|'.join(fo.types)} -> {'|'.join(fn.types)}"
        if lost and gained:
            out.append(Change(BREAKING, "field-type-changed", event, fo.path, f"type {change}"))
        elif lost:
            out.append(Change(INFO, "field-type-not-seen", event, fo.path,
                              f"{'|'.join(lost)} not seen ({change})") if new.inferred else
                       Change(BREAKING, "field-type-narrowed", event, fo.path, f"type {change}"))
        elif gained:
            out.append(Change(INFO, "field-type-widened", event, fo.path, f"type {change}"))
    if fo.required is not None and fn.required is not None and fo.required != fn.required:
        out.append(_required_change(new, event, fo, fn, n))
    out += _enum_changes(old, new, event, fo, fn)
    return out


def _null_only_is_a_change(fo: FieldContract, fn: FieldContract) -> bool:
    """Always null on one side, never null on the other, each side declared or seen at
    least MIN_SEEN times: the value went away (or came), whatever the type."""
    if "null" in fo.types and "null" in fn.types:
        return False
    for f in (fo, fn):
        if f.required is None:  # array items carry no counts
            return False
        if f.presence is not None and (f.seen or 0) < MIN_SEEN:
            return False
    return True


def _required_change(new: Contract, event: str, fo: FieldContract, fn: FieldContract,
                     n: EventContract) -> Change:
    text = f"{_describe(fo)} -> {_describe(fn)}"
    if fo.required:
        return Change(BREAKING, "field-made-optional", event, fo.path, text)
    if not new.inferred:
        return Change(BREAKING, "field-made-required", event, fo.path, text)
    # NEW carried it every time: unlikely by chance only if OLD often lacked it.
    if fo.presence is not None and fo.presence ** (n.messages or 0) < EVIDENCE:
        return Change(BREAKING, "field-made-required", event, fo.path, text)
    return Change(INFO, "field-always-present", event, fo.path, text)


def _enum_changes(old: Contract, new: Contract, event: str, fo: FieldContract,
                  fn: FieldContract) -> list[Change]:
    if fo.enum is None and fn.enum is None:
        return []
    if not old.inferred and not new.inferred:
        if fo.enum is None:
            return [Change(BREAKING, "enum-added", event, fo.path,
                           f"values now limited to {_values(fn.enum)}")]
        if fn.enum is None:
            return [Change(INFO, "enum-removed", event, fo.path,
                           f"values no longer limited to {_values(fo.enum)}")]
        removed = [v for v in fo.enum if v not in fn.enum]
        added = [v for v in fn.enum if v not in fo.enum]
        out = []
        if removed:
            out.append(Change(BREAKING, "enum-values-removed", event, fo.path,
                              f"values removed: {_values(removed)}"))
        if added:
            out.append(Change(INFO, "enum-values-added", event, fo.path,
                              f"values added: {_values(added)}"))
        return out
    if old.inferred and new.inferred and fo.enum is not None and fn.enum is not None:
        added = [v for v in fn.enum if v not in fo.enum]
        if added:
            return [Change(INFO, "values-seen", event, fo.path,
                           f"values not in OLD's set {_values(fo.enum)}: {_values(added)}")]
    return []


def _values(values) -> str:
    return ", ".join("null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                     for v in values)


def counts(changes: list[Change]) -> dict[str, int]:
    return {level: sum(c.level == level for c in changes) for level in LEVELS}
