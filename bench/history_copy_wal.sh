#!/usr/bin/env bash
# WAL of a write that replaces a snapshotted revision (it copies that revision into
# spawn._history, docs/design.md "Snapshots and history") against a write that replaces none:
# 200 actors invoked once and snapshotted in their rows, then, after a CHECKPOINT, one
# transaction per invoke on each; then snapshots stopped, a CHECKPOINT, and the same again.
# Prints the WAL bytes per write of each round (pg_current_wal_lsn() differences / 200).
#
# Usage: bench/history_copy_wal.sh [--port P]   (SPAWN_PORT_OFFSET is added to P)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
port=54511
[ "${1:-}" = --port ] && port=$2

bench_cluster walcopy "$port" "spawn.housekeeping_interval = 100"
sql() { bench_sql -X -q -t -A "$@"; }
register() {
  sql -c "SELECT spawn.register_actor('w', actions => '{\"add\": \"public.incrementor_add\"}',
    kind => 'unnamed', snapshot_timeout => $1, deactivate_timeout => 100000000)" >/dev/null
}
# round: one invoke per actor, each its own transaction, after a CHECKPOINT; prints WAL/write.
round() {
  local before after
  sql -c "CHECKPOINT" >/dev/null
  before=$(sql -c "SELECT pg_current_wal_lsn()")
  sql -c "DO \$\$ BEGIN FOR g IN 1..200 LOOP
    PERFORM spawn.invoke('w-' || g, 'add', '{\"value\": 1}'); COMMIT; END LOOP; END \$\$"
  after=$(sql -c "SELECT pg_current_wal_lsn()")
  sql -c "SELECT round(pg_wal_lsn_diff('$after', '$before') / 200)"
}

register 100
sql -c "SELECT spawn.spawn_actors('w', (SELECT array_agg('w-' || g) FROM generate_series(1, 200) g))" \
  -c "SELECT count(spawn.invoke('w-' || g, 'add', '{\"value\": 1}')) FROM generate_series(1, 200) g" >/dev/null
until [ "$(sql -c "SELECT count(*) FROM spawn._instances WHERE snapshot_revision < revision")" = 0 ]; do
  sleep 0.2
done
register 100000000
replacing=$(round)
plain=$(round)
echo "WAL bytes per write: replacing a snapshot $replacing, replacing none $plain;" \
  "history rows: $(sql -c "SELECT count(*) FROM spawn._history")"
