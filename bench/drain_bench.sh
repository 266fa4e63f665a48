#!/usr/bin/env bash
# Benchmark of the scheduler, in one run on one server:
#   (a) drain: 100,000 pre-enqueued casts to 1,000 counter instances, processed end to end by
#       spawn's workers (spawn.workers = 2), in messages/s;
#   (b) the peer baselines: the same 100,000 jobs through graphile-worker (npm), each job doing
#       the same counter update in SQL, and through pg-boss (npm) with its batch API (each batch
#       updates its counters in one statement), in jobs/s, and the ratios of (a) to each;
#   (c) cast-to-NOTIFY reply latency (p50/p99) of spawn.invoke_async at a steady 1,000 msgs/s,
#       measured from each request's due time (bench/reply_latency.py: several sender
#       processes, so the sender is not the limit), on a fresh mailbox first, and again right
#       after the 100,000-message burst of (a), before the peers run.
# --spawn-only skips the peers (parts (a) and (c) only, a minute or so).
#
# Usage: bench/drain_bench.sh [--messages N] [--concurrency C] [--latency-seconds S]
#                             [--pgboss-workers W] [--pgboss-batch B] [--spawn-only]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
messages=100000
concurrency=8
latency_seconds=10
pgboss_workers=2
pgboss_batch=100
spawn_only=false
while [ $# -gt 0 ]; do
  case $1 in
    --messages) messages=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --latency-seconds) latency_seconds=$2; shift 2 ;;
    --pgboss-workers) pgboss_workers=$2; shift 2 ;;
    --pgboss-batch) pgboss_batch=$2; shift 2 ;;
    --spawn-only) spawn_only=true; shift ;;
    *) echo "usage: $0 [--messages N] [--concurrency C] [--latency-seconds S] [--pgboss-workers W] [--pgboss-batch B] [--spawn-only]"; exit 2 ;;
  esac
done

if ! $spawn_only; then
  command -v npm >/dev/null || { echo "npm is needed for the graphile-worker and pg-boss baselines"; exit 1; }
  for peer in graphile pgboss; do
    (cd "$top/bench/$peer" && npm ci --no-audit --no-fund --silent >/dev/null)
  done
fi
bench_cluster drain 54510
dir=$BENCH_DIR
port=$BENCH_PORT
sql() { bench_sql "$@"; }

sql -q <<'SQL'
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 0}', register_ref => 'counter'))
  FROM generate_series(1, 1000) i;
CREATE TABLE counters (id int PRIMARY KEY, total bigint NOT NULL);
INSERT INTO counters SELECT i, 0 FROM generate_series(1, 1000) i;
SQL

# (c) reply latency at a steady 1,000 messages/s, on a fresh mailbox.
printf 'reply latency, fresh mailbox:  '
/usr/bin/python3 "$top/bench/reply_latency.py" "$dir" "$port" 1000 "$latency_seconds"

# (a) spawn: every message becomes due at the same moment, 8 s after the enqueue began.
due=$(sql -t -A -c "SELECT clock_timestamp() + interval '8 seconds'")
sql -q -c "SELECT count(spawn.cast('c-' || (1 + i % 1000), 'add', '{\"value\": 1}', scheduled_to => '$due'))
           FROM generate_series(1, $messages) i" >/dev/null
sql -q -c "VACUUM ANALYZE spawn._mailbox"
while [ "$(sql -t -A -c "SELECT clock_timestamp() >= '$due'")" != t ]; do sleep 0.05; done
bench_wait_drained
spawn_seconds=$(sql -t -A -c "SELECT extract(epoch FROM clock_timestamp() - '$due')")
total=$(sql -t -A -c "SELECT sum((spawn.state(name)->>'total')::bigint) FROM spawn.actors WHERE parent = 'counter'")
spawn_rate=$(echo "$messages / $spawn_seconds" | bc -l)
printf 'spawn drain:      %d messages in %.2f s = %.0f messages/s (counters total %s)\n' \
  "$messages" "$spawn_seconds" "$spawn_rate" "$total"
sql -t -A -c "SELECT 'spawn workers: ' || string_agg(format('%s processed %s in %s batches (avg %s, max %s)', kind || ' ' || worker, processed, batches, round(avg_batch, 1), max_batch), '; ') FROM spawn.worker_stats WHERE kind = 'worker'"

# (c) again, right after the burst (dead mailbox rows not yet vacuumed).
printf 'reply latency, after the burst: '
/usr/bin/python3 "$top/bench/reply_latency.py" "$dir" "$port" 1000 "$latency_seconds"
$spawn_only && exit 0

# (b) graphile-worker on the same server.
read -r jobs graphile_seconds < <(node "$top/bench/graphile/drain.js" \
  "postgresql://postgres@localhost:$port/postgres" "$messages" "$concurrency")
graphile_rate=$(echo "$jobs / $graphile_seconds" | bc -l)
printf 'graphile-worker:  %d jobs in %.2f s = %.0f jobs/s (concurrency %d; counters total %s)\n' \
  "$jobs" "$graphile_seconds" "$graphile_rate" "$concurrency" "$(sql -t -A -c "SELECT sum(total) FROM counters")"
printf 'ratio spawn/graphile-worker: %.2f\n' "$(echo "$spawn_rate / $graphile_rate" | bc -l)"

# (b) pg-boss on the same server, counters reset.
sql -q -c "UPDATE counters SET total = 0"
read -r jobs pgboss_seconds < <(node "$top/bench/pgboss/drain.js" \
  "postgresql://postgres@localhost:$port/postgres" "$messages" "$pgboss_workers" "$pgboss_batch")
pgboss_rate=$(echo "$jobs / $pgboss_seconds" | bc -l)
printf 'pg-boss:          %d jobs in %.2f s = %.0f jobs/s (%d workers, batches of %d; counters total %s)\n' \
  "$jobs" "$pgboss_seconds" "$pgboss_rate" "$pgboss_workers" "$pgboss_batch" "$(sql -t -A -c "SELECT sum(total) FROM counters")"
printf 'ratio spawn/pg-boss: %.2f\n' "$(echo "$spawn_rate / $pgboss_rate" | bc -l)"

