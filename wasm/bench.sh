#!/usr/bin/env bash
# `npm run bench`: the core issue's benchmark JSON for the native build and for the WebAssembly
# build in Node (one line each, same keys), then the worker-pool throughput line (1 vs 2 workers).
# Extra arguments (--quick, --no-exact) go to both benchmarks. Builds are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/qm9_test.npz
bash .ci/setup-deps >/dev/null
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 >/dev/null
bash wasm/build.sh >/dev/null
node web/scripts/build.mjs >/dev/null
./build/enf_bench build/weights/qm9.safetensors build/data/qm9_test.safetensors "$@"
node web/bin/enf.js bench --data "$data" "$@"
node web/bin/enf.js bench --data "$data" --pool 2 --pool-only
