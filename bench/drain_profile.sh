#!/usr/bin/env bash
# Instructions per drained message, independent of the machine's load: the server runs under
# valgrind's callgrind (every process it forks is counted on its own), MESSAGES casts to ACTORS
# counters (one role) are enqueued for later, made due at once, and drained by the mailbox
# workers. Forked processes cannot be dumped on demand (callgrind_control finds only the
# postmaster), so the workers are ended instead, and callgrind writes their counts when they
# exit: once after they started and idled 5 s, once after fresh ones started, idled 5 s and
# drained the mailbox. The difference divided by MESSAGES leaves start-up, set-up and the
# enqueue out. Prints it, and how many messages each worker processed.
#
# Usage: bench/drain_profile.sh [--messages N] [--actors A] [--workers W] [--keep DIR]
#   --keep DIR copies the workers' callgrind files there (callgrind_annotate reads them; the
#   largest ones are the draining workers'). A run takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
messages=10000
actors=100
workers=2
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --messages) messages=$2; shift 2 ;;
    --actors) actors=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--messages N] [--actors A] [--workers W] [--keep DIR]"; exit 2 ;;
  esac
done

build_and_install
dir=$(mktemp -d /tmp/spawn-drainprof.XXXXXX)
port=$((54520 + SPAWN_PORT_OFFSET))
cluster_init "$dir" "$port" "spawn.workers = $workers
shared_buffers = '256MB'
autovacuum = off"
as_pg mkdir -p "$dir/cg"
stop_server() {
  as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 300 stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop_server EXIT
as_pg valgrind --tool=callgrind --callgrind-out-file="$dir/cg/cg.%p" \
  "$PG_BIN/postgres" -D "$dir/data" >"$dir/server.log" 2>"$dir/valgrind.log" &
for _ in $(seq 1 600); do
  cluster_psql "$dir" "$port" -d postgres -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.5
done
sql() { cluster_psql "$dir" "$port" -d postgres "$@"; }
sql -c "CREATE EXTENSION spawn"
incrementor_sql | sql
sql <<SQL >/dev/null
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 0}', register_ref => 'counter'))
  FROM generate_series(1, $actors) i;
SELECT count(spawn.cast('c-' || (1 + i % $actors), 'add', '{"value": 1}', delay_ms => 36000000))
  FROM generate_series(1, $messages) i;
VACUUM ANALYZE spawn._mailbox;
SQL
# worker_pids [OLD]: the pids of the running mailbox workers once all of them run, none of them
# among OLD (comma-separated pids of workers that were just ended).
worker_pids() {
  local pids=""
  for _ in $(seq 1 600); do
    pids=$(sql -t -A -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE backend_type = 'spawn worker'
                         AND pid <> ALL('{${2:-0}}'::int[]) HAVING count(*) = $workers")
    [ -n "$pids" ] && break
    sleep 0.5
  done
  echo "$pids"
}
# end_workers PIDS: terminates the workers (callgrind writes each one's counts when it exits)
# and prints the sum of their instructions.
end_workers() {
  local pid sum=0
  sql -c "SELECT pg_terminate_backend(pid) FROM unnest('{${1// /,}}'::int[]) pid" >/dev/null
  for pid in $1; do
    while kill -0 "$pid" 2>/dev/null || [ ! -s "$dir/cg/cg.$pid" ]; do sleep 0.5; done
    sum=$((sum + $(awk '/^totals:/ {print $2}' "$dir/cg/cg.$pid")))
    [ -n "$keep" ] && mkdir -p "$keep" && cp "$dir/cg/cg.$pid" "$keep/"
  done
  echo "$sum"
}
# Workers that start, idle a few seconds and end: their start-up and idle cost.
first_pids=$(worker_pids)
end_workers "$first_pids" >/dev/null
idle_pids=$(worker_pids "${first_pids// /,}")
sleep 5
idle=$(end_workers "$idle_pids")
# Workers that start, drain the mailbox and end.
pids=$(worker_pids "${idle_pids// /,}")
sleep 5
sql -c "BEGIN; UPDATE spawn._mailbox SET deliver_at = now(); SELECT spawn._wake_workers(); COMMIT" >/dev/null
while [ "$(sql -t -A -c "SELECT count(*) FROM spawn._mailbox")" != 0 ]; do sleep 0.5; done
sql -t -A -c "SELECT string_agg(format('worker %s processed %s in %s batches', worker, processed, batches), '; ') FROM spawn.worker_stats WHERE kind = 'worker'"
busy=$(end_workers "$pids")
echo "workers: $idle instructions starting and idling, $busy starting and draining $messages messages"
echo "$(((busy - idle) / messages)) instructions per message (all workers)"
