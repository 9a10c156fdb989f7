"""The one errata matcher: does a documented deviation cover this finding?

The checker uses it to turn a finding into a warning that names its erratum; the generator
uses the same object to know whether a fault it made is a fault or a known deviation.
"""

from __future__ import annotations

from ..catalogue import Catalogue, Cover
from .template import MISSING, Template


class CompiledCover:
    """A cover and its erratum; its checks (value, when, acl) compiled at the first finding
    that reaches them: a run meets few covers, and their validators cost ~0.1 ms each."""

    __slots__ = ("erratum", "cover", "checks", "_make_validator")

    def __init__(self, erratum: str, cover: Cover, make_validator):
        self.erratum = erratum
        self.cover = cover
        self.checks = None  # (value_is_valid, when_is_valid, acl_templates), by build()
        self._make_validator = make_validator

    def build(self) -> tuple:
        cover, make_validator = self.cover, self._make_validator
        self.checks = (
            make_validator(cover.value).is_valid if cover.value is not None else None,
            make_validator(cover.when).is_valid if cover.when is not None else None,
            tuple(Template(t, {}, {}) if t is not None else None for t in cover.acl)
            if cover.acl is not None else None)
        return self.checks


class ErrataMatcher:
    """Compiled covers, keyed by (event name, code). `make_validator(schema)` returns an
    object with `is_valid(instance)`, lenient (the catalogue's own definitions)."""

    def __init__(self, catalogue: Catalogue, make_validator):
        self.by_key: dict[tuple[str, str], list[CompiledCover]] = {}
        for erratum in catalogue.errata:
            for cover in erratum.covers:
                compiled = CompiledCover(erratum.id, cover, make_validator)
                for name in cover.events or erratum.events:
                    self.by_key.setdefault((name, cover.code), []).append(compiled)

    def match(self, name, code: str, path: str, value, msg) -> str | None:
        """The id of the erratum that covers this finding, else None. `value` is the
        offending value (MISSING when the finding is about an absence)."""
        for cc in self.by_key.get((name, code), ()):
            cover = cc.cover
            if cover.path is not None and cover.path != path:
                continue
            value_is_valid, when_is_valid, acl_templates = cc.checks or cc.build()
            if value_is_valid is not None and (value is MISSING or not value_is_valid(value)):
                continue
            if when_is_valid is not None and not when_is_valid(msg):
                continue
            if acl_templates is not None and not self._acl_matches(acl_templates, msg):
                continue
            return cc.erratum
        return None

    @staticmethod
    def _acl_matches(templates, msg) -> bool:
        acl = msg.get("required_acl", MISSING)
        return any((t is None and acl is None)
                   or (t is not None and acl is not MISSING and acl == t.fill(msg))
                   for t in templates)
