#!/usr/bin/env bash
# Sets up, builds, and runs every test: the Swift suites (with a local PostgreSQL started for the
# controller's HA tests), the schema/decoder agreement check, the region agent's OpenAPI check, and a
# short fixed-seed fuzzing run of manifests and snapshots (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The controller's HA tests run against a real PostgreSQL. A plain assignment, so that a failure to
# start it stops here (an `export X=$(...)` would hide it and the tests would run without one).
if [ -z "${MERIDIAN_TEST_POSTGRES:-}" ]; then
  MERIDIAN_TEST_POSTGRES=$(scripts/postgres.sh)
fi
export MERIDIAN_TEST_POSTGRES
echo "test: PostgreSQL for the HA tests at ${MERIDIAN_TEST_POSTGRES}"
swift build --build-tests
python3 scripts/check-schemas.py
python3 -m openapi_spec_validator schemas/region-agent.openapi.yaml
swift test
scripts/fuzz.sh
