#!/usr/bin/env bash
# Scale benchmark (issue 17): at each size (default 10,000, 100,000 and 1,000,000 actors; add
# 10000000 with --sizes), in one run on one server:
#   creation   spawn.spawn_actors(parent, names) vs. a plain INSERT of the same rows into a table
#              shaped like spawn._instances (same columns and primary key, no other index)
#   invoke/raw spawn.invoke on a random actor vs. UPDATE of a random row of a table holding rows
#              of the width of spawn's state rows, 8 clients, synchronous_commit on
#   idle CPU   launcher + workers, in % of one core over --idle seconds: with none of the actors
#              ever invoked, and again a minute after 100,000 of them were invoked (bulk)
#   bulk       one statement invoking min(size, 1,000,000) distinct actors (default locks)
#   bytes      spawn._instances + indexes + history per actor (after the burst), and a second
#              line per size with the breakdown by relation and the sealed state's own bytes
#   WAL        bytes of WAL per invoke of 100 active actors vs. per raw UPDATE (1 client, the
#              pg_current_wal_lsn() difference over 2,000 calls / 2,000)
#   restart    the first invoke after a restart vs. the median of 20 warm invokes
# Prints one line per size.
#
# Usage: bench/scale_bench.sh [--sizes "10000 100000 1000000"] [--seconds S] [--idle S] [--port P]
# (--port: another cluster port than 54506, to run two of them at once; SPAWN_PORT_OFFSET is added)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
sizes="10000 100000 1000000"
seconds=10
idle=30
port=54506
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "usage: $0 [--sizes LIST] [--seconds S] [--idle S] [--port P]"; exit 2 ;;
  esac
done

bench_cluster scale "$port" "checkpoint_timeout = '30min'
max_wal_size = '16GB'"
dir=$BENCH_DIR
sql() { bench_sql -X -q -t -A "$@"; }
scripts=$dir/scripts
mkdir -p "$scripts"
chmod a+rwx "$scripts"

