#!/usr/bin/env bash
# Sets up, builds, and runs every test: the Swift suites and the schema/decoder agreement check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
python3 scripts/check-schemas.py
python3 -m openapi_spec_validator schemas/region-agent.openapi.yaml
swift test
