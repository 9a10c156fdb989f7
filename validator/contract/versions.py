"""The catalogue as it stood at one Wazo version: the events that existed, each with its
routing key, ACL, bindings and data of that version (EventSpec.at_version)."""

from __future__ import annotations

import re

from ..catalogue import Catalogue, parse_version
from . import ContractError

VERSION_TEXT = re.compile(r"[0-9]{2}\.[0-9]{2}")


def target_version(catalogue: Catalogue, text: str | None) -> tuple[int, int]:
    """'17.08' -> (17, 8), within the catalogue's range; None is its contract version."""
    text = catalogue.contract_version if text is None else text
    if not VERSION_TEXT.fullmatch(text):
        raise ContractError(f"{text!r} is not a Wazo version like 17.08")
    first, last = catalogue.version_range
    version = parse_version(text)
    if not parse_version(first) <= version <= parse_version(last):
        raise ContractError(f"Wazo version {text} is outside the catalogue's range {first}..{last}")
    return version


def catalogue_at(catalogue: Catalogue, version: tuple[int, int]) -> Catalogue:
    """A copy holding only the events of `version`, each flattened to that version's view."""
    events = []
    for spec in catalogue.events:
        if spec.introduced_after(version):
            continue
        view = spec.at_version(version)
        events.append(spec._replace(
            routing_key=view["routing_key"], required_acl=view["required_acl"],
            bindings=dict(view["bindings"]), data=view["data"],
            changes=[c for c in spec.changes if parse_version(c["version"]) <= version]))
    return catalogue._replace(events=events)