# scheduler_ticks: CPU clock ticks (user + system) used so far by the launcher and workers.
scheduler_ticks() {
  local total=0 pid
  for pid in $(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'spawn %'"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# idle_cpu SECONDS: % of one core the scheduler used while the server sat idle.
idle_cpu() {
  local before after hz
  hz=$(getconf CLK_TCK)
  before=$(scheduler_ticks)
  sleep "$1"
  after=$(scheduler_ticks)
  echo "scale=2; ($after - $before) * 100 / $hz / $1" | bc -l
}

# seconds_of SQL: wall time of one statement, in seconds.
seconds_of() {
  local start end
  start=$(date +%s.%N)
  sql -c "$1" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# wal_per_call SCRIPT: bytes of WAL per transaction of a pgbench script (1 client, 2,000 calls).
wal_per_call() {
  local before after
  before=$(sql -c "SELECT pg_current_wal_lsn()")
  pgbench -n -M prepared -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres -c 1 -t 2000 -f "$1" postgres >/dev/null 2>&1
  after=$(sql -c "SELECT pg_current_wal_lsn()")
  sql -c "SELECT round(pg_wal_lsn_diff('$after', '$before') / 2000)"
}

# latency_ms ACTOR: one invoke's time in ms as the server measured it (psql \timing).
latency_ms() {
  bench_sql -X -q -c '\timing on' -c "SELECT spawn.invoke('$1', 'add', '{\"value\": 1}')" |
    awk '/^Time:/ {print $2}'
}

sql -c "SELECT spawn.register_actor('counter', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
sql <<'SQL'
CREATE TABLE plain_instances (LIKE spawn._instances INCLUDING DEFAULTS, PRIMARY KEY (system, name))
  WITH (fillfactor = 90);
SQL

printf '\n%-9s %9s %9s %8s %10s %10s %8s %9s %9s %10s %9s %9s %8s %8s\n' actors create_s insert_s \
  speed invoke/raw idle_cpu% burst_s cpu_after% bytes/act first_ms warm_ms restart_x wal_inv wal_raw
created=0
for size in $sizes; do
  # Creation of the new actors (created .. size), against the same rows inserted plainly.
  names="SELECT array_agg('c-' || g) FROM generate_series($((created + 1)), $size) g"
  sql -c "CHECKPOINT" >/dev/null
  spawn_s=$(seconds_of "SELECT spawn.spawn_actors('counter', ($names))")
  sql -c "CHECKPOINT" >/dev/null
  insert_s=$(seconds_of "INSERT INTO plain_instances (system, name, definition_id)
    SELECT 'spawn-system', 'c-' || g, 1 FROM generate_series($((created + 1)), $size) g")
  created=$size
  sql -c "VACUUM ANALYZE" >/dev/null

  # Idle with none of them ever invoked.
  cpu_idle=$(idle_cpu "$idle")

  # invoke/raw at this size: the raw table's rows are as wide as a state row.
  sql -c "SET client_min_messages = warning; DROP TABLE IF EXISTS counters; CREATE TABLE counters (id int PRIMARY KEY, total bigint NOT NULL,
    pad bytea NOT NULL) WITH (fillfactor = 70);
    INSERT INTO counters SELECT g, 0, decode(repeat('00', 100), 'hex') FROM generate_series(1, $size) g" >/dev/null
  sql -c "VACUUM ANALYZE counters" >/dev/null
  printf '%s\n' "\\set id random(1, $size)" "SELECT spawn.invoke('c-' || :id, 'add', '{\"value\": 1}');" > "$scripts/invoke.sql"
  printf '%s\n' "\\set id random(1, $size)" "UPDATE counters SET total = total + 1 WHERE id = :id;" > "$scripts/raw.sql"
  chmod a+r "$scripts"/*.sql
  i=$(bench_tps "$scripts/invoke.sql" 8 "$seconds"); r=$(bench_tps "$scripts/raw.sql" 8 "$seconds")

  # One statement invoking many distinct actors, then the scheduler a minute later.
  burst=$(( size < 1000000 ? size : 1000000 ))
  burst_s=$(seconds_of "SELECT count(spawn.invoke('c-' || g, 'add', '{\"value\": 1}')) FROM generate_series(1, $burst) g")
  sleep 60
  cpu_after=$(idle_cpu "$idle")
  bytes=$(sql -c "SELECT (pg_total_relation_size('spawn._instances') + pg_total_relation_size('spawn._history')) / $size")
  breakdown=$(sql -F ' ' -c "SELECT string_agg(c.relname || '=' || round(pg_relation_size(c.oid)::numeric / $size, 1), ' ' ORDER BY c.relname)
    FROM pg_class c WHERE c.relnamespace = 'spawn'::regnamespace AND (c.relname LIKE '\\_instances%' OR c.relname LIKE '\\_history%')")
  sealed=$(sql -c "SELECT round(avg(octet_length(nonce) + octet_length(ciphertext)), 1) FROM spawn._instances WHERE ciphertext IS NOT NULL")

  # WAL per invoke of 100 active actors (HOT updates in the common case) vs. per raw UPDATE.
  printf '%s\n' "\\set id random(1, 100)" "SELECT spawn.invoke('c-' || :id, 'add', '{\"value\": 1}');" > "$scripts/wal_invoke.sql"
  printf '%s\n' "\\set id random(1, 100)" "UPDATE counters SET total = total + 1 WHERE id = :id;" > "$scripts/wal_raw.sql"
  chmod a+r "$scripts"/*.sql
  sql -c "SELECT count(spawn.invoke('c-' || g, 'add', '{\"value\": 1}')) FROM generate_series(1, 100) g" >/dev/null
  wal_invoke=$(wal_per_call "$scripts/wal_invoke.sql")
  wal_raw=$(wal_per_call "$scripts/wal_raw.sql")

  # The first invoke after a restart, against warm ones.
  cluster_stop "$dir" >/dev/null 2>&1 || true
  cluster_start "$dir" >/dev/null
  first=$(latency_ms "c-$((size / 2))")
  warm=$(for k in $(seq 1 20); do latency_ms "c-$((size / 2 + k))"; done | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  printf '%-9s %9.2f %9.2f %8.2f %10.2f %10s %8.2f %9s %9s %10s %9s %9.2f %8s %8s\n' "$size" "$spawn_s" "$insert_s" \
    "$(echo "$insert_s / $spawn_s" | bc -l)" "$(echo "$i / $r" | bc -l)" "$cpu_idle" "$burst_s" \
    "$cpu_after" "$bytes" "$first" "$warm" "$(echo "$first / $warm" | bc -l)" "$wal_invoke" "$wal_raw"
  echo "          bytes/actor by relation: $breakdown; sealed state (nonce + ciphertext): $sealed"
done
echo "speed: plain INSERT time / spawn_actors time (>= 0.5 is the target); idle_cpu%: launcher + workers"
