#!/usr/bin/env bash
# The runnable examples of docs/examples/ run (each in a fresh database where the scheduler
# works) and their own assertions hold.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
examples=$(cd "$(dirname "$0")/../../docs/examples" && pwd)
test_cluster examples 54495
for example in order_processing saga state_machine cqrs; do
  cluster_stop "$DIR"
  q_db() { psql -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres "$@"; }
  as_pg sed -i "/^spawn.database/d" "$DIR/data/postgresql.conf"
  echo "spawn.database = '$example'" | as_pg tee -a "$DIR/data/postgresql.conf" >/dev/null
  cluster_start "$DIR"
  q_db -d postgres -c "CREATE DATABASE $example" >/dev/null
  if q_db -d "$example" -f "$examples/$example.sql" >"$SPAWN_TEST_DIR/$example.out" 2>&1; then
    echo "ok - docs/examples/$example.sql"
  else
    echo "not ok - docs/examples/$example.sql"
    tail -n 20 "$SPAWN_TEST_DIR/$example.out"
    failures=$((failures + 1))
  fi
done
finish
