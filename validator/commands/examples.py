"""`examples [EVENT ...]`: schema-valid example messages, the same bytes for the same seed."""

from __future__ import annotations

import json

from .. import generate
from ..check import VersionError
from ..generate.modes import MODES, REALISTIC
from . import common

FORMATS = ("json", "rst", "capture")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "examples", help="generate schema-valid example messages from the catalogue",
        description="Print N generated messages per event (every event of the target "
                    "version when none is named). The same seed gives the same bytes.")
    p.add_argument("events", nargs="*", metavar="EVENT",
                   help="an event name (an AMI event name too), a family's name template "
                        "or title; default: every event")
    p.add_argument("--count", type=int, default=1, metavar="N",
                   help="examples per event (default: 1)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="default: 0")
    p.add_argument("--format", choices=FORMATS, default="json",
                   help="json: a JSON array of {event, routing_key, properties, payload}; "
                        "rst: sections like the Wazo page; capture: JSONL lines `check` "
                        "reads (default: json)")
    p.add_argument("--values", choices=MODES, default=REALISTIC,
                   help="realistic: values that read like a real 17.08 bus (the catalogue's "
                        "examples, specs/generation.yaml); edge: any value the schema "
                        "allows, awkward ones often, as the property tests use "
                        "(default: realistic)")
    p.add_argument("--output", metavar="PATH", help="a file (default: stdout)")
    p.add_argument("--wazo-version", metavar="V", default=None,
                   help="the target Wazo version (default: the catalogue's, 17.08)")
    common.add_catalogue_option(p)
    p.set_defaults(run=run)


def build_generator(args) -> generate.Generator:
    catalogue = common.load(args)
    try:
        return generate.Generator(catalogue, args.wazo_version,
                                  getattr(args, "values", REALISTIC))
    except VersionError as exc:
        raise common.UsageError(str(exc)) from None
    except generate.GenerationError as exc:
        raise common.UsageError(f"cannot generate: {exc}") from None


def select_targets(gen, names: list[str]) -> list:
    """Targets for the names given (every target of the version for none), in order."""
    if not names:
        return list(gen.targets)
    out: list = []
    for name in names:
        family = [t for t in gen.all_targets if t.name is not None
                  and name in (t.spec.name_template, t.spec.title)]
        if family:
            found = family
        else:
            try:
                found = [gen.target(name)]
            except KeyError:
                raise common.UsageError(
                    f"unknown event {name!r} (the catalogue's events: "
                    "`wazo-bus-validator docs`)") from None
        for t in found:
            if not gen.exists(t):
                raise common.UsageError(
                    f"{t.label} was introduced in {t.spec.since}, after --wazo-version "
                    f"{gen.version_text}")
            if t not in out:
                out.append(t)
    return out


def make_examples(gen, targets: list, count: int, seed: int) -> list[tuple]:
    out = []
    for target in targets:
        # One stream per event: an event's examples do not depend on the others chosen.
        src = generate.RandomSource(f"wazo-bus-validator examples:{seed}:{target.label}")
        out.append((target, [gen.valid(src, target, i) for i in range(count)]))
    return out


def render(gen, batches, fmt: str) -> bytes:
    from ..capture import capture_record
    from ..docs import event_title, examples_rst
    if fmt == "json":
        items = [{"event": ex.name, "routing_key": ex.routing_key, "properties": ex.properties,
                  "payload": ex.msg} for _, examples in batches for ex in examples]
        return (json.dumps(items, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "capture":
        exchange = gen.catalogue.meta["exchange"]["name"]
        return b"".join(capture_record(ex.routing_key, ex.body, ex.properties, exchange)
                        for _, examples in batches for ex in examples)
    sections = [(event_title(t.spec, t.name), t.spec, t.name_values, examples)
                for t, examples in batches]
    return examples_rst(sections, gen.version).encode("utf-8")


def run(args) -> int:
    if args.count < 1:
        raise common.UsageError(f"--count {args.count}: must be at least 1")
    gen = build_generator(args)
    targets = select_targets(gen, args.events)
    try:
        batches = make_examples(gen, targets, args.count, args.seed)
    except generate.GenerationError as exc:
        raise common.UsageError(f"cannot generate: {exc}") from None
    common.write_document(args.output, render(gen, batches, args.format))
    return 0
