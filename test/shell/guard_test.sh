#!/usr/bin/env bash
# The door guard's safety net: a C++ exception that unwinds through a PG_TRY (a bug the house
# rules forbid) leaves PG_exception_stack pointing into a dead frame; RunGuarded restores it,
# so the error reaches the caller with its SQLSTATE, detail and hint, a PL/pgSQL handler can
# catch it, and the backend lives on. Builds a test-only module (test/guard/) that calls the
# installed spawn.so's guard.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$SPAWN_TEST_DIR/guard_probe
rm -rf "$build" && mkdir -p "$build"
cp "$top/test/guard/Makefile" "$top/test/guard/guard_probe.cpp" "$build/"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
make -s -C "$build" TOP="$top" PG_CONFIG="$PG_BIN/pg_config" >/dev/null
$sudo make -s -C "$build" TOP="$top" PG_CONFIG="$PG_BIN/pg_config" install >/dev/null

test_cluster guard 55517
q -c "CREATE FUNCTION guard_probe() RETURNS void LANGUAGE c
      AS '\$libdir/spawn_guard_probe', 'spawn_guard_probe';
      CREATE FUNCTION guard_probe_dead_entries() RETURNS integer LANGUAGE c
      AS '\$libdir/spawn_guard_probe', 'spawn_guard_probe_dead_entries'" >/dev/null

# One session: the error, then a handler that catches it, then ordinary work.
out=$(q -v ON_ERROR_STOP=0 -v VERBOSITY=verbose 2>&1 <<'SQL' || true
SELECT guard_probe();
DO $$
BEGIN
  PERFORM guard_probe();
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'caught %', SQLERRM;
END $$;
SELECT 'alive';
SELECT 'dead frame entries: ' || guard_probe_dead_entries();
SQL
)
echo "$out" | sed 's/^/  | /'
check "the error keeps its SQLSTATE and message" 1 \
  "$(grep -c '^ERROR:  22023: thrown through a pg_try' <<<"$out")"
check "and its detail" 1 "$(grep -c "^DETAIL:  The probe's detail." <<<"$out")"
check "and its hint" 1 "$(grep -c "^HINT:  The probe's hint." <<<"$out")"
check "a PL/pgSQL exception block catches it" 1 \
  "$(grep -c 'NOTICE:  00000: caught thrown through a pg_try' <<<"$out")"
check "no error jumped into the PG_TRY's dead frame" 1 \
  "$(grep -cx 'dead frame entries: 0' <<<"$out")"
check "the session goes on" 1 "$(grep -cx 'alive' <<<"$out")"
check "no backend crashed" 0 "$(grep -c "terminated by signal" "$DIR/server.log" || true)"
finish
