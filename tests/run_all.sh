#!/usr/bin/env bash
# Builds the native core and runs every test suite. `npm test` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup-deps
if [ ! -d ../shared ]; then
  echo "note: ../shared is absent: tests that need the QM9 checkpoint, data or golden files will skip"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2
