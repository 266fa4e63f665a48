#!/usr/bin/env bash
# Benchmark of the HTTP gateway (not a test), in one run on one server, at 1, 8 and 32 clients
# with kept-alive connections:
#   gateway  InvocationRequests of "add" on a random one of 1,000 SQL incrementors, posted to
#            the gateway by wrk (bench/gateway_invoke.lua), with batches (spawn.http_batch_size,
#            default 32) and without (batch size 1: one transaction per request, as before)
#   pgbench  SELECT spawn.invoke(...) on the same actors through pgbench (prepared)
#   health   GET /health through wrk: the HTTP floor
# Prints requests/s and the ratios gateway / pgbench, then the latency at a paced 1,000
# requests/s: the gateway through bench/gateway_paced.py (open loop, 32 connections) and
# pgbench -R 1000 (8 clients) on the same actors, both measured from each request's due time.
#
# Usage: bench/gateway_bench.sh [--seconds S] [--http-workers N] [--rate R]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
http_workers=2
rate=1000
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --http-workers) http_workers=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--http-workers N] [--rate R]"; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh installs it"; exit 1; }
http_port=$((19101 + SPAWN_PORT_OFFSET))
bench_cluster gateway 54510 "spawn.http_port = $http_port
spawn.http_workers = $http_workers
spawn.http_role = 'bench_gateway'
max_connections = 200
max_worker_processes = 32"
bench_sql -q <<'SQL'
CREATE ROLE bench_gateway;
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.grant('invoke', 'counter', 'bench_gateway');
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 0}', register_ref => 'counter'))
  FROM generate_series(1, 1000) i;
SQL
url="http://127.0.0.1:$http_port"
for _ in $(seq 1 100); do curl -sf -o /dev/null "$url/health" && break; sleep 0.1; done
curl -sf -o /dev/null "$url/health" || { echo "the gateway did not start"; exit 1; }
script=$(mktemp /tmp/spawn-gateway-bench.XXXXXX.sql)
trap 'rm -f "$script"; cluster_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"' EXIT
printf '%s\n' '\set id random(1, 1000)' \
  "SELECT spawn.invoke('c-' || :id, 'add', '{\"value\": 1}');" >"$script"

# wrk_rps CLIENTS PATH [lua args...]: requests/s of wrk against the gateway.
wrk_rps() {
  local clients=$1 path=$2
  shift 2
  local lua=()
  [ "$path" = invoke ] && lua=(-s "$top/bench/gateway_invoke.lua" "$url" -- "$@") || lua=("$url$path")
  wrk -t "$((clients < 2 ? 1 : 2))" -c "$clients" -d "${seconds}s" "${lua[@]}" |
    awk '/^Requests\/sec:/ {printf "%.0f", $2}'
}

# batch_size N: sets spawn.http_batch_size and waits for the gateway to reload it.
batch_size() {
  bench_sql -q -c "ALTER SYSTEM SET spawn.http_batch_size = $1" -c "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
}

# pgbench_paced RATE: p50/p90/p99 of pgbench at a fixed rate, from its per-transaction log
# (latency from each transaction's scheduled start).
pgbench_paced() {
  local logs
  logs=$(mktemp -d /tmp/spawn-gateway-bench-log.XXXXXX)
  (cd "$logs" && pgbench -n -M prepared -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres -c 8 -j 2 \
    -R "$1" -T "$seconds" -l -f "$script" postgres >"$logs/out" 2>&1)
  cat "$logs"/pgbench_log.* | python3 -c '
import sys
lat = sorted(int(line.split()[2]) / 1000 for line in sys.stdin if line.strip())
pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
print(f"rate={len(lat) / '"$seconds"':.0f} p50_ms={pct(50):.2f} p90_ms={pct(90):.2f} p99_ms={pct(99):.2f} max_ms={lat[-1]:.2f}")'
  rm -rf "$logs"
}

echo "gateway invoke (batches, and one transaction per request) vs pgbench spawn.invoke,"
echo "${seconds}s per row, $http_workers gateway process(es)"
printf '%-8s %9s %9s %9s %7s %7s %9s\n' clients batched single pgbench b/pg s/pg health
for clients in 1 8 32; do
  batch_size 32
  g=$(wrk_rps "$clients" invoke 1000)
  batch_size 1
  u=$(wrk_rps "$clients" invoke 1000)
  batch_size 32
  p=$(bench_tps "$script" "$clients" "$seconds")
  h=$(wrk_rps "$clients" /health)
  printf '%-8s %9s %9s %9s %7s %7s %9s\n' "$clients" "$g" "$u" "$p" \
    "$(echo "scale=2; $g / $p" | bc)" "$(echo "scale=2; $u / $p" | bc)" "$h"
done
echo "latency at $rate requests/s, from each request's due time:"
echo "gateway (batches)  $(python3 "$top/bench/gateway_paced.py" "$url" "$rate" "$seconds" 1000 32)"
batch_size 1
echo "gateway (single)   $(python3 "$top/bench/gateway_paced.py" "$url" "$rate" "$seconds" 1000 32)"
batch_size 32
echo "pgbench            $(pgbench_paced "$rate")"
