"""The catalogue at one Wazo version -> a Contract (validator/contract/model.py)."""

from __future__ import annotations

from pathlib import Path

from ..catalogue import Catalogue, CatalogueError, EventSpec, load_catalogue, placeholders
from . import ContractError
from .model import (ANY_WORD, DECLARED, NAME_WORD, Contract, EventContract, FieldContract,
                    json_type, placeholder)
from .versions import catalogue_at, target_version

ENVELOPE_FIELD = "origin_uuid"
MAX_DEPTH = 8  # no catalogue schema nests this deep; a guard against a self-referring $ref


def load_catalogue_contract(path: str | Path | None, version_text: str | None) -> Contract:
    try:
        catalogue = load_catalogue(path)
    except CatalogueError as exc:
        raise ContractError(str(exc)) from None
    return contract_from_catalogue(catalogue, version_text)


def contract_from_catalogue(catalogue: Catalogue, version_text: str | None = None) -> Contract:
    version = target_version(catalogue, version_text)
    version_text = version_text or catalogue.contract_version
    at = catalogue_at(catalogue, version)
    events: dict[str, EventContract] = {}
    for spec in at.events:
        fields = data_fields(spec.data, catalogue.definitions)
        changes = tuple((c["version"], c.get("text", "")) for c in spec.changes)
        if spec.is_open_family:
            pattern = spec.name_template
            for ph in spec.name_placeholders.values():
                pattern = pattern.replace("{" + ph.name + "}", f"(?:{ph.pattern})")
            events[spec.key] = EventContract(
                spec.key, (normal_template(spec, spec.routing_key, {}),),
                (normal_template(spec, spec.required_acl, {}),), fields, spec.since,
                name_pattern=pattern, changes=changes)
            continue
        for name, values in spec.concrete_names():
            events[name] = EventContract(
                name, (normal_template(spec, spec.routing_key, values),),
                (normal_template(spec, spec.required_acl, values),), dict(fields), spec.since,
                changes=changes)
    return Contract(f"catalogue {version_text} ({catalogue.path.name})", DECLARED,
                    dict(sorted(events.items())), version=version_text)


def normal_template(spec: EventSpec, template: str | None, name_values: dict) -> str | None:
    """The catalogue's template in the contract's form: name placeholders filled (an open
    family's whole-name placeholder is `{@name}`), bound ones written as their data path."""
    if template is None:
        return None
    out = template
    for ph in placeholders(template):
        if ph in name_values:
            word = name_values[ph]
        elif ph in spec.name_placeholders:
            word = placeholder([NAME_WORD]) if spec.name_template == "{" + ph + "}" \
                else placeholder([ANY_WORD])
        else:
            path = spec.bindings[ph]
            word = placeholder([path[len("data."):] if path.startswith("data.") else "@" + path])
        out = out.replace("{" + ph + "}", word)
    return out


# -- data fields ----------------------------------------------------------------------------

def resolve(schema, definitions: dict, depth: int = 0):
    """Follow $refs (a ref's own siblings, e.g. a description, are kept over the target's)."""
    while isinstance(schema, dict) and "$ref" in schema and depth < MAX_DEPTH:
        target = definitions.get(schema["$ref"].removeprefix("#/$defs/"), {})
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        depth += 1
    return schema


def declared_types(schema) -> tuple[str, ...]:
    if not isinstance(schema, dict):
        return ()
    if "type" in schema:
        t = schema["type"]
        return tuple(sorted(t if isinstance(t, list) else [t]))
    values = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else []
    if values:
        return tuple(sorted({json_type(v) for v in values}))
    if "properties" in schema or "additionalProperties" in schema:
        return ("object",)
    if "items" in schema or "prefixItems" in schema:
        return ("array",)
    branches = schema.get("anyOf") or schema.get("oneOf") or []
    return tuple(sorted({t for b in branches for t in declared_types(b)}))


def data_fields(data_schema, definitions: dict) -> dict[str, FieldContract]:
    """The envelope's origin_uuid, then every declared path of `data`, `data` itself first
    (name and required_acl are the contract's own: the event's key, its ACL templates)."""
    out: dict[str, FieldContract] = {
        ENVELOPE_FIELD: FieldContract(ENVELOPE_FIELD, ("string",), True)}
    _walk(data_schema, definitions, "data", True, out, 0)
    return out


def _walk(schema, definitions, path, required, out, depth):
    schema = resolve(schema, definitions)
    types = declared_types(schema)
    enum = tuple(schema["enum"]) if isinstance(schema, dict) and "enum" in schema else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    opaque = "object" in types and not props
    out[path] = FieldContract(path, types, required, enum, opaque=opaque)
    if depth >= MAX_DEPTH or not isinstance(schema, dict):
        return
    needed = set(schema.get("required", ()))
    for key, sub in (props or {}).items():
        child_required = None if required is None else (required and key in needed)
        _walk(sub, definitions, f"{path}.{key}", child_required, out, depth + 1)
    items = schema.get("prefixItems") or ([schema["items"]] if isinstance(
        schema.get("items"), dict) else [])
    if items:
        merged = _merge_items([resolve(i, definitions) for i in items])
        _walk(merged, definitions, f"{path}[]", None, out, depth + 1)


def _merge_items(items: list) -> dict:
    """One schema standing for every item of a tuple (prefixItems): the union of types."""
    if len(items) == 1:
        return items[0]
    types = sorted({t for i in items for t in declared_types(i)})
    return {"type": types} if types else {}
