"""`docs [--output FILE] [--check FILE]`: the page's Events section rendered from the catalogue."""

from __future__ import annotations

from . import common


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "docs", help="render the bus page's Events section (RST) from the catalogue",
        description="Render every event (name, description, routing key, required ACL, data "
                    "fields, an example) and the errata as RST, so the docs and the "
                    "validator cannot drift.")
    p.add_argument("--output", metavar="FILE", help="a file (default: stdout)")
    p.add_argument("--check", metavar="FILE",
                   help="exit 1 when FILE differs from what would be rendered")
    common.add_catalogue_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..docs import render_events
    from ..generate import GenerationError, Generator
    catalogue = common.load(args)
    try:
        text = render_events(catalogue, Generator(catalogue))
    except GenerationError as exc:
        raise common.UsageError(f"cannot render an example: {exc}") from None
    return common.write_or_check(args.output, args.check, text, "wazo-bus-validator docs")
