#!/usr/bin/env bash
# Benchmark of the HTTP gateway (not a test), in one run on one server, at 1, 8 and 32 clients
# with kept-alive connections:
#   gateway  InvocationRequests of "add" on a random one of 1,000 SQL incrementors, posted to
#            the gateway by wrk (bench/gateway_invoke.lua)
#   pgbench  SELECT spawn.invoke(...) on the same actors through pgbench (prepared)
#   health   GET /health through wrk: the HTTP floor
# Prints requests/s and the ratio gateway / pgbench, then p50 and p99 latency at about 1,000
# requests/s (8 connections each pausing 8 ms between requests).
#
# Usage: bench/gateway_bench.sh [--seconds S] [--http-workers N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
http_workers=2
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --http-workers) http_workers=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--http-workers N]"; exit 2 ;;
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

echo "gateway invoke vs pgbench spawn.invoke, ${seconds}s per row, $http_workers gateway process(es)"
printf '%-8s %10s %10s %8s %10s\n' clients gateway pgbench ratio health
for clients in 1 8 32; do
  g=$(wrk_rps "$clients" invoke 1000)
  p=$(bench_tps "$script" "$clients" "$seconds")
  h=$(wrk_rps "$clients" /health)
  printf '%-8s %10s %10s %8s %10s\n' "$clients" "$g" "$p" "$(echo "scale=2; $g / $p" | bc)" "$h"
done
echo "latency at about 1,000 requests/s (8 connections, 8 ms pause each):"
wrk -t 2 -c 8 -d "${seconds}s" -s "$top/bench/gateway_invoke.lua" "$url" -- 1000 8 |
  awk '/^Requests\/sec:/ {printf "requests/s=%.0f ", $2} /^p50_us/ {print}'
