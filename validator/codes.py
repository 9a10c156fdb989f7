"""The finding codes: stable, like a linter's rule codes.

A code never changes meaning once released; a retired code is never reused. The README's
table is rendered from this list and a test keeps the two identical.
"""

from __future__ import annotations

from typing import NamedTuple

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


# NamedTuples, not frozen dataclasses: as immutable, ten times cheaper to define at start-up.
class Category(NamedTuple):
    """A family of codes: what a report calls a check (a JUnit testcase, a table section)."""

    name: str
    letter: str
    summary: str


# In report order: the order in which a message is checked.
CATEGORIES: tuple[Category, ...] = (
    Category("body", "B", "the body and its transport"),
    Category("envelope", "E", "the envelope"),
    Category("name", "N", "the event name"),
    Category("routing-key", "R", "the routing key"),
    Category("required-acl", "A", "required_acl, which decides who receives the event"),
    Category("data", "D", "the data"),
    Category("version", "V", "the target Wazo version"),
    Category("input", "X", "the input itself, and the checker"),
    Category("delivery", "W", "who receives it through xivo-websocketd (info only)"),
)
_BY_LETTER = {c.letter: c for c in CATEGORIES}


class Code(NamedTuple):
    code: str
    slug: str
    severity: str
    summary: str

    @property
    def category(self) -> Category:
        return _BY_LETTER[self.code[0]]


CODES: tuple[Code, ...] = (
    # B: the body and its transport
    Code("B100", "body-not-utf8", ERROR, "The body is not valid UTF-8."),
    Code("B101", "body-not-json", ERROR, "The body is not JSON."),
    Code("B102", "body-not-object", ERROR, "The body is JSON but not an object."),
    Code("B103", "body-too-deep", ERROR,
         "The body nests deeper than the parser accepts (1024 levels); no Wazo event does."),
    Code("B104", "content-type", ERROR,
         "The AMQP content type is known and is not application/json."),
    Code("B105", "content-type-missing", INFO, "The AMQP properties carry no content type."),
    # E: the envelope
    Code("E200", "envelope-missing-key", ERROR, "name, origin_uuid or data is missing."),
    Code("E201", "envelope-wrong-type", ERROR,
         "name is not a string, or required_acl is neither a string nor null."),
    Code("E202", "envelope-extra-key", INFO, "The envelope has a key the page does not document."),
    # N: the event name
    Code("N300", "undocumented-event", WARNING,
         "The event name is not documented (17.08 publishes many such events)."),
    Code("N301", "name-routing-key-conflict", ERROR,
         "The routing key is a documented event's key but the name is not that event's."),
    # R: the routing key
    Code("R400", "routing-key-mismatch", ERROR, "The routing key does not match the event's template."),
    Code("R401", "routing-key-word", ERROR,
         "A routing-key word differs from the data value it carries (e.g. another user's UUID)."),
    # A: required_acl, which decides who receives the event through xivo-websocketd
    Code("A500", "acl-missing", ERROR,
         "The documented required_acl is absent: websocketd never delivers the event."),
    Code("A501", "acl-null", ERROR,
         "required_acl is null where one is documented: every websocket client receives it."),
    Code("A502", "acl-mismatch", ERROR,
         "required_acl differs from its documented template filled from the data."),
    Code("A503", "acl-undocumented", ERROR,
         "required_acl is present although the page documents none for this event."),
    # D: the data
    Code("D600", "data-missing-field", ERROR, "A required data field is missing."),
    Code("D601", "data-wrong-type", ERROR, "A value has the wrong JSON type."),
    Code("D602", "data-value", ERROR, "A value is outside its documented set or range."),
    Code("D603", "data-format", ERROR, "A string does not have its documented format."),
    Code("D604", "data-extra-field", INFO, "A data field the page does not document."),
    Code("D605", "not-a-uuid", ERROR, "A value that carries a UUID is not a UUID."),
    Code("D609", "data-schema", ERROR, "Another violation of the data's schema."),
    # V: the target Wazo version
    Code("V700", "not-in-version", ERROR,
         "The event does not exist yet in the target Wazo version."),
    # X: the input itself
    Code("X900", "capture-line", ERROR, "A capture line could not be read as a message."),
    Code("X901", "checker-crash", ERROR,
         "The checker itself failed on this message (a bug: please report it with the message)."),
    # W: who receives it through xivo-websocketd 17.08 (docs/delivery.md); info only, they
    # explain what the A checks (or an erratum) decided and never change a verdict
    Code("W800", "delivery-never", INFO,
         "Never delivered to any websocket client (required_acl absent), although the page "
         "sends it to someone."),
    Code("W801", "delivery-wrong-user", INFO,
         "Delivered to another user than the one the page sends it to (the ACL names another "
         "user's UUID)."),
    Code("W802", "delivery-everyone", INFO,
         "Delivered to every client (null ACL) although the page restricts it."),
    Code("W803", "delivery-dropped", INFO,
         "Dropped by websocketd (required_acl neither a string nor null, or not an event it "
         "can read), although the page sends it to someone."),
    Code("W804", "delivery-fewer", INFO,
         "Delivered to fewer clients than the page says (e.g. to admins only, its user's ACL "
         "not matching)."),
    Code("W805", "delivery-wider", INFO,
         "Delivered to more clients than the page says (e.g. to every user instead of one)."),
    Code("W806", "delivery-undocumented", INFO,
         "Delivered to websocket clients although the page documents no required_acl (by the "
         "page no client receives it)."),
)

BY_CODE: dict[str, Code] = {c.code: c for c in CODES}
CATEGORY_BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}


def category_of(code: str) -> str:
    """The name of a code's category ("data" for D602); KeyError for an unknown code."""
    return BY_CODE[code].category.name


def codes_of(category: str) -> tuple[str, ...]:
    """The codes of a category, in table order."""
    return tuple(c.code for c in CODES if c.category.name == category)


def matches(code: str, selectors: frozenset[str] | set[str]) -> bool:
    """True when a selector is the code itself or a prefix of it (ruff's --select D)."""
    return any(code.startswith(s) for s in selectors)


def validate_selectors(selectors) -> list[str]:
    """Return the selectors that match no code (for a one-line usage error)."""
    return [s for s in selectors if not any(c.code.startswith(s) for c in CODES)]
