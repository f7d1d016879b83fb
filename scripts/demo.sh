#!/usr/bin/env bash
# Sets up, builds, and runs the demo on the example fleet in manifests/: validate it, explain a
# fence, plan it against the local regions, apply it (every region converges under .meridian/),
# apply again (no changes), verify the evidence ledger, and drill the loss of eu-west.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product meridian
bin=$(swift build -c release --show-bin-path)/meridian
run() { echo; echo "\$ meridian $*"; "$bin" "$@"; }
# Start from empty local regions, so the first apply shows the whole fleet converging.
rm -rf .meridian/regions .meridian/state.db .meridian/state.db-wal .meridian/state.db-shm .meridian/state.db.lock
run validate manifests
run fence explain eu-assistant-lora --region us-east || true
run plan manifests
run apply manifests --auto-approve
run apply manifests --auto-approve
run ledger verify
echo
echo "\$ meridian drill --fail eu-west --format markdown   (first lines)"
"$bin" drill --fail eu-west --format markdown | head -20
