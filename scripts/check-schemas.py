#!/usr/bin/env python3
"""Checks that the JSON Schemas agree with Meridian's decoder.

1. schemas/ is what scripts/gen-schemas.py writes (no hand edits drift from the generator);
2. every document in manifests/ and Tests/Fixtures/valid/ validates against
   schemas/manifest.schema.json;
3. every fixture in Tests/Fixtures/invalid/ gets the schema outcome its header declares:
     # schema: reject   the schema (or the YAML 1.2 loader) must refuse the file
     # schema: accept   the rule is beyond a schema (references, sums, duplicates across
                        objects): the schema must accept the file, so meridian is the only judge
     # schema: skip     a loader bound (alias expansion, depth, size): not loaded here at all
   (`meridian validate` rejecting every invalid fixture with its rule and line is proved by the
   Swift test suite.)

YAML is read as YAML 1.2 (ruamel.yaml), as Meridian and editors' language servers read it.
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import pathlib
import subprocess
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from ruamel.yaml import YAML

import json

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"


def validator():
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        resources.append((path.as_uri(), Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012)))
    registry = Registry().with_resources(resources)
    return Draft202012Validator({"$ref": (SCHEMAS / "manifest.schema.json").as_uri()}, registry=registry)


def load_documents(path):
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    with open(path, "rb") as handle:
        return [doc for doc in yaml.load_all(handle.read().decode("utf-8")) if doc is not None]


def schema_errors(v, path):
    """The reasons the schema (or the loader) refuses a file; empty when it accepts it."""
    try:
        docs = load_documents(path)
    except Exception as error:  # any YAML or decoding error is a refusal
        return [f"YAML: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"]
    reasons = []
    for index, doc in enumerate(docs):
        for error in v.iter_errors(doc):
            where = "/".join(str(p) for p in error.absolute_path)
            reasons.append(f"document {index + 1} at /{where}: {error.message[:200]}")
    return reasons


def header(path):
    values = {}
    for line in path.read_text(errors="replace").splitlines()[:10]:
        if line.startswith("# schema:"):
            values["schema"] = line.split(":", 1)[1].split()[0]
    return values


def main():
    passed = failed = 0

    def result(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {what}")

    gen = subprocess.run([sys.executable, str(ROOT / "scripts/gen-schemas.py"), "--check"])
    result(gen.returncode == 0, "schemas/ differ from scripts/gen-schemas.py output")

    v = validator()
    valid = sorted((ROOT / "manifests").rglob("*.y*ml")) + sorted((ROOT / "Tests/Fixtures/valid").rglob("*.y*ml"))
    for path in valid:
        errors = schema_errors(v, path)
        result(not errors, f"{path.relative_to(ROOT)}: schema refuses a valid manifest: {errors[:3]}")

    for path in sorted((ROOT / "Tests/Fixtures/invalid").glob("*.y*ml")):
        expected = header(path).get("schema")
        rel = path.relative_to(ROOT)
        if expected not in ("reject", "accept", "skip"):
            result(False, f"{rel}: header has no '# schema: reject|accept|skip' line")
            continue
        if expected == "skip":
            continue
        errors = schema_errors(v, path)
        if expected == "reject":
            result(bool(errors), f"{rel}: schema accepts a manifest meridian must refuse")
        else:
            result(not errors, f"{rel}: schema refuses it, but the header says the rule is beyond a schema: {errors[:3]}")

    print(f"schema check: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
