#!/usr/bin/env bash
# Builds the WebAssembly module into build-wasm/wasm/ (enf_wasm.js + enf_wasm.wasm) with Debian's
# Emscripten. `npm run build:wasm` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v emcmake >/dev/null; then
  echo "build:wasm: emcmake not found; run 'bash .ci/setup-deps' (installs Debian's emscripten)" >&2
  exit 1
fi
# Debian's emcc runs its JS optimizer with /usr/bin/node, which must find Debian's acorn.
if [ -z "${NODE_PATH:-}" ]; then
  acorn_dir=$(dpkg -L node-acorn 2>/dev/null | grep -m1 '/acorn$' || true)
  export NODE_PATH=${acorn_dir:+$(dirname "$acorn_dir")}
  : "${NODE_PATH:=/usr/share/nodejs}"
fi
jobs=${ENF_BUILD_JOBS:-2}
emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build-wasm -j"$jobs" --target enf_wasm
ls -l build-wasm/wasm/enf_wasm.js build-wasm/wasm/enf_wasm.wasm
