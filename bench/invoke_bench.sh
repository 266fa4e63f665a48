#!/usr/bin/env bash
# Benchmark of the synchronous invoke path against two baselines, in one run on one server:
#   invoke  spawn.invoke('c-<n>', 'add') on a random one of 10,000 unnamed SQL incrementors
#   raw     UPDATE counters SET total = total + 1 WHERE id = $1 over 10,000 rows
#   plpgsql a hand-written PL/pgSQL actor: advisory lock, select, update of a jsonb row
# at 1, 8 and 32 clients with synchronous_commit on and off, plus a hot-actor run (8 clients on
# one instance vs. 8 clients on one raw row). Prints TPS and ratios. Optional: --memory N
# invokes N distinct instances from one session and prints the backend's private memory.
#
# Usage: bench/invoke_bench.sh [--seconds S] [--memory N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
memory=0
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--memory N]"; exit 2 ;;
  esac
done

bench_cluster invoke 54500 "checkpoint_timeout = '30min'"
dir=$BENCH_DIR
port=$BENCH_PORT
sql() { bench_sql "$@"; }

sql -q <<'SQL'
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 0}', register_ref => 'counter'))
  FROM generate_series(1, 10000) i;
SELECT spawn.invoke('c-' || i, 'add', '{"value": 1}') FROM generate_series(1, 10000) i \g /dev/null

CREATE TABLE counters (id int PRIMARY KEY, total bigint NOT NULL) WITH (fillfactor = 70);
INSERT INTO counters SELECT i, 1 FROM generate_series(1, 10000) i;

CREATE TABLE pl_counters (id int PRIMARY KEY, state jsonb NOT NULL) WITH (fillfactor = 70);
INSERT INTO pl_counters SELECT i, '{"total": 1}' FROM generate_series(1, 10000) i;
CREATE FUNCTION pl_add(p_id int, delta bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  s jsonb;
  t bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(p_id);
  SELECT state INTO s FROM pl_counters WHERE id = p_id;
  t := coalesce((s->>'total')::bigint, 0) + delta;
  UPDATE pl_counters SET state = jsonb_build_object('total', t) WHERE id = p_id;
  RETURN jsonb_build_object('total', t);
END $$;
VACUUM ANALYZE;
CHECKPOINT;
SQL

scripts=$dir/scripts
mkdir -p "$scripts"
cat > "$scripts/invoke.sql" <<'S'
\set id random(1, 10000)
SELECT spawn.invoke('c-' || :id, 'add', '{"value": 1}');
S
cat > "$scripts/raw.sql" <<'S'
\set id random(1, 10000)
UPDATE counters SET total = total + 1 WHERE id = :id;
S
cat > "$scripts/plpgsql.sql" <<'S'
\set id random(1, 10000)
SELECT pl_add(:id, 1);
S
echo "SELECT spawn.invoke('c-1', 'add', '{\"value\": 1}');" > "$scripts/hot_invoke.sql"
echo "UPDATE counters SET total = total + 1 WHERE id = 1;" > "$scripts/hot_raw.sql"
chmod -R a+rX "$dir"

# tps SCRIPT CLIENTS SYNC: runs pgbench and prints its TPS.
tps() { PGOPTIONS="-c synchronous_commit=$3" bench_tps "$scripts/$1.sql" "$2" "$seconds"; }

printf '\n%-8s %-7s %10s %10s %10s %12s %14s\n' sync clients invoke raw plpgsql invoke/raw invoke/plpgsql
for sync in on off; do
  for clients in 1 8 32; do
    i=$(tps invoke "$clients" "$sync"); r=$(tps raw "$clients" "$sync"); p=$(tps plpgsql "$clients" "$sync")
    printf '%-8s %-7s %10s %10s %10s %12.2f %14.2f\n' "$sync" "$clients" "$i" "$r" "$p" \
      "$(echo "$i / $r" | bc -l)" "$(echo "$i / $p" | bc -l)"
  done
done
printf '\nhot actor: 8 clients on one instance vs. 8 clients on one raw row\n'
printf '%-8s %10s %10s %12s\n' sync invoke raw invoke/raw
for sync in on off; do
  i=$(tps hot_invoke 8 "$sync"); r=$(tps hot_raw 8 "$sync")
  printf '%-8s %10s %10s %12.2f\n' "$sync" "$i" "$r" "$(echo "$i / $r" | bc -l)"
done
check_total=$(sql -t -A -c "SELECT (spawn.invoke('c-1', 'get')->>'total')::bigint > 1")
echo "sanity: hot instance advanced: $check_total"

if [ "$memory" -gt 0 ]; then
  printf '\nmemory: one session invokes %d distinct instances (one transaction each)\n' "$memory"
  sql -c "CREATE SEQUENCE m_seq"
  echo "SELECT spawn.invoke('m-' || nextval('m_seq'), 'add', '{\"value\": 1}', register_ref => 'counter');" > "$scripts/memory.sql"
  chmod a+r "$scripts/memory.sql"
  PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -h "$dir" -p "$port" -U postgres \
    -c 1 -t "$memory" -f "$scripts/memory.sql" postgres >"$dir/memory.out" 2>&1 &
  bench=$!
  sleep 2
  pid=$(sql -t -A -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'")
  while kill -0 "$bench" 2>/dev/null; do
    n=$(sql -t -A -c "SELECT last_value FROM m_seq")
    kb=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo gone)
    echo "  after $n instances: backend private memory $kb kB"
    sleep 15
  done
  wait "$bench"
  awk '/^tps = /' "$dir/memory.out"
fi
