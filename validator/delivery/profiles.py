"""Token profiles (specs/profiles.yaml) and who each event concerns (specs/delivery.yaml).

Both are data, checked at load against their meta-schemas and the catalogue; every problem
is a ProfileError of one line naming the file and the key, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .. import cache
from ..catalogue import Catalogue, split_path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
SPECS_DIR = PACKAGE_DIR.parent / "specs"
BUNDLED_DIR = PACKAGE_DIR / "_bundled"
PROFILES_SCHEMA = PACKAGE_DIR / "profiles_schema.yaml"
DELIVERY_SCHEMA = PACKAGE_DIR / "delivery_schema.yaml"


class ProfileError(Exception):
    """A broken profiles or delivery file: one line."""


def spec_path(filename: str) -> Path:
    # A checkout reads specs/ itself; a wheel carries a copy, as for the catalogue.
    repo = SPECS_DIR / filename
    return repo if repo.exists() else BUNDLED_DIR / filename


class Profile(NamedTuple):  # not a frozen dataclass: ten times cheaper to define at start-up
    name: str
    acl: tuple[str, ...]
    description: str = ""

    @property
    def uses_me(self) -> bool:
        """True when an ACL names `me`, so that the token needs a user UUID."""
        return any(a.endswith(".me") or ".me." in a for a in self.acl)


class Profiles(NamedTuple):  # not a frozen dataclass: ten times cheaper to define at start-up
    path: Path
    profiles: dict[str, Profile]
    user_profile: str | None = None
    admin_profile: str | None = None

    @property
    def user(self) -> Profile:
        return self.profiles[self.user_profile]

    @property
    def admin(self) -> Profile:
        return self.profiles[self.admin_profile]


def _read(path: Path, schema_path: Path, what: str) -> dict:
    """The file's content once valid, from the cache when neither it, its schema nor this
    module changed (yaml is then never imported)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    inputs = [data, *(_bytes_or_nothing(p) for p in (schema_path, Path(__file__)))]
    return cache.cached(what.split()[0], inputs, lambda: _checked(path, data, schema_path, what))


def _bytes_or_nothing(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # an install without sources: the tool's version keys the cache alone
        return b""


def _checked(path: Path, data: bytes, schema_path: Path, what: str) -> dict:
    import jsonschema_rs
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        # As read_text() reads it: universal newlines.
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        raw = yaml.load(text, Loader=loader)
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: the {what} is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(f"{path}: {where}{problem}") from None
    schema = yaml.load(schema_path.read_text(encoding="utf-8"), Loader=loader)
    if jsonschema_rs.validator_for(schema).is_valid(raw):
        return raw
    import jsonschema  # its best_match explains a broken file best; a valid one never needs it
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(raw))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = " ".join(error.message.split())
        raise ProfileError(f"{path}: {where}: {message[:300]}")
    return raw


def load_profiles(path: str | Path | None = None, *, simulation: bool = True) -> Profiles:
    """The profiles of `path` (default specs/profiles.yaml). With `simulation`, the file
    must name the user and admin profiles the reports simulate."""
    path = Path(path) if path else spec_path("profiles.yaml")
    raw = _read(path, PROFILES_SCHEMA, "profiles file")
    profiles = {name: Profile(name, tuple(entry["acl"]), " ".join(
        entry.get("description", "").split())) for name, entry in raw["profiles"].items()}
    sim = raw.get("simulation") or {}
    for key in ("user_profile", "admin_profile"):
        if key in sim and sim[key] not in profiles:
            raise ProfileError(f"{path}: simulation.{key}: {sim[key]!r} is not a profile of "
                               "the file")
    if simulation and not sim:
        raise ProfileError(f"{path}: simulation: the file names no user and admin profiles")
    return Profiles(path, profiles, sim.get("user_profile"), sim.get("admin_profile"))


def load_concerns(catalogue: Catalogue, path: str | Path | None = None, *,
                  strict: bool = True) -> dict[str, tuple]:
    """{concrete event name: path tuple of the UUID of the user it concerns}. An event the
    catalogue does not have is an error, or with strict=False (another catalogue than the
    one the file was written for, --catalogue) skipped."""
    path = Path(path) if path else spec_path("delivery.yaml")
    raw = _read(path, DELIVERY_SCHEMA, "delivery file")
    by_key: dict[str, list[str]] = {}
    for spec in catalogue.events:
        names = [n for n, _ in spec.concrete_names()]
        by_key[spec.key] = names
        for name in names:
            by_key.setdefault(name, [name])
    out: dict[str, tuple] = {}
    for key, where in raw["concerns"].items():
        if key not in by_key:
            if not strict:
                continue
            raise ProfileError(f"{path}: concerns.{key}: not an event or family of the "
                               f"catalogue {catalogue.path}")
        for name in by_key[key]:
            out[name] = split_path(where)
    return out
