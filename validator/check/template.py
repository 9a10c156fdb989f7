"""Routing-key and ACL templates compiled into literal parts and placeholder sources."""

from __future__ import annotations

import re

from ..catalogue import placeholders, split_path

MISSING = object()


def render(value) -> str:
    # As the Python publishers format their templates: str(None) == "None".
    return value if type(value) is str else str(value)


def get_path(msg, path: tuple):
    node = msg
    for part in path:
        if type(part) is int:
            if type(node) is list and 0 <= part < len(node):
                node = node[part]
            else:
                return MISSING
        elif type(node) is dict and part in node:
            node = node[part]
        else:
            return MISSING
    return node


class Template:
    """A routing-key or ACL template compiled into literal parts and placeholder sources.

    A placeholder's source is either a constant (bound by the event name) or a message path.
    """

    def __init__(self, text: str, bindings: dict[str, str], name_values: dict[str, str],
                 name_vars=()):
        self.text = text
        self.names = placeholders(text)
        self.parts: list = []
        pos = 0
        for m in re.finditer(r"\{([^{}]+)\}", text):
            if m.start() > pos:
                self.parts.append(text[pos:m.start()])
            ph = m.group(1)
            if ph in name_values or ph in name_vars:
                self.parts.append(("const", ph, name_values.get(ph)))
            elif ph in bindings:
                self.parts.append(("path", ph, split_path(bindings[ph])))
            else:  # covers' templates name message paths directly
                self.parts.append(("path", ph, split_path(ph)))
            pos = m.end()
        if pos < len(text):
            self.parts.append(text[pos:])
        self.constant = text if not self.names else None

    def fill(self, msg, name_values: dict | None = None):
        """The rendered string, or MISSING when a bound value is absent."""
        if self.constant is not None:
            return self.constant
        out = []
        for part in self.parts:
            if type(part) is str:
                out.append(part)
            elif part[0] == "const":
                out.append(name_values[part[1]] if name_values and part[1] in name_values else part[2])
            else:
                value = get_path(msg, part[2])
                if value is MISSING:
                    return MISSING
                out.append(render(value))
        return "".join(out)

    def filler(self, name_values: dict | None = None):
        """fill(msg, name_values) for one name, as a function of the message alone (the ACL
        of every message of a documented event is compared with it): the name's words and
        the literals joined once, the common one-field template (events.calls.{user_uuid})
        read in two lookups."""
        pieces: list = []
        for part in self.parts:
            if type(part) is not str and part[0] == "const":
                part = name_values[part[1]] if name_values and part[1] in name_values else part[2]
                if type(part) is not str:
                    return lambda msg: self.fill(msg, name_values)  # fill's own error
            if type(part) is str and pieces and type(pieces[-1]) is str:
                pieces[-1] += part
            else:
                pieces.append(part)
        paths = [p for p in pieces if type(p) is not str]
        if not paths:
            text = "".join(pieces)
            return lambda msg: text
        path = paths[0][2]
        if len(paths) > 1 or len(path) != 2 or not all(type(k) is str for k in path):
            return lambda msg: self.fill(msg, name_values)
        prefix = pieces[0] if type(pieces[0]) is str else ""
        suffix = pieces[-1] if type(pieces[-1]) is str else ""
        outer, inner = path

        def fill(msg):
            node = msg.get(outer, MISSING) if type(msg) is dict else MISSING
            if type(node) is dict:
                value = node.get(inner, MISSING)
                if value is not MISSING:
                    return prefix + (value if type(value) is str else str(value)) + suffix
            return MISSING
        return fill

    def regex(self, open_patterns: dict[str, str], prefix: str = "p",
              literal_names: bool = False) -> str:
        """A regex with one named group per placeholder, <prefix><index>, in order.

        A word bound by the event name matches any word (so that a wrong one is reported as
        that word, R401), or with literal_names only the name's own value (to tell whose key
        a routing key is: config.users.X.forwards.all.updated belongs to no event)."""
        out = []
        index = 0
        for part in self.parts:
            if type(part) is str:
                out.append(re.escape(part))
                continue
            inner = open_patterns.get(part[1], "[^.]*")
            if literal_names and part[0] == "const" and part[2] is not None:
                inner = re.escape(part[2])
            out.append(f"(?P<{prefix}{index}>{inner})")
            index += 1
        return "".join(out)


