"""Realistic values from data: specs/generation.yaml (shapes, vocabularies, field hints,
payload keys, links, sequences, bench mixes), validated at load by its meta-schema.

A template is text with generic pieces in braces ({uuid}, {epoch}, {int:LO:HI[:W]},
{hex:N}, {local_time}, {name}, {vocab:NAME}); see the YAML file's header.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid as _uuid
from functools import lru_cache
from pathlib import Path

import jsonschema_rs
import yaml

from .schemas import GenerationError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_FILE = PACKAGE_DIR.parent / "specs" / "generation.yaml"
BUNDLED_FILE = PACKAGE_DIR / "_bundled" / "generation.yaml"
META_SCHEMA = PACKAGE_DIR / "generation_schema.yaml"
FILE_NAME = "generation.yaml"
EPOCH_RANGE = (1420070400, 1514764799)  # 2015-01-01 .. 2017-12-31, the versions' years
_PIECE = re.compile(r"\{([a-z_]+)(?::([^{}]*))?\}")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class GenerationDataError(GenerationError):
    """specs/generation.yaml is broken (one line naming the file and the key)."""


def uuid_value(src) -> str:
    return str(_uuid.UUID(int=src.bits(128), version=4))


class GenerationData:
    """The parsed file, with template expansion."""

    def __init__(self, raw: dict, origin: str):
        self.origin = origin
        self._parsed: dict = {}
        self.shapes = {s["pattern"]: s["make"] for s in raw["shapes"]}
        self.utc_offsets = tuple(raw.get("utc_offsets") or (0,))
        self.vocabularies = raw["vocabularies"]
        self.fields = raw["fields"]
        payloads = raw["payloads"]
        groups = payloads.get("groups") or {}
        self.payload_family = payloads["family"]
        self.payload_default = self._expand_groups(payloads["default"], groups)
        self.payload_by_name = {k: self._expand_groups(v, groups)
                                for k, v in (payloads.get("by_name") or {}).items()}
        self.payload_keys = tuple(dict.fromkeys(
            k for keys in [self.payload_default, *self.payload_by_name.values()] for k in keys))
        self.links = raw.get("links") or []
        self.sequences = raw.get("sequences") or []
        self.undocumented = raw.get("undocumented") or []
        self.mixes = raw["mixes"]
        for template in self._templates():
            self._check(template)

    @staticmethod
    def _expand_groups(keys, groups) -> tuple:
        out = []
        for k in keys:
            out.extend(groups.get(k[1:], ()) if k.startswith("*") else (k,))
        return tuple(dict.fromkeys(out))

    def _templates(self):
        yield from self.shapes.values()
        for words in self.vocabularies.values():
            yield from words
        for hint in self.fields.values():
            for key in ("make", "keys", "items"):
                if key in hint:
                    yield hint[key]
            yield from hint.get("values", ())

    def _check(self, template: str) -> None:
        for m in _PIECE.finditer(template):
            piece, arg = m.groups()
            ok = {"uuid": arg is None, "epoch": arg is None, "local_time": arg is None,
                  "name": arg is None,
                  "int": arg is not None and re.fullmatch(r"-?\d+:-?\d+(:\d+)?", arg),
                  "hex": arg is not None and arg.isdigit(),
                  "vocab": arg in self.vocabularies}.get(piece)
            if not ok:
                raise GenerationDataError(f"{self.origin}: template {template!r}: {m.group(0)} "
                                          "is not a piece this generator knows")

    # -- expansion
    def expand(self, src, template: str, name: str = "") -> str:
        if "{" not in template:
            return template
        parts = self._parsed.get(template)
        if parts is None:
            parts, pos = [], 0
            for m in _PIECE.finditer(template):
                parts += [template[pos:m.start()], (m.group(1), m.group(2))]
                pos = m.end()
            parts = self._parsed[template] = tuple(parts + [template[pos:]])
        return "".join(p if type(p) is str else self._piece(src, p[0], p[1], name)
                       for p in parts)

    def _piece(self, src, piece, arg, name) -> str:
        if piece == "uuid":
            return uuid_value(src)
        if piece == "epoch":
            return str(src.integer(*EPOCH_RANGE))
        if piece == "int":
            lo, hi, *width = arg.split(":")
            value = src.integer(int(lo), int(hi))
            return f"{value:0{int(width[0])}d}" if width else str(value)
        if piece == "hex":
            n = int(arg)
            return format(src.bits(4 * n), f"0{n}x")
        if piece == "local_time":
            return self._local_time(src)
        if piece == "name":
            return name
        return self.expand(src, src.choice(self.vocabularies[arg]), name)

    def _local_time(self, src) -> str:
        offset = src.choice(self.utc_offsets)
        tz = _dt.timezone(_dt.timedelta(minutes=offset))
        when = _dt.datetime.fromtimestamp(src.integer(*EPOCH_RANGE), tz)
        sign = "-" if offset < 0 else "+"
        return (when.strftime("%Y-%m-%dT%H:%M:%S") + f".{src.integer(0, 999):03d}"
                + f"{sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}")

    def hint_value(self, src, key, name: str = ""):
        """A value for data key `key` from its hint (a string), or None without one."""
        hint = self.fields.get(key)
        if hint is None:
            return None
        if "vocab" in hint:
            return self.expand(src, src.choice(self.vocabularies[hint["vocab"]]), name)
        if "values" in hint:
            return self.expand(src, src.choice(hint["values"]), name)
        if "make" in hint:
            return self.expand(src, hint["make"], name)
        return None

    def vocabulary(self, name: str) -> list:
        return self.vocabularies.get(name, [])


@lru_cache(maxsize=1)
def _meta_schema():
    with open(META_SCHEMA, encoding="utf-8") as f:
        return yaml.load(f, Loader=_LOADER)


@lru_cache(maxsize=8)
def load_generation_data(path: str) -> GenerationData:
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise GenerationDataError(f"{path}: {' '.join(str(exc).split())}") from None
    if jsonschema_rs.validator_for(_meta_schema()).is_valid(raw):
        return GenerationData(raw, path)
    import jsonschema  # it explains a broken file best; a valid one never needs it
    errors = sorted(jsonschema.Draft202012Validator(_meta_schema()).iter_errors(raw),
                    key=lambda e: list(e.path))
    if errors:
        where = "/".join(map(str, errors[0].path)) or "(top)"
        raise GenerationDataError(f"{path}: {where}: {errors[0].message}")
    return GenerationData(raw, path)


def generation_data_path(catalogue_path=None) -> Path:
    """The generation.yaml beside the catalogue, else the project's own."""
    if catalogue_path is not None:
        beside = Path(catalogue_path).parent / FILE_NAME
        if beside.exists():
            return beside
    return REPO_FILE if REPO_FILE.exists() else BUNDLED_FILE


def generation_data(catalogue=None) -> GenerationData:
    return load_generation_data(str(generation_data_path(getattr(catalogue, "path", None))))
