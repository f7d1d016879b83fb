#!/usr/bin/env bash
# Sets up, builds, and runs the demo on the example fleet in manifests/: validate it, plan it
# against the local regions (empty on a fresh checkout), and drill the loss of eu-west.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product meridian
bin=$(swift build -c release --show-bin-path)/meridian
echo
echo "\$ meridian validate manifests"
"$bin" validate manifests
echo
echo "\$ meridian fence explain eu-assistant-lora --region us-east"
"$bin" fence explain eu-assistant-lora --region us-east || true
echo
echo "\$ meridian plan manifests"
"$bin" plan manifests
echo
echo "\$ meridian drill --fail eu-west --format markdown   (first lines)"
"$bin" drill --fail eu-west --format markdown | head -20
