#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of what Meridian reads from users:
# manifest files, observed snapshots and saved plans. Valid manifests and snapshots are planned, by
# parts and whole, and the plan is checked against the fences; a saved plan is checked as
# `apply --plan` checks it (see Fuzz/Entry.swift).
#
#   scripts/fuzz.sh                      every target, a fixed number of runs from a fixed seed (the test run)
#   scripts/fuzz.sh manifests 600        one target for 600 seconds, from a random seed
#
# An input that crashes, hangs (10 s), or fails a check is saved under .build/fuzz/ and the script
# exits non-zero. The corpus grows in .build/fuzz/corpus-TARGET from run to run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/fuzz
mkdir -p "$out/src"
rm -f "$out"/src/*.swift
# MeridianCore, MeridianManifests and the saved-plan reader as one module, with the entry: a
# package target cannot take -sanitize=fuzzer alone.
for f in $(find Sources/MeridianCore Sources/MeridianManifests -name '*.swift' | sort) Sources/MeridianEngine/SavedPlan.swift; do
  sed -E 's/^((internal|public) )?import MeridianCore$//' "$f" > "$out/src/$(echo "${f#Sources/}" | tr / _)"
done
cp Fuzz/Entry.swift "$out/src/zz_Entry.swift"
# Built again only when a source changed (the copies above are new files every time).
sum=$(cat "$out"/src/*.swift | sha256sum | cut -d' ' -f1)
if [ ! -x "$out/meridian-fuzz" ] || [ "$(cat "$out/sources.sha256" 2>/dev/null)" != "$sum" ]; then
  echo "fuzz: building $out/meridian-fuzz"
  swiftc -parse-as-library -module-name MeridianFuzz -O -sanitize=fuzzer,address \
    -I Sources/CLibYAML -I Sources/CLibGit2 -I Sources/CMalloc -I Sources/CPrefetch "$out"/src/*.swift -o "$out/meridian-fuzz" -lyaml -lgit2 \
    2> >(grep -v "Cannot export local symbol" >&2)
  echo "$sum" > "$out/sources.sha256"
fi

seeds="$out/seeds"
rm -rf "$seeds" && mkdir -p "$seeds/manifests" "$seeds/snapshot" "$seeds/plan"
i=0
for f in $(find manifests -name '*.yaml' -o -name '*.yml' | sort); do cp "$f" "$seeds/manifests/$i.yaml"; i=$((i + 1)); done
for f in $(find manifests -name '*.yaml' -o -name '*.yml' | sort); do cat "$f"; echo '---'; done > "$seeds/manifests/fleet.yaml"
cp Fuzz/seeds/manifests-*.yaml "$seeds/manifests/"
cp Fuzz/seeds/snapshot-*.json "$seeds/snapshot/"
cp Fuzz/seeds/plan-*.json "$seeds/plan/"
echo '{"formatVersion": 1, "regions": {}}' > "$seeds/snapshot/empty.json"

run() { # target, libFuzzer's limit (-runs=N or -max_total_time=S), seed
  mkdir -p "$out/corpus-$1" "$out/found-$1"
  echo "fuzz: $1 ($2, seed $3)"
  local status=0
  FUZZ_TARGET=$1 FUZZ_MANIFESTS=${FUZZ_MANIFESTS:-manifests} "$out/meridian-fuzz" "$out/corpus-$1" "$seeds/$1" "$2" -seed="$3" \
    -max_len=16384 -timeout=10 -rss_limit_mb=4096 -artifact_prefix="$out/found-$1/" -print_final_stats=1 > "$out/log-$1" 2>&1 || status=$?
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$out/log-$1" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$out/log-$1"
    echo "fuzz: $1 FAILED (exit $status): the input is under $out/found-$1/, the whole log in $out/log-$1" >&2
  fi
  return "$status"
}

case "${1:-all}" in
  all)
    # The test run: a fixed seed and a fixed number of inputs, about 20 s each on 2 cores.
    run manifests -runs=30000 1
    run snapshot -runs=100000 1
    run plan -runs=100000 1
    ;;
  manifests|snapshot|plan)
    run "$1" -max_total_time="${2:-60}" 0
    ;;
  *) echo "usage: scripts/fuzz.sh [manifests|snapshot|plan [SECONDS]]" >&2; exit 2 ;;
esac
