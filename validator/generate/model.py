"""What the generator makes: targets, examples and mutants."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalogue import EventSpec


@dataclass
class Target:
    """One generatable event: a concrete name, or an open family (name drawn per message)."""

    spec: EventSpec
    name: str | None
    name_values: dict

    @property
    def label(self) -> str:
        return self.name or self.spec.key


@dataclass
class Example:
    name: str | None           # the name the message carries
    event: str                 # what it was generated for (a name, or an open family's key)
    routing_key: str
    properties: dict
    body: bytes
    msg: object = None         # the message object the body is the JSON of (None if it is not)
    name_values: dict = field(default_factory=dict)
    erratum: str | None = None

    def as_tuple(self) -> tuple:
        return self.routing_key, self.properties, self.body


@dataclass
class Mutant:
    kind: str
    example: Example
    original: Example
    expected: frozenset
    detail: str


