#!/usr/bin/env bash
# Checks the layering rule of docs/design.md (src/core includes only src/core and no
# PostgreSQL header; src includes no bgworker header, but for src/module.cpp; every project
# include is folder-qualified), then runs clang-tidy (checks in .clang-tidy) over every source
# of the project: src/core, src, bgworker and the unit tests, with the compile database CMake
# writes (build/ by default, or the directory given), one file at a time per core. Exits
# non-zero on any finding.
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

# Prints the project includes that break the layering rule.
layer_violations() {
  # Headers protoc-c generates (next to the .proto files, or in CMake's build tree) are named
  # as protoc-c names them.
  grep -Hn '#include "' src/core/*.[ch]pp | grep -v '#include "src/core/' | grep -v '\.pb-c\.h"'
  grep -Hn '#include "bgworker/' src/*.[ch]pp | grep -v '^src/module.cpp:'
  grep -HnE '#include "[a-z_]+\.hpp"' src/core/*.[ch]pp src/*.[ch]pp bgworker/*.[ch]pp \
    test/unit/*.cpp test/fuzz/*.cpp
}
violations=$(layer_violations)
if [ -n "$violations" ]; then
  echo "$violations"
  echo "tidy: includes break the layering rule (docs/design.md, Layers)"
  exit 1
fi

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
