#!/usr/bin/env bash
# Bytes per idle actor by relation (issue 17): creates N unnamed actors with spawn_actors,
# invokes each once (one statement, or with --each one transaction per invoke), waits until
# the launcher has snapshotted and deactivated every one, then prints the size of every relation of spawn._instances and spawn._history
# (heap and each index) divided by N, the total, and the sealed state's own bytes. Sizes, not
# times: it does not depend on the machine's load.
#
# Usage: bench/actor_bytes.sh [--actors N] [--each] [--port P]   (SPAWN_PORT_OFFSET is added to P)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
actors=100000
port=54508
each=no
while [ $# -gt 0 ]; do
  case $1 in
    --actors) actors=$2; shift 2 ;;
    --each) each=yes; shift ;;
    --port) port=$2; shift 2 ;;
    *) echo "usage: $0 [--actors N] [--each] [--port P]"; exit 2 ;;
  esac
done

bench_cluster bytes "$port" "spawn.housekeeping_interval = 200"
sql() { bench_sql -X -q -t -A "$@"; }
sql -c "SELECT spawn.register_actor('counter', actions => '{\"add\": \"public.incrementor_add\"}',
  kind => 'unnamed', snapshot_timeout => 1000, deactivate_timeout => 2000)" >/dev/null
sql -c "SELECT spawn.spawn_actors('counter', (SELECT array_agg('c-' || g) FROM generate_series(1, $actors) g))" >/dev/null
if [ "$each" = yes ]; then
  sql -c "DO \$\$ BEGIN FOR g IN 1..$actors LOOP
    PERFORM spawn.invoke('c-' || g, 'add', '{\"value\": 1}'); COMMIT; END LOOP; END \$\$" >/dev/null
else
  sql -c "SELECT count(spawn.invoke('c-' || g, 'add', '{\"value\": 1}')) FROM generate_series(1, $actors) g" >/dev/null
fi
# Every actor was invoked once: done when none is active and each has its snapshot.
until [ "$(sql -c "SELECT count(*) FROM spawn._instances WHERE active OR snapshot_revision < revision")" = 0 ]; do
  sleep 1
done
sql -c "CHECKPOINT" >/dev/null
sql -F ' ' -c "
  SELECT c.relname, round(pg_relation_size(c.oid)::numeric / $actors, 1)
  FROM pg_class c
  WHERE c.relnamespace = 'spawn'::regnamespace AND c.relkind IN ('r', 'i')
    AND (c.relname LIKE '\\_instances%' OR c.relname LIKE '\\_history%')
  UNION ALL
  SELECT 'total (heap, indexes, toast)', round((pg_total_relation_size('spawn._instances')
    + pg_total_relation_size('spawn._history'))::numeric / $actors, 1)
  UNION ALL
  SELECT 'sealed state (nonce + ciphertext)', round(avg(octet_length(nonce) + octet_length(ciphertext)), 1)
  FROM spawn._instances WHERE ciphertext IS NOT NULL
  ORDER BY 1"
