#!/usr/bin/env bash
# The whole native test suite under AddressSanitizer + UndefinedBehaviorSanitizer (GCC, build-asan/).
# Any sanitizer report fails the run: -fno-sanitize-recover=all turns UB into an abort and
# halt_on_error stops ASan at the first error; LeakSanitizer runs at exit of every test process.
#
# -O2 rather than -O0/-O1: the suite is dominated by float32 network evaluations (exact traces,
# ODE solves) whose instrumented cost falls about threefold from -O0 to -O2, and the sanitizers
# still see every access that survives optimisation (the usual trade-off for CI).
#
# Left out by default, to keep CI near 20 minutes on 2 cores: the model-card reproductions
# (TrainWeights.*, each retrains a shipped model for minutes; the DW4 card took 197 s instrumented)
# and the golden comparisons (verify_golden 108 s, verify_sampling_equivariance 84 s). All are
# numeric checks the Release suite makes; the code they run (training step, solvers, model, latent
# transforms) runs here too in TrainTrainer.*, TrainParticleModel.*, Qm9Model.* and Equivariance.*.
#
# Usage: bash tests/sanitize.sh [ctest arguments...]   e.g.  bash tests/sanitize.sh -R Json
# (any arguments replace the default exclusion).
# Env: ENF_ASAN_DIR (default build-asan), ENF_JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${ENF_ASAN_DIR:-build-asan}"
jobs="${ENF_JOBS:-2}"
start=$(date +%s)

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1" \
  -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all" \
  -DENF_SANITIZE=ON -DENF_NATIVE_ARCH=OFF >/dev/null
# What the suite runs (the tests, the CLI, the converted weights and data), not the benchmarks.
cmake --build "$dir" -j"$jobs" --target enf_tests enf qm9_weights qm9_test_data
built=$(date +%s)

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:detect_invalid_pointer_pairs=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
[ $# -gt 0 ] || set -- -E '^(TrainWeights\.|verify_golden$|verify_sampling_equivariance$)'
ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 "$@"
end=$(date +%s)
echo "sanitize: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
