#!/usr/bin/env bash
# Benchmark of spawn.cast against a plain single-row INSERT into a table of the same width
# (issue 11), in one run on one server, with 100,000 messages scheduled for later sitting in
# the mailbox (as a busy application has): 1 and 8 clients, synchronous_commit on and off.
#   cast    spawn.cast('c-<n>', 'add', '{"value": 1}', delay_ms => 3600000) on one of 1,000
#           instances: the target is checked, the payload sealed, the row inserted, and the
#           workers (sleeping until the next due message) are not woken
#   insert  INSERT INTO jobs (...) VALUES (...): the mailbox's columns, a payload of the
#           sealed payload's size, a bigserial primary key
# Prints TPS and cast/insert per round, and the median ratio of the rounds; then the backend
# CPU time per call of each (one session, synchronous_commit off, --calls prepared calls read
# from /proc/self/stat by the backend itself), which the load of a shared machine moves far
# less than throughput. With --callgrind N1,N2 it measures instead the instructions per call of
# each statement, which do not depend on the machine's load at all (scripts/lib.sh,
# bench_instructions: single-user backends under callgrind, N2 - N1 calls after a warm-up on
# every one of the 1,000 instances); --keep DIR keeps the callgrind files for
# bench/callgrind_diff.py.
#
# Usage: bench/cast_bench.sh [--seconds S] [--rounds N] [--calls N] [--cpu-only]
#                            [--callgrind N1,N2 [--keep DIR]]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
rounds=1
calls=10000
cpu_only=false
callgrind=""
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --cpu-only) cpu_only=true; shift ;;
    --callgrind) callgrind=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--rounds N] [--calls N] [--cpu-only] [--callgrind N1,N2 [--keep DIR]]"; exit 2 ;;
  esac
done

bench_cluster cast 54505 "checkpoint_timeout = '30min'"
dir=$BENCH_DIR
sql() { bench_sql "$@"; }

sql -q <<'SQL'
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.spawn_actors('counter', array_agg('c-' || i)) FROM generate_series(1, 1000) i;
-- 100,000 messages for later: the workers must neither scan nor wake for them.
SELECT count(spawn.cast('c-' || (i % 1000 + 1), 'add', '{"value": 1}', delay_ms => 3600000 + i))
  FROM generate_series(1, 100000) i;
CREATE TABLE jobs (
  id bigserial PRIMARY KEY, system text NOT NULL, actor text NOT NULL, action text NOT NULL,
  register_ref text, key_id bigint, nonce bytea, payload bytea, metadata jsonb,
  reply_channel text, run_as regrole NOT NULL, source text NOT NULL DEFAULT 'cast',
  deliver_at timestamptz NOT NULL DEFAULT now(), retry_at timestamptz,
  attempts integer NOT NULL DEFAULT 0, last_error text,
  created_at timestamptz NOT NULL DEFAULT now());
VACUUM ANALYZE;
CHECKPOINT;
SQL
payload_bytes=$(sql -t -A -c "SELECT octet_length(payload) FROM spawn._mailbox LIMIT 1")

scripts=$dir/scripts
mkdir -p "$scripts"
cat > "$scripts/cast.sql" <<'S'
\set id random(1, 1000)
SELECT spawn.cast('c-' || :id, 'add', '{"value": 1}', delay_ms => 3600000);
S
cat > "$scripts/insert.sql" <<S
\set id random(1, 1000)
INSERT INTO jobs (system, actor, action, key_id, nonce, payload, run_as, deliver_at)
  VALUES ('spawn-system', 'c-' || :id, 'add', 1, '\\x$(printf '%048d' 0)',
          '\\x$(printf "%0$((payload_bytes * 2))d" 0)', current_user::regrole,
          now() + interval '1 hour');
S
# The statements as prepared for the CPU measurements ($1 is the counter's number).
cast_sql="SELECT spawn.cast('c-' || \$1, 'add', '{\"value\": 1}', delay_ms => 3600000)"
insert_sql="INSERT INTO jobs (system, actor, action, key_id, nonce, payload, run_as, deliver_at)
  VALUES ('spawn-system', 'c-' || \$1, 'add', 1, '\\x$(printf '%048d' 0)',
          '\\x$(printf "%0$((payload_bytes * 2))d" 0)', current_user::regrole, now() + interval '1 hour')"

