#!/usr/bin/env bash
# Sets up, builds, and runs every test: the Swift suites and the schema/decoder agreement check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --build-tests
python3 scripts/check-schemas.py
swift test
