"""An AsyncAPI 3.0.0 document of the bus, generated from the catalogue (docs/asyncapi-and-diff.md).

One channel per routing-key template, its placeholders as parameters; one message per
documented event (families expanded, the open AMI family one message), its payload the
whole-message schema schemagen writes to schemas/, translated to the draft-07 dialect
AsyncAPI schemas use; one receive operation per channel. Same catalogue, same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .catalogue import Catalogue, EventSpec, placeholders, split_path
from .contract.versions import catalogue_at, target_version
from .schemagen import event_schemas

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
SERVER_ID = "wazo"
EXCHANGE_BINDING = "exchange"
COMPONENT_SCHEMAS = "#/components/schemas/"
# Values, not schemas: never rewritten by the dialect translation.
LITERAL_KEYWORDS = ("enum", "const", "default", "examples")


# -- payload schemas ------------------------------------------------------------------------

def asyncapi_schema(node):
    """A catalogue schema (draft 2020-12, $refs into #/$defs) as an AsyncAPI Schema Object:
    draft 07, $refs into #/components/schemas, tuples as `items` arrays, and a $ref with
    siblings wrapped in allOf (draft 07 ignores a $ref's siblings)."""
    if isinstance(node, list):
        return [asyncapi_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict = {}
    for key, value in node.items():
        if key in ("$schema", "$id", "$defs") or key.startswith("x-"):
            continue
        if key == "$ref":
            out[key] = COMPONENT_SCHEMAS + value.removeprefix("#/$defs/")
        elif key == "prefixItems":
            out["items"] = asyncapi_schema(value)
        elif key == "items" and "prefixItems" in node:
            out["additionalItems"] = asyncapi_schema(value)
        elif key in ("properties", "patternProperties"):
            out[key] = {name: asyncapi_schema(sub) for name, sub in value.items()}
        elif key in LITERAL_KEYWORDS:
            out[key] = value
        else:
            out[key] = asyncapi_schema(value)
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


# -- examples -------------------------------------------------------------------------------

def generated_examples(catalogue: Catalogue, version_text: str) -> dict[str, dict]:
    """One generated message per event of the version, keyed by its schema title (the
    event name, or an open family's title); the same catalogue gives the same messages."""
    from .generate import Generator, RandomSource
    gen = Generator(catalogue, version_text)
    out = {}
    for target in gen.targets:
        example = gen.valid(RandomSource(f"wazo-bus-validator asyncapi:{target.label}"), target)
        title = target.name or target.spec.title or target.spec.key
        out[title] = {"routing_key": example.routing_key, "payload": example.msg}
    return out


# -- the document ---------------------------------------------------------------------------

def channel_id(spec: EventSpec) -> str:
    if spec.name:
        return spec.name
    if spec.is_open_family:
        return (spec.title or spec.key).lower().replace(" ", "_")
    return spec.name_template.replace("{", "").replace("}", "")


def payload_pointer(path: str) -> str:
    return "$message.payload#/" + "/".join(str(p) for p in split_path(path))


def channel_parameters(spec: EventSpec) -> dict:
    params = {}
    for ph in placeholders(spec.routing_key):
        if ph in spec.bindings:
            params[ph] = {"description": f"The value of {spec.bindings[ph]}.",
                          "location": payload_pointer(spec.bindings[ph])}
            continue
        name_ph = spec.name_placeholders[ph]
        param = {"description": name_ph.description or f"The {ph} part of the event name."}
        if name_ph.values is not None:
            param["enum"] = list(name_ph.values)
        else:
            param["description"] += f" The event name itself, matching {name_ph.pattern}."
            param["location"] = "$message.payload#/name"
        params[ph] = param
    return params


def exchange_binding(catalogue: Catalogue) -> dict:
    exchange = catalogue.meta["exchange"]
    return {"is": "routingKey",
            "exchange": {"name": exchange["name"], "type": exchange["type"], "durable": True,
                         "autoDelete": False, "vhost": "/"},
            "bindingVersion": AMQP_BINDING_VERSION}


def message_object(catalogue: Catalogue, spec: EventSpec, schema: dict, example: dict | None,
                   errata: list[str]) -> dict:
    message = {
        "name": schema["title"],
        "title": schema["title"],
        "summary": spec.description,
        "contentType": catalogue.meta["content_type"],
        "payload": asyncapi_schema(schema),
        "bindings": {"amqp": {"messageType": schema["title"],
                              "bindingVersion": AMQP_BINDING_VERSION}},
    }
    if example is not None:
        message["examples"] = [{"name": "generated",
                                "summary": f"routing key {example['routing_key']}",
                                "payload": example["payload"]}]
    message["x-routing-key"] = schema["x-routing-key"]
    message["x-required-acl"] = schema["x-required-acl"]
    message["x-since"] = spec.since
    if spec.changes:
        message["x-changes"] = [{"version": c["version"], "text": c.get("text", "")}
                                for c in spec.changes]
    if errata:
        message["x-errata"] = errata
    return message


def build_document(catalogue: Catalogue, wazo_version: str | None = None) -> dict:
    version = target_version(catalogue, wazo_version)
    version_text = wazo_version or catalogue.contract_version
    at = catalogue_at(catalogue, version)
    schemas = event_schemas(at)
    by_title = {schema["title"]: (file_name[: -len(".json")], schema)
                for file_name, schema in schemas.items()}
    examples = generated_examples(catalogue, version_text)
    errata_of: dict[str, list[str]] = {}
    for erratum in catalogue.errata:
        for name in erratum.events:
            errata_of.setdefault(name, []).append(erratum.id)

    channels, operations, messages = {}, {}, {}
    for spec in at.events:
        titles = [n for n, _ in spec.concrete_names()] or [spec.title or spec.key]
        cid = channel_id(spec)
        refs = {}
        for title in titles:
            message_id, schema = by_title[title]
            messages[message_id] = message_object(catalogue, spec, schema, examples.get(title),
                                                  errata_of.get(title, []))
            refs[message_id] = {"$ref": f"#/components/messages/{message_id}"}
        channel = {"address": spec.routing_key, "title": spec.title or spec.key,
                   "description": spec.description, "messages": refs}
        params = channel_parameters(spec)
        if params:
            channel["parameters"] = params
        channel["bindings"] = {"$ref": f"#/components/channelBindings/{EXCHANGE_BINDING}"}
        channels[cid] = channel
        operations[f"receive_{cid}"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"Receive {spec.title or spec.key} from the {at.meta['exchange']['name']} "
                       "exchange.",
            "messages": [{"$ref": f"#/channels/{cid}/messages/{m}"} for m in refs],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info_object(catalogue, version_text),
        "defaultContentType": catalogue.meta["content_type"],
        "servers": {SERVER_ID: server_object(catalogue)},
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {name: asyncapi_schema(schema)
                        for name, schema in sorted(catalogue.definitions.items())},
            "messages": dict(sorted(messages.items())),
            "channelBindings": {EXCHANGE_BINDING: {"amqp": exchange_binding(catalogue)}},
        },
        "x-errata": [{"id": e.id, "title": e.title, "events": list(e.events),
                      "description": e.description, "evidence": e.evidence,
                      "covers": sorted({c.code for c in e.covers})}
                     for e in catalogue.errata],
    }


def info_object(catalogue: Catalogue, version_text: str) -> dict:
    exchange = catalogue.meta["exchange"]["name"]
    return {
        "title": catalogue.meta.get("title", "Wazo message bus"),
        "version": version_text,
        "description": (
            f"The events Wazo {version_text} publishes on the `{exchange}` topic exchange, "
            "generated by wazo-bus-validator from its catalogue (specs/events.yaml). Each "
            "message is a JSON object with `name`, `origin_uuid`, `data` and, for most "
            "events, the `required_acl` xivo-websocketd checks (`x-required-acl`). Where the "
            "shipped code departs from the documentation, the known deviations are listed in "
            "`x-errata`."),
        "x-contract-version": catalogue.contract_version,
    }


def server_object(catalogue: Catalogue) -> dict:
    exchange = catalogue.meta["exchange"]
    return {
        "host": "localhost:5672",
        "protocol": "amqp",
        "protocolVersion": "0-9-1",
        "description": (f"The Wazo RabbitMQ broker (vhost `/`, listening on 127.0.0.1 only by "
                        f"default); every event is published to the `{exchange['name']}` "
                        f"{exchange['type']} exchange, which each channel's amqp binding names."),
        "x-exchange": {"name": exchange["name"], "type": exchange["type"], "durable": True,
                       "vhost": "/"},
    }


# -- bytes ----------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """No anchors or aliases: every node is written out, as tools reading AsyncAPI expect."""

    def ignore_aliases(self, data):
        return True


def render(document: dict, fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)


def format_for(path: str | Path | None) -> str:
    """JSON for a .json file, YAML otherwise (stdout included)."""
    return "json" if path is not None and str(path).lower().endswith(".json") else "yaml"
