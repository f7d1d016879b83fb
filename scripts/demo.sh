#!/usr/bin/env bash
# Sets up, builds, and runs the demo: the example fleet in manifests/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product meridian
bin=$(swift build -c release --show-bin-path)/meridian
echo "\$ meridian validate manifests"
"$bin" validate manifests
