"""The delivery consequence codes, for the one code table (validator/codes.py registers them).

Info level: they explain what a message's ACL does to its receivers and never change a
verdict; the A5xx checks decide conformance. Each says how the actual delivery through
xivo-websocketd 17.08 differs from the page's: the event's ACL template filled from its own
data, matched against the default user policy and an admin token (docs/delivery.md).
"""

from __future__ import annotations

SEVERITY = "info"

# (code, slug, summary), in the order of the table.
DELIVERY_CODES: tuple[tuple[str, str, str], ...] = (
    ("W800", "delivery-never",
     "Never delivered to any websocket client (required_acl absent), although the page "
     "sends it to someone."),
    ("W801", "delivery-wrong-user",
     "Delivered to another user than the one the page sends it to (the ACL names another "
     "user's UUID)."),
    ("W802", "delivery-everyone",
     "Delivered to every client (null ACL) although the page restricts it."),
    ("W803", "delivery-dropped",
     "Dropped by websocketd (required_acl neither a string nor null, or not an event it "
     "can read), although the page sends it to someone."),
    ("W804", "delivery-fewer",
     "Delivered to fewer clients than the page says (e.g. to admins only, its user's ACL "
     "not matching)."),
    ("W805", "delivery-wider",
     "Delivered to more clients than the page says (e.g. to every user instead of one)."),
    ("W806", "delivery-undocumented",
     "Delivered to websocket clients although the page documents no required_acl (by the "
     "page no client receives it)."),
)

BY_CODE = {code: (slug, summary) for code, slug, summary in DELIVERY_CODES}
