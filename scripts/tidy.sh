#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over every source of the project: src/core, src,
# bgworker and the unit tests, with the compile database CMake writes (build/ by default, or
# the directory given). Two files at a time per core. Exits non-zero on any finding.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
source "$top/scripts/lib.sh"
build=${1:-$top/build}

[ -f "$build/compile_commands.json" ] ||
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPG_CONFIG="$PG_BIN/pg_config" \
    >/dev/null || {
  echo "tidy: cmake failed"
  exit 1
}

log=$(mktemp /tmp/spawn-tidy.XXXXXX)
ls src/core/*.cpp src/*.cpp bgworker/*.cpp test/unit/*.cpp |
  xargs -P"$(nproc)" -n4 clang-tidy -p "$build" --quiet >"$log" 2>&1
status=$?
files=$(ls src/core/*.cpp src/*.cpp bgworker/*.cpp test/unit/*.cpp | wc -l)
if [ $status -ne 0 ]; then
  grep -E 'warning:|error:' "$log" | sort -u | head -n 50
  echo "tidy: findings in $files files (log: $log)"
  exit 1
fi
rm -f "$log"
echo "tidy: $files files, no finding"
