#!/usr/bin/env python3
"""Writes schemas/*.schema.json, the JSON Schemas (2020-12) of Meridian's manifests.

The schemas mirror the Swift decoder (Sources/MeridianManifests/Decoding) rule for rule where a
schema can express the rule; cross-object rules (references, duplicate names, weight sums) are
the decoder's alone. `scripts/check-schemas.py` fails when the committed files differ from what
this script writes, and when the schemas and `meridian validate` disagree on any fixture.

Usage: scripts/gen-schemas.py [--check]
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def countries():
    """The ISO 3166-1 list, read from the Swift source so that there is one list."""
    text = (ROOT / "Sources/MeridianCore/Model/CountryCode.swift").read_text()
    block = text.split("assigned: Set<String> = [", 1)[1].split("]", 1)[0]
    return re.findall(r'"([A-Z]{2})"', block)


def ref(name):
    return {"$ref": f"common.schema.json#/$defs/{name}"}


def names():
    return {"type": "array", "items": ref("name"), "uniqueItems": True}


def obj(properties, required=(), **extra):
    out = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


common = {
    "$schema": DIALECT,
    "title": "Meridian shared definitions",
    "$defs": {
        "name": {
            "description": "A DNS label: the name of an object or a reference to one.",
            "type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        },
        "stringMap": {
            "type": "object",
            "propertyNames": {"minLength": 1},
            "additionalProperties": {"type": "string"},
        },
        "countryCode": {
            "description": "ISO 3166-1 alpha-2 code (officially assigned).",
            "enum": countries(),
        },
        "digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
        "version": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$"},
        "accelerators": obj(
            {"type": {"type": "string", "minLength": 1}, "count": {"type": "integer", "minimum": 0, "maximum": 1000000}},
            ["type", "count"],
        ),
        "metadata": obj(
            {"name": {"$ref": "#/$defs/name"}, "labels": {"$ref": "#/$defs/stringMap"},
             "annotations": {"$ref": "#/$defs/stringMap"}},
            ["name"],
        ),
    },
}

adapter = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["local", "http", "exec"], "default": "local"},
        "path": {"type": "string", "minLength": 1},
        "url": {"type": "string", "pattern": "^https?://\\S+$"},
        "tokenEnv": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "command": {"type": "array", "minItems": 1, "items": {"type": "string"},
                    "prefixItems": [{"type": "string", "minLength": 1}]},
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "http"}}, "required": ["type"]},
         "then": {"required": ["url"], "not": {"anyOf": [{"required": ["path"]}, {"required": ["command"]}]}}},
        {"if": {"properties": {"type": {"const": "exec"}}, "required": ["type"]},
         "then": {"required": ["command"], "not": {"anyOf": [{"required": ["path"]}, {"required": ["url"]}, {"required": ["tokenEnv"]}]}}},
        {"if": {"anyOf": [{"not": {"required": ["type"]}}, {"properties": {"type": {"const": "local"}}}]},
         "then": {"not": {"anyOf": [{"required": ["url"]}, {"required": ["tokenEnv"]}, {"required": ["command"]}]}}},
    ],
}

specs = {
    "Jurisdiction": obj({
        "description": {"type": "string"},
        "countries": {"type": "array", "items": ref("countryCode"), "uniqueItems": True},
    }),
    "Region": obj({
        "provider": {"type": "string", "minLength": 1},
        "location": ref("countryCode"),
        "jurisdiction": ref("name"),
        "state": {"enum": ["active", "draining", "isolated"], "default": "active"},
        "replicatesTo": names(),
        "capacity": obj({"accelerators": {"type": "array", "items": ref("accelerators")}}),
        "adapter": adapter,
    }, ["jurisdiction"]),
    "Artifact": obj({
        "type": {"enum": ["weights", "adapter", "embeddings", "vector-index", "dataset", "cache", "logs"]},
        "digest": ref("digest"),
        "sizeBytes": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807},
        "origin": ref("name"),
        "derivedFrom": names(),
        "fences": names(),
    }, ["type", "digest", "origin"]),
    "ResidencyFence": obj({
        "allow": {
            "type": "array", "minItems": 1, "uniqueItems": True,
            "items": {"anyOf": [{"const": "*"}, ref("name")]},
            "if": {"contains": {"const": "*"}}, "then": {"maxItems": 1},
        },
        "deny": names(),
        "selector": obj({"matchLabels": ref("stringMap")}, ["matchLabels"]),
    }, ["allow"]),
    "Model": obj({
        "version": ref("version"),
        "artifacts": dict(names(), minItems=1),
        "accelerator": obj({"type": {"type": "string", "minLength": 1}, "count": {"type": "integer", "minimum": 1, "maximum": 1000000}},
                           ["type", "count"]),
    }, ["version", "artifacts"]),
    "Topology": obj({
        "mode": {"enum": ["active-active", "active-passive", "single-region"]},
        "regions": {
            "type": "array", "minItems": 1, "uniqueItems": True,
            "items": obj({"name": ref("name"), "weight": {"type": "integer", "minimum": 0, "maximum": 100}}, ["name"]),
        },
        "standby": {"enum": ["warm", "cold"], "default": "warm"},
        "failover": names(),
    }, ["mode", "regions"], allOf=[
        {"if": {"properties": {"mode": {"const": "single-region"}}},
         "then": {"properties": {"regions": {"maxItems": 1}}}},
        {"if": {"properties": {"mode": {"const": "active-passive"}}},
         "then": {"properties": {"regions": {"minItems": 2}}},
         "else": {"not": {"required": ["standby"]}}},
        {"if": {"properties": {"mode": {"const": "active-active"}}},
         "then": {"properties": {"regions": {"items": {"required": ["weight"]}}}}},
    ]),
    "Placement": obj({
        "model": ref("name"),
        "topology": ref("name"),
        "replicas": {"type": "integer", "minimum": 1, "maximum": 1000000},
        "minReplicas": {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 1},
        "priority": {"type": "integer", "minimum": -1000000, "maximum": 1000000, "default": 0},
    }, ["model", "topology", "replicas"]),
    "Guardrail": obj({
        "models": {
            "type": "array", "minItems": 1,
            "items": obj({"name": ref("name"),
                          "allowedVersions": {"type": "array", "minItems": 1, "uniqueItems": True, "items": ref("version")}},
                         ["name", "allowedVersions"]),
        },
    }, ["models"]),
}


def kind_schema(kind, spec):
    required = ["apiVersion", "kind", "metadata"] + ([] if kind == "Jurisdiction" else ["spec"])
    return {
        "$schema": DIALECT,
        "title": f"Meridian {kind}",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {
            "apiVersion": {"const": "meridian/v1"},
            "kind": {"const": kind},
            "metadata": ref("metadata"),
            "spec": spec,
        },
    }


def file_name(kind):
    return re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower() + ".schema.json"


def outputs():
    out = {"common.schema.json": common}
    for kind, spec in specs.items():
        out[file_name(kind)] = kind_schema(kind, spec)
    out["manifest.schema.json"] = {
        "$schema": DIALECT,
        "title": "Meridian manifest document (any kind)",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        "properties": {"apiVersion": {"const": "meridian/v1"}, "kind": {"enum": list(specs)}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
             "then": {"$ref": file_name(kind)}}
            for kind in specs
        ],
    }
    return {name: json.dumps(doc, indent=2) + "\n" for name, doc in out.items()}


def main():
    check = "--check" in sys.argv
    stale = []
    for name, text in outputs().items():
        path = SCHEMAS / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print("schemas out of date (run scripts/gen-schemas.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
