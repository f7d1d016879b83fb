#!/usr/bin/env bash
# Installs what Meridian needs to build and test on Debian: the C libraries it links
# (libgit2, libyaml), and the Python packages the schema check uses. Idempotent and quiet
# when everything is already there. Needs Swift 6.1 or newer on PATH.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

debs=(libgit2-dev libyaml-dev pkg-config git python3 python3-pip openssh-client gnupg postgresql curl openssl)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pips=('jsonschema>=4.18' 'ruamel.yaml>=0.17' 'openapi-spec-validator>=0.7' 'PyYAML>=6')
if ! python3 -c 'import jsonschema, referencing, ruamel.yaml, openapi_spec_validator, yaml' 2>/dev/null; then
  echo "setup: installing jsonschema, ruamel.yaml, openapi-spec-validator and PyYAML from PyPI"
  python3 -m pip install -q "${pips[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${pips[@]}"
fi

command -v swift >/dev/null || { echo "setup: Swift 6.1 or newer must be on PATH (https://www.swift.org/install/linux/)" >&2; exit 3; }
