#!/usr/bin/env bash
# Runs every test suite: C++ unit tests (ctest, under ASan and UBSan), clang-tidy over every
# source (scripts/tidy.sh), a short libFuzzer run of
# every parser (scripts/fuzz.sh short), pg_regress on a temporary instance, pgTAP
# (pg_prove) and the shell tests (concurrency, crash and restart) against real servers.
# Installs missing packages and builds first. Exits non-zero if any suite fails.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
"$top/scripts/install-deps.sh" || exit 1
source "$top/scripts/lib.sh"

build_and_install || exit 1

# The Node test actor host's dependencies (protobufjs), exactly as package-lock.json pins them.
(cd "$top/test/hosts" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || {
  echo "npm ci in test/hosts failed"
  exit 1
}

# The server runs as postgres, which may not read this checkout: tests run from a copy.
work=$(mktemp -d /tmp/spawn-test.XXXXXX)
cp -r "$top/sql" "$top/expected" "$top/test" "$work/"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work"
export SPAWN_TEST_DIR=$work
failed=()

echo "== C++ unit tests"
{ cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release -DPG_CONFIG="$PG_BIN/pg_config" \
    >/dev/null &&
  cmake --build "$top/build" -j"$(nproc)" >/dev/null &&
  ctest --test-dir "$top/build" --output-on-failure | tail -n 3; } || failed+=(unit)

echo "== clang-tidy"
"$top/scripts/tidy.sh" "$top/build" || failed+=(tidy)

echo "== fuzz (short)"
"$top/scripts/fuzz.sh" short || failed+=(fuzz)

echo "== pg_regress"
new_key > "$work/regress.key"
chmod 600 "$work/regress.key"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work/regress.key"
cat > "$work/regress.conf" <<CONF
shared_preload_libraries = 'spawn'
spawn.statestore_key_file = '$work/regress.key'
spawn.database = 'regression'
spawn.max_attempts = 2
spawn.retry_base_ms = 100
CONF
tests=$(cd "$top/sql" && ls *.sql | grep -v '^spawn--' | sed 's/\.sql$//' | sort)
as_pg "$("$PG_BIN/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress" \
  --temp-instance="$work/regress-instance" --temp-config="$work/regress.conf" \
  --inputdir="$work" --outputdir="$work/regress" --bindir="$PG_BIN" --port=$((54391 + SPAWN_PORT_OFFSET)) \
  --load-extension=spawn $tests || {
    failed+=(pg_regress)
    cat "$work/regress/regression.diffs" 2>/dev/null | head -n 200
  }

echo "== pgTAP and shell tests"
port=$((54392 + SPAWN_PORT_OFFSET))
cluster_init "$work/cluster" "$port"
cluster_start "$work/cluster"
export SPAWN_TEST_HOST=$work/cluster SPAWN_TEST_PORT=$port
cluster_psql "$work/cluster" "$port" -d postgres -c "CREATE EXTENSION pgtap; CREATE EXTENSION spawn;"
as_pg pg_prove -h "$work/cluster" -p "$port" -U postgres -d postgres "$work"/test/pgtap/*.sql ||
  failed+=(pgtap)
cluster_stop "$work/cluster"

for t in "$top"/test/shell/*_test.sh; do
  echo "-- $(basename "$t")"
  bash "$t" || failed+=("$(basename "$t")")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  echo "(work files kept in $work)"
  exit 1
fi
rm -rf "$work"
echo "All test suites passed."