if [ -n "$callgrind" ]; then
  cluster_stop "$dir"
  printf '%-8s %14s\n' kind 'Ir per call'
  cast_ir=$(bench_instructions cast "PREPARE call(int) AS $cast_sql;" 1000 1000 "${callgrind%,*}" "${callgrind#*,}" "$keep")
  printf '%-8s %14d\n' cast "$cast_ir"
  insert_ir=$(bench_instructions insert "PREPARE call(int) AS $(tr '\n' ' ' <<<"$insert_sql");" 1000 1000 "${callgrind%,*}" "${callgrind#*,}" "$keep")
  printf '%-8s %14d\n' insert "$insert_ir"
  printf 'instructions per call, insert/cast: %.2f\n' "$(echo "$insert_ir / $cast_ir" | bc -l)"
  exit 0
fi

chmod -R a+rX "$dir"

# tps SCRIPT CLIENTS SYNC: runs pgbench and prints its TPS.
tps() { PGOPTIONS="-c synchronous_commit=$3" bench_tps "$scripts/$1.sql" "$2" "$seconds"; }

# worker_ticks: CPU clock ticks (user + system) used so far by the mailbox workers.
worker_ticks() {
  local total=0 pid
  for pid in $(sql -t -A -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'spawn worker%'"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
worker_ticks_before=$(worker_ticks)
$cpu_only && rounds=0

declare -A ratios
printf '\n%-6s %-8s %-7s %10s %10s %12s\n' round sync clients cast insert cast/insert
for round in $(seq 1 "$rounds"); do
  for sync in on off; do
    for clients in 1 8; do
      c=$(tps cast "$clients" "$sync"); i=$(tps insert "$clients" "$sync")
      ratio=$(echo "$c / $i" | bc -l)
      ratios[$sync/$clients]="${ratios[$sync/$clients]:-} $ratio"
      printf '%-6s %-8s %-7s %10s %10s %12.2f\n' "$round" "$sync" "$clients" "$c" "$i" "$ratio"
    done
  done
done
[ "$rounds" -gt 0 ] && printf '\nmedian of %d round(s), cast/insert:' "$rounds"
for key in $([ "$rounds" -gt 0 ] && echo on/1 on/8 off/1 off/8); do
  median=$(tr ' ' '\n' <<<"${ratios[$key]}" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  printf ' %s %.2f' "$key" "$median"
done
echo
worker_ticks_after=$(worker_ticks)
echo "mailbox: $(sql -t -A -c "SELECT count(*) FROM spawn._mailbox") messages, none due"
echo "CPU of the mailbox workers during the casts: $(( (worker_ticks_after - worker_ticks_before) * 10 )) ms"

# cpu_per_call NAME PREPARED_STATEMENT: the backend's CPU microseconds per call of the statement
# (prepared as "call"; $1 is the counter's number), over $calls calls in one session.
cpu_per_call() {
  local file=$scripts/$1-cpu.sql
  {
    echo "SET synchronous_commit = off;"
    echo "PREPARE call(int) AS $2;"
    echo "SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint AS ticks"
    echo "  FROM pg_read_file('/proc/self/stat') s \\gset before_"
    awk -v n="$calls" 'BEGIN { srand(1); for (i = 0; i < n; i++) printf "EXECUTE call(%d);\n", 1 + int(rand() * 1000) }'
    echo "SELECT (split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint - :before_ticks)"
    echo "  * 10000.0 / $calls FROM pg_read_file('/proc/self/stat') s;"
  } > "$file"
  sql -t -A -f "$file" | tail -n 1
}
# Alternated five times, so that a change of the machine's load hits both alike.
cpu_ratios=""
printf '\n%-6s %14s %16s %12s\n' pass "cast CPU us" "insert CPU us" insert/cast
for pass in 1 2 3 4 5; do
  cast_us=$(cpu_per_call cast "$cast_sql")
  insert_us=$(cpu_per_call insert "$insert_sql")
  ratio=$(echo "$insert_us / $cast_us" | bc -l)
  cpu_ratios="$cpu_ratios $ratio"
  printf '%-6s %14.1f %16.1f %12.2f\n' "$pass" "$cast_us" "$insert_us" "$ratio"
done
printf 'backend CPU per call (one session, synchronous_commit off), insert/cast, median of 5: %.2f\n' \
  "$(tr ' ' '\n' <<<"$cpu_ratios" | grep . | sort -g | sed -n 3p)"
