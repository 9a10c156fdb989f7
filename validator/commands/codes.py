"""`codes` and `explain CODE`: the finding codes, as `ruff rule` shows its rules.

`codes` lists every code with its name, severity and meaning; `explain CODE` (or its name)
adds the catalogue entries that can produce it, the errata that turn it into a warning,
and the generator's faults that trigger it.
"""

from __future__ import annotations

import orjson

from .. import codes as C
from . import common


# What each family of codes is checked against, for `explain`.
FAMILIES = {
    "B": "the body and its AMQP properties, for every message",
    "E": "the envelope (name, origin_uuid, required_acl, data), for every JSON object body",
    "N": "the event name against the catalogue's names and routing keys",
    "R": "the routing key against the event's documented template",
    "A": "required_acl against the event's documented template",
    "D": "the data against the event's JSON Schema (schemas/<event>.json)",
    "V": "the event's `since` version against --wazo-version",
    "X": "the input itself (a capture line, or the checker)",
}

EXAMPLE_SEED = "wazo-bus-validator explain"


def example_message(catalogue, code: str) -> dict | None:
    """One generated message that triggers the code: a valid message of the first event
    that admits a fault declaring it, with that fault (same catalogue, same message)."""
    from ..generate import FAULTS, Generator, RandomSource
    kinds = [kind for kind, fault in FAULTS.items() if code in fault.codes]
    if not kinds:
        return None
    gen = Generator(catalogue)
    for target in gen.targets:
        for kind in kinds:
            if kind not in gen.mutation_kinds(target):
                continue
            src = RandomSource(f"{EXAMPLE_SEED}:{code}:{target.label}")
            mutant = gen.mutate(src, gen.valid(src, target), kind, target)
            if mutant is not None:
                ex = mutant.example
                return {"fault": kind, "routing_key": ex.routing_key,
                        "properties": ex.properties,
                        "body": ex.body.decode("utf-8", "backslashreplace")}
    return None


def register(subparsers) -> None:
    p = subparsers.add_parser("codes", help="list every finding code: name, severity, meaning",
                              description="List every finding code with its name, "
                                          "severity and meaning.")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    common.add_catalogue_option(p)
    p.set_defaults(run=run_codes)
    p = subparsers.add_parser("explain", help="explain one finding code (like `ruff rule`)",
                              description="Explain a finding code: its meaning, the catalogue "
                                          "entries that can produce it, the errata that make "
                                          "it a warning, the generated faults that trigger it.")
    p.add_argument("code", metavar="CODE", help="a code (A500) or its name (acl-missing)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    common.add_catalogue_option(p)
    p.set_defaults(run=run_explain)


def errata_for(catalogue, code: str) -> list[dict]:
    out = []
    for erratum in catalogue.errata:
        for cover in erratum.covers:
            if cover.code == code:
                out.append({"erratum": erratum.id, "title": erratum.title,
                            "events": list(cover.events or erratum.events),
                            "path": cover.path})
    return out


def events_for(catalogue, code: str) -> list[str] | None:
    """The catalogue entries that can produce the code, when that is narrower than all."""
    def label(spec):
        return spec.name or spec.name_template
    if code in ("A500", "A501", "A502"):
        return [label(s) for s in catalogue.events if s.required_acl]
    if code == "A503":
        return [label(s) for s in catalogue.events if not s.required_acl]
    if code == "V700":
        return [f"{label(s)} (since {s.since})" for s in catalogue.events if s.since]
    return None


def faults_for(code: str) -> list[str]:
    from ..generate import FAULTS
    return [f"{kind}: {fault.description}" for kind, fault in FAULTS.items()
            if code in fault.codes]


def resolve_code(text: str) -> C.Code:
    wanted = text.strip()
    for c in C.CODES:
        if wanted.upper() == c.code or wanted.lower() == c.slug:
            return c
    raise common.UsageError(f"unknown finding code {text!r} (`wazo-bus-validator codes` "
                            "lists them)")


def explanation(catalogue, code: C.Code) -> dict:
    return {"code": code.code, "name": code.slug, "severity": code.severity,
            "meaning": code.summary, "checks": FAMILIES.get(code.code[0], ""),
            "events": events_for(catalogue, code.code),
            "errata": errata_for(catalogue, code.code),
            "faults": faults_for(code.code),
            "example": example_message(catalogue, code.code)}


def render_explanation(e: dict) -> str:
    out = [f"{e['code']} {e['name']} ({e['severity']})", "", e["meaning"], "",
           f"Checks {e['checks']}."]
    if e["events"] is not None:
        out += ["", f"Catalogue entries that can produce it ({len(e['events'])}):"]
        out += [f"  {n}" for n in e["events"]] or ["  none"]
    if e["errata"]:
        out += ["", "Errata that make it a warning (warning (erratum) in reports):"]
        out += [f"  {x['erratum']} {x['title']}: {', '.join(x['events'])}"
                + (f" at {x['path']}" if x["path"] else "") for x in e["errata"]]
    if e["faults"]:
        out += ["", "Generated faults that trigger it (publish --faulty, the tests):"]
        out += [f"  {f}" for f in e["faults"]]
    example = e["example"]
    if example is not None:
        out += ["", f"Example message (generated, fault {example['fault']}):",
                f"  routing key: {example['routing_key']}",
                f"  properties: {orjson.dumps(example['properties']).decode()}",
                f"  body: {example['body']}"]
    return "\n".join(out) + "\n"


def run_codes(args) -> int:
    catalogue = common.load(args)
    rows = [{"code": c.code, "name": c.slug, "severity": c.severity, "meaning": c.summary,
             "errata": sorted({x["erratum"] for x in errata_for(catalogue, c.code)})}
            for c in C.CODES]
    if args.format == "json":
        text = orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n"
    elif args.format == "markdown":
        text = "| code | name | severity | errata | meaning |\n|---|---|---|---|---|\n" + "".join(
            f"| {r['code']} | {r['name']} | {r['severity']} | {', '.join(r['errata'])} | "
            f"{r['meaning']} |\n" for r in rows)
    else:
        width = max(len(r["name"]) for r in rows)
        text = "".join(f"{r['code']}  {r['name']:<{width}}  {r['severity']:<7}  "
                       f"{r['meaning']}\n" for r in rows)
    common.write_stdout(text)
    return 0


def run_explain(args) -> int:
    code = resolve_code(args.code)
    e = explanation(common.load(args), code)
    if args.format == "json":
        common.write_stdout(orjson.dumps(e, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        common.write_stdout(render_explanation(e))
    return 0
