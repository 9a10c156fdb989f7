"""`asyncapi [--wazo-version V] [--output FILE] [--check FILE]`: the AsyncAPI 3.0 document."""

from __future__ import annotations

from . import common


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "asyncapi", help="export the catalogue as an AsyncAPI 3.0 document",
        description="Write an AsyncAPI 3.0.0 document of the bus (YAML, or JSON for a .json "
                    "file) generated from the catalogue: the same catalogue gives the same "
                    "bytes. With --check, exit 1 when FILE is stale.")
    p.add_argument("--wazo-version", metavar="V", default=None,
                   help="the Wazo version to describe (default: the catalogue's, 17.08)")
    p.add_argument("--output", metavar="FILE",
                   help="a file, .json for JSON (default: stdout, YAML)")
    p.add_argument("--check", metavar="FILE",
                   help="exit 1 when FILE differs from what would be written to it")
    common.add_catalogue_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..asyncapi import build_document, format_for, render
    from ..contract import ContractError
    from ..generate import GenerationError
    catalogue = common.load(args)
    try:
        document = build_document(catalogue, args.wazo_version)
    except ContractError as exc:
        raise common.UsageError(f"--wazo-version: {exc}") from None
    except GenerationError as exc:
        raise common.UsageError(f"cannot generate an example: {exc}") from None
    version = f" --wazo-version {args.wazo_version}" if args.wazo_version else ""
    target = args.check or args.output
    return common.write_or_check(args.output, args.check, render(document, format_for(target)),
                                 f"wazo-bus-validator asyncapi{version}")
