#!/usr/bin/env bash
# Benchmark of workflows, in one run on one server:
#   (a) fan-out: one spawn.broadcast to 10,000 subscribers (the statement, and until all
#       10,000 messages are processed), against 10,000 spawn.cast calls in one statement;
#   (b) a pipe chain a -> b -> c in one spawn.invoke, against the same three steps as three
#       separate spawn.invoke calls (three statements, three transactions), with pgbench.
# Usage: bench/workflow_bench.sh [--seconds S] [--clients N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
clients=8
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--clients N]"; exit 2 ;;
  esac
done
bench_cluster workflow 54520
dir=$BENCH_DIR
sql() { bench_sql "$@"; }

sql -q <<'SQL'
CREATE FUNCTION add_one(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('value', coalesce((payload->>'value')::int, 0) + 1),
                     jsonb_build_object('total', coalesce((state->>'total')::int, 0) + 1))
$$;
-- Adds one and pipes the result to the next stage of the same chain number.
CREATE FUNCTION add_and_pipe(state jsonb, payload jsonb, ctx spawn.context) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.pipe(spawn.reply(jsonb_build_object('value', coalesce((payload->>'value')::int, 0) + 1),
                                jsonb_build_object('total', coalesce((state->>'total')::int, 0) + 1)),
                    (CASE ctx.parent WHEN 'stage_a' THEN 'b-' ELSE 'c-' END) || split_part(ctx.actor, '-', 2),
                    'step')
$$;
SELECT spawn.register_actor('stage_a', actions => '{"chain": "add_and_pipe", "step": "add_one"}', kind => 'unnamed');
SELECT spawn.register_actor('stage_b', actions => '{"chain": "add_and_pipe", "step": "add_one"}', kind => 'unnamed');
SELECT spawn.register_actor('stage_c', actions => '{"step": "add_one"}', kind => 'unnamed');
SELECT count(spawn.spawn_actor(s || '-' || i, 'stage_' || s)) FROM generate_series(1, 1000) i, unnest(ARRAY['a', 'b', 'c']) s;
SELECT spawn.register_actor('fan', actions => '{"receive": "add_one"}', kind => 'unnamed', channels => '[{"topic": "all"}]');
SELECT count(spawn.spawn_actor('fan-' || i, 'fan')) FROM generate_series(1, 10000) i;
SQL

# wait_drained: waits until the mailbox is empty; prints the seconds since $1 (epoch).
wait_drained() {
  bench_wait_drained
  echo "$(date +%s.%N) - $1" | bc
}

echo "(a) fan-out to 10,000 subscribers"
start=$(date +%s.%N)
broadcast_ms=$(sql -t -A -c "\\timing on" -c "SELECT spawn.broadcast('all', payload => '{\"value\": 1}')" | awk '/^Time:/ {print $2}')
broadcast_total=$(wait_drained "$start")
start=$(date +%s.%N)
casts_ms=$(sql -t -A -c "\\timing on" -c "SELECT count(spawn.cast('fan-' || i, 'receive', '{\"value\": 1}')) FROM generate_series(1, 10000) i" | awk '/^Time:/ {print $2}')
casts_total=$(wait_drained "$start")
printf '  spawn.broadcast statement: %8.1f ms   10,000 spawn.cast: %8.1f ms   ratio %.2f\n' \
  "$broadcast_ms" "$casts_ms" "$(echo "$casts_ms / $broadcast_ms" | bc -l)"
printf '  until all processed:       %8.2f s    10,000 spawn.cast: %8.2f s\n' "$broadcast_total" "$casts_total"

echo "(b) pipe chain a -> b -> c vs. three separate invokes ($clients clients, $seconds s)"
scripts=$dir/scripts
mkdir -p "$scripts"
cat > "$scripts/chain.sql" <<'S'
\set n random(1, 1000)
SELECT spawn.invoke('a-' || :n, 'chain', '{"value": 0}');
S
cat > "$scripts/separate.sql" <<'S'
\set n random(1, 1000)
SELECT spawn.invoke('a-' || :n, 'step', '{"value": 0}');
SELECT spawn.invoke('b-' || :n, 'step', '{"value": 1}');
SELECT spawn.invoke('c-' || :n, 'step', '{"value": 2}');
S
chmod -R a+rX "$dir"
tps() { bench_tps "$scripts/$1.sql" "$clients" "$seconds"; }
chain=$(tps chain)
separate=$(tps separate)
printf '  chains/s: pipe %s   separate invokes %s   ratio %.2f\n' "$chain" "$separate" \
  "$(echo "$chain / $separate" | bc -l)"
