"""`diff OLD NEW`: what changed on the bus between two versions, catalogues or captures."""

from __future__ import annotations

import json
from pathlib import Path

from ..catalogue import CatalogueError, load_catalogue
from ..contract import ContractError
from ..contract.diff import BREAKING, INFO, LEVELS, NON_BREAKING, Change, counts, diff
from ..contract.from_catalogue import contract_from_catalogue
from ..contract.infer import infer_contract
from ..contract.model import Contract
from ..contract.versions import VERSION_TEXT
from . import common

FORMATS = ("text", "json", "markdown")
CATALOGUE_SUFFIXES = (".yaml", ".yml")
FAIL_LEVELS = {BREAKING: (BREAKING,), NON_BREAKING: (BREAKING, NON_BREAKING), INFO: LEVELS}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "diff", help="what changed between two contracts: versions, catalogues or captures",
        description="Compare two contracts of the bus and classify each change as breaking, "
                    "non-breaking or info. OLD and NEW are each a Wazo version of the "
                    "catalogue (17.01), a catalogue file (.yaml), or a capture (JSONL) whose "
                    "contract is inferred from its messages.")
    p.add_argument("old", metavar="OLD",
                   help="a version like 16.08, a catalogue .yaml, or a capture")
    p.add_argument("new", metavar="NEW", help="the same kinds as OLD")
    p.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    p.add_argument("--output", metavar="FILE", help="a file (default: stdout)")
    p.add_argument("--fail-on", choices=tuple(FAIL_LEVELS), default=None,
                   help="exit 1 when a change of this level (or a more severe one) is found")
    common.add_catalogue_option(p)
    p.set_defaults(run=run)


def is_capture(arg: str) -> bool:
    return not VERSION_TEXT.fullmatch(arg) and Path(arg).suffix.lower() not in CATALOGUE_SUFFIXES


def load_contract(arg: str, which: str, catalogue_path, reference: Contract | None) -> Contract:
    """A version of the catalogue (--catalogue, else the bundled one), a catalogue file at
    its own contract version, or a capture (read with the reference's open families)."""
    try:
        if VERSION_TEXT.fullmatch(arg):
            return contract_from_catalogue(load_catalogue(catalogue_path), arg)
        path = Path(arg)
        if not path.exists():
            raise ContractError(f"{arg}: no such file, and not a Wazo version like 17.08")
        if not is_capture(arg):
            return contract_from_catalogue(load_catalogue(path), None)
        families = [e for e in reference.events.values() if e.name_pattern is not None]
        return infer_contract(path, families, set(reference.events))
    except (ContractError, CatalogueError) as exc:
        raise common.UsageError(f"{which} {exc}") from None


def run(args) -> int:
    sides = {"OLD": args.old, "NEW": args.new}
    contracts = {which: load_contract(arg, which, args.catalogue, None)
                 for which, arg in sides.items() if not is_capture(arg)}
    # The reference tells a capture's open families and which names are documented: the
    # first side that is a catalogue, else --catalogue (or the bundled one).
    if contracts:
        reference = next(iter(contracts.values()))
    else:
        try:
            reference = contract_from_catalogue(load_catalogue(args.catalogue))
        except (ContractError, CatalogueError) as exc:
            raise common.UsageError(str(exc)) from None
    for which, arg in sides.items():
        if which not in contracts:
            contracts[which] = load_contract(arg, which, args.catalogue, reference)
    old, new = contracts["OLD"], contracts["NEW"]
    changes = diff(old, new, reference)
    text = RENDERERS[args.format](old, new, changes)
    common.write_document(args.output, text.encode("utf-8"))
    if args.fail_on and any(c.level in FAIL_LEVELS[args.fail_on] for c in changes):
        return 1
    return 0


# -- rendering ------------------------------------------------------------------------------

def _headline(old: Contract, new: Contract, changes: list[Change]) -> str:
    n = counts(changes)
    return (f"{old.source} -> {new.source}: {n[BREAKING]} breaking, {n[NON_BREAKING]} "
            f"non-breaking, {n[INFO]} info")


def _where(c: Change) -> str:
    return c.event + (f" {c.path}" if c.path else "")


def render_text(old: Contract, new: Contract, changes: list[Change]) -> str:
    lines = [_headline(old, new, changes)]
    for level in LEVELS:
        picked = [c for c in changes if c.level == level]
        if picked:
            lines += ["", f"{level}:"]
            lines += [f"  {_where(c)}: {c.kind}: {c.message}" for c in picked]
    if not changes:
        lines.append("no change")
    return "\n".join(lines) + "\n"


def render_json(old: Contract, new: Contract, changes: list[Change]) -> str:
    doc = {"format_version": 1,
           "old": {"source": old.source, "kind": old.kind, "version": old.version,
                   "messages": old.messages},
           "new": {"source": new.source, "kind": new.kind, "version": new.version,
                   "messages": new.messages},
           "summary": counts(changes),
           "changes": [c.to_json() for c in changes]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(old: Contract, new: Contract, changes: list[Change]) -> str:
    n = counts(changes)
    lines = [f"## Bus contract diff: {_cell(old.source)} -> {_cell(new.source)}", "",
             f"**{n[BREAKING]} breaking**, {n[NON_BREAKING]} non-breaking, {n[INFO]} info", ""]
    for level in LEVELS:
        picked = [c for c in changes if c.level == level]
        if not picked:
            continue
        lines += [f"### {level.capitalize()}", "", "| event | path | change | detail |",
                  "|---|---|---|---|"]
        lines += [f"| `{_cell(c.event)}` | {'`' + _cell(c.path) + '`' if c.path else ''} | "
                  f"{c.kind} | {_cell(c.message)} |" for c in picked]
        lines.append("")
    if not changes:
        lines += ["No change.", ""]
    return "\n".join(lines)


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
