#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz (clang, ASan and UBSan) and runs each one:
#   scripts/fuzz.sh short [target...]   10 seconds per target (FUZZ_SECONDS), the test suite's run
#   scripts/fuzz.sh long [target...]    10,000,000 executions per target (FUZZ_RUNS)
# Targets: cron, names, options, keys, and the wire codec's actor_response, registration,
# invocation_request, spawn_request, value_json, and the gateway's gateway_route (all by default). Any finding (crash, sanitizer report, an
# exception other than SpawnError, a 10-second input) fails the run; the input that caused it
# is kept in build-fuzz/findings/ and replays with build-fuzz/<target>_fuzz <file>.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
build=$top/build-fuzz

mode=${1:-short}
shift || true
case $mode in
  short) limit="-max_total_time=${FUZZ_SECONDS:-10}" ;;
  long) limit="-runs=${FUZZ_RUNS:-10000000}" ;;
  *)
    echo "usage: $0 short|long [target ...]" >&2
    exit 2
    ;;
esac
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(cron names options keys actor_response registration invocation_request spawn_request
  value_json gateway_route)

{ cmake -S "$top/test/fuzz" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build "$build" -j"$(nproc)" >/dev/null; } || {
  echo "fuzz: build failed"
  exit 1
}

failed=()
for t in "${targets[@]}"; do
  # New inputs go to the working corpus in build-fuzz; the checked-in seeds are only read.
  mkdir -p "$build/corpus/$t" "$build/findings"
  log=$build/$t.log
  start=$(date +%s)
  if "$build/${t}_fuzz" "$limit" -timeout=10 -max_len=8192 -print_final_stats=1 \
    -dict="$top/test/fuzz/$t.dict" -artifact_prefix="$build/findings/$t-" \
    "$build/corpus/$t" "$top/test/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log")
    echo "$t: $runs executions in $(($(date +%s) - start)) s, no finding"
  else
    echo "$t: FINDING (log: $log)"
    grep -E "ERROR|runtime error|terminate|deadly|Test unit written" "$log" | head -n 10
    failed+=("$t")
  fi
done
[ ${#failed[@]} -eq 0 ] || {
  echo "fuzz findings: ${failed[*]}"
  exit 1
}
