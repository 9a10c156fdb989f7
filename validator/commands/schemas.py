"""`schemas [--check]`: (re)generate schemas/ from the catalogue, or check it is fresh."""

from __future__ import annotations

import sys
from pathlib import Path

from ..schemagen import REPO_SCHEMAS, stale_files, write_all
from ..reporters.wording import plural
from . import common


def register(subparsers) -> None:
    p = subparsers.add_parser("schemas", help="generate schemas/ from the catalogue",
                              description="Write the JSON Schemas generated from the catalogue; "
                                          "with --check, exit 1 when the files are stale.")
    p.add_argument("--check", action="store_true", help="only check the files are up to date")
    p.add_argument("--dir", type=Path, default=REPO_SCHEMAS, help="default: schemas/")
    common.add_catalogue_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    catalogue = common.load(args)
    if args.check:
        problems = stale_files(catalogue, args.dir)
        for line in problems:
            print(f"{args.dir}/{line}")
        if problems:
            print(f"schemas are stale: run `wazo-bus-validator schemas` "
                  f"({plural(len(problems), 'file')})", file=sys.stderr)
            return 1
        print(f"{args.dir}: up to date")
        return 0
    written = write_all(catalogue, args.dir)
    print(f"wrote {plural(len(written), 'schema')} to {args.dir}")
    return 0
