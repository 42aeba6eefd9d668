#!/usr/bin/env bash
# Builds the native core and runs every test suite. `npm test` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's wall time, printed at the end (CI should stay near 20 minutes on 2 cores).
phases=()
last=$(date +%s)
phase() {
  local now
  now=$(date +%s)
  phases+=("$1 $((now - last)) s")
  last=$now
}
trap 'echo "run_all: ${phases[*]}"' EXIT

bash .ci/setup-deps
phase setup
if [ ! -d ../shared ]; then
  echo "note: ../shared is absent: tests that need the QM9 checkpoint, data or golden files will skip"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
phase native

# The WebAssembly module, the npm package built from it, and the JS tests (node --test): the API,
# `npx enf verify` against the golden files, and the packed package in a Vite app in Chromium.
bash wasm/build.sh
node web/scripts/build.mjs
npm run build:demo  # once for the three demo tests (ENF_DEMO_BUILT), not once each
phase wasm-web-demo-build
ENF_DEMO_BUILT=1 node --test --test-concurrency=1 tests/js/
phase js

# Reliability: the native suite again under AddressSanitizer + UndefinedBehaviorSanitizer (less
# the minutes-long numeric reproductions, see tests/sanitize.sh), then every libFuzzer target for
# ENF_FUZZ_SECONDS (default 30) from the committed corpus, which holds every input that ever crashed.
# ENF_SKIP_SLOW=1 skips both (a quick local run); CI never sets it.
if [ "${ENF_SKIP_SLOW:-0}" != 1 ]; then
  bash tests/sanitize.sh
  phase sanitize
  bash fuzz/run.sh "${ENF_FUZZ_SECONDS:-30}"
  phase fuzz
else
  echo "note: ENF_SKIP_SLOW=1: the sanitizer suite and the fuzzing smoke run were skipped"
fi
