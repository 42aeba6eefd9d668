#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for the given
# number of seconds (default 60), ENF_FUZZ_JOBS (default 2) at a time. Prints one JSON line per target:
#   {"target": ..., "seconds": ..., "execs": ..., "execs_per_s": ..., "cov": ..., "ft": ...,
#    "corpus": ..., "peak_rss_mb": ..., "result": "ok" | "crash" | "leak" | "timeout" | "oom"}
# and exits non-zero if any target found a crash, leak, timeout or out-of-memory. Each run starts
# from the committed seeds (fuzz/corpus/<target>, which also hold every input that once crashed,
# so they are re-checked first) and what earlier runs here added (build-fuzz/corpus/<target>).
# A failing input is written to build-fuzz/artifacts/<target>/; reproduce it with
#   build-fuzz/fuzz_<target> <file>
# Usage: bash fuzz/run.sh [seconds per target] [target...]
# Env: ENF_FUZZ_DIR (default build-fuzz), ENF_JOBS (build parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(xyz sdf json model particle bindings verify)
dir="${ENF_FUZZ_DIR:-build-fuzz}"

CXX=clang++ cmake -S fuzz -B "$dir" -DCMAKE_BUILD_TYPE=None >/dev/null
cmake --build "$dir" -j"${ENF_JOBS:-2}" >/dev/null

# Per target: the longest input worth trying and a dictionary. A single allocation over
# malloc_limit_mb is reported as out-of-memory: the readers must reject huge sizes before
# allocating. timeout bounds one input; nothing here should take more than a fraction of a second.
declare -A max_len=([xyz]=4096 [sdf]=2048 [json]=4096 [model]=16384 [particle]=16384 [bindings]=1024 [verify]=8192)
declare -A dict=([xyz]=fuzz/dict/xyz.dict [json]=fuzz/dict/json.dict [model]=fuzz/dict/json.dict [particle]=fuzz/dict/json.dict
                 [verify]=fuzz/dict/json.dict)
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"

# One target: runs it, prints its JSON line, returns non-zero on a finding.
fuzz_one() {
  local t=$1 failed=0
  mkdir -p "$dir/corpus/$t" "$dir/artifacts/$t" "$dir/logs"
  local log="$dir/logs/$t.log"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512
        -max_len="${max_len[$t]}" -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t/")
  [ -n "${dict[$t]:-}" ] && args+=(-dict="${dict[$t]}")
  local start rc elapsed last cov ft corp result
  start=$(date +%s)
  set +e
  "$dir/fuzz_$t" "${args[@]}" "$dir/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(( $(date +%s) - start ))
  stat() { sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$log" | tail -1; }
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  result=ok
  if [ $rc -ne 0 ]; then
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=timeout
    elif grep -qE 'ERROR: libFuzzer: (out-of-memory|malloc)' "$log"; then result=oom
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then result=leak
    else result=crash; fi
    failed=1
  fi
  printf '{"target": "%s", "seconds": %s, "execs": %s, "execs_per_s": %s, "cov": %s, "ft": %s, "corpus": %s, "peak_rss_mb": %s, "result": "%s"}\n' \
    "$t" "$elapsed" "$(stat number_of_executed_units || true)" "$(stat average_exec_per_sec || true)" \
    "${cov:-null}" "${ft:-null}" "${corp:-null}" "$(stat peak_rss_mb || true)" "$result" | sed 's/: ,/: null,/g'
  if [ "$result" != ok ]; then
    echo "fuzz: $t failed (exit $rc); log: $log; input: $(ls -t "$dir/artifacts/$t" | head -1)" >&2
    grep -m5 -E 'ERROR|runtime error|fuzz property|uncaught|SUMMARY' "$log" >&2 || true
  fi
  return $failed
}

# Each fuzzer is single-threaded: run ENF_FUZZ_JOBS of them at once (default: 2, one per core of
# the CI machine), each printing its line to its own file, then print the lines in target order.
jobs="${ENF_FUZZ_JOBS:-2}"
mkdir -p "$dir/logs"
pids=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$t" >"$dir/logs/$t.json" 2>"$dir/logs/$t.err" &
  pids+=($!)
done
failed=0
for k in "${!targets[@]}"; do
  wait "${pids[$k]}" || failed=1
  cat "$dir/logs/${targets[$k]}.json"
  cat "$dir/logs/${targets[$k]}.err" >&2
done
exit $failed
