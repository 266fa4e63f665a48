#!/usr/bin/env bash
# Benchmark of actions served by an external actor host (the Node test host, test/hosts), in one
# run on one server, at 1 and 8 clients:
#   external  spawn.invoke('c-<n>', 'add') on a random one of 1,000 unnamed incrementors whose
#             actions the host serves
#   sql       the same through the SQL incrementor handler
#   http      the bare HTTP round trip: wrk posting the same ActorInvocation to the host (the limit)
# The target compares external with one HTTP round trip plus one SQL invoke, whose combined rate
# is 1 / (1/http + 1/sql). Then casts drained through the host vs. through the SQL handler.
#
# Usage: bench/external_bench.sh [--seconds S] [--casts N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
casts=5000
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --casts) casts=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--casts N]"; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
[ -d "$top/test/hosts/node_modules" ] || (cd "$top/test/hosts" && npm ci --no-audit --no-fund --loglevel=error)

bench_cluster external 54570 "checkpoint_timeout = '30min'"
dir=$BENCH_DIR
sql() { bench_sql "$@"; }
host_port=$((18190 + SPAWN_PORT_OFFSET))
(cd "$top/test/hosts" && HOST_PORT=$host_port exec node host.js) >"$dir/host.log" 2>&1 &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null; cluster_stop "$dir"; rm -rf "$dir"' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$host_port/control/counts"; do sleep 0.1; done

sql -q <<SQL
SELECT spawn.register_host('bench', 'http://127.0.0.1:$host_port');
SELECT spawn.create_system('ext');
SELECT spawn.register_actor('incrementor', system => 'ext', kind => 'unnamed', host => 'bench');
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 1}', system => 'ext', register_ref => 'incrementor'))
  FROM generate_series(1, 1000) i;
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 1}', register_ref => 'counter'))
  FROM generate_series(1, 1000) i;
VACUUM ANALYZE;
CHECKPOINT;
SQL

scripts=$dir/scripts
mkdir -p "$scripts"
cat > "$scripts/external.sql" <<'S'
\set id random(1, 1000)
SELECT spawn.invoke('c-' || :id, 'add', '{"value": 1}', system => 'ext');
S
cat > "$scripts/sql.sql" <<'S'
\set id random(1, 1000)
SELECT spawn.invoke('c-' || :id, 'add', '{"value": 1}');
S
node "$top/test/hosts/tool.js" invocation \
  '{"actor": {"name": "c-1", "system": "ext", "parent": "incrementor"}, "action": "add", "state": {"total": 1}, "payload": {"value": 1}}' \
  >"$scripts/invocation.bin"
cat > "$scripts/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
local file = io.open("$scripts/invocation.bin", "rb")
wrk.body = file:read("*a")
file:close()
LUA
chmod -R a+rX "$scripts"

# http_rps CLIENTS: requests per second of the bare round trip to the host.
http_rps() {
  wrk -t "$(($1 < 2 ? 1 : 2))" -c "$1" -d "${seconds}s" -s "$scripts/post.lua" \
    "http://127.0.0.1:$host_port/api/v1/actors/actions" | awk '/^Requests\/sec:/ {printf "%.0f", $2}'
}

echo "== invoke through the external host ($seconds s per run; ratios matter, not absolutes)"
printf '%-8s %10s %10s %10s %12s %12s\n' clients external sql http "ext/(h+s)" "ext/sql"
for clients in 1 8; do
  ext=$(bench_tps "$scripts/external.sql" "$clients" "$seconds")
  local_rate=$(bench_tps "$scripts/sql.sql" "$clients" "$seconds")
  http=$(http_rps "$clients")
  combined=$(echo "1 / (1 / $http + 1 / $local_rate)" | bc -l)
  printf '%-8s %10s %10s %10s %12.2f %12.2f\n' "$clients" "$ext" "$local_rate" "$http" \
    "$(echo "$ext / $combined" | bc -l)" "$(echo "$ext / $local_rate" | bc -l)"
  # At one client each rate is one call at a time: the external call's time beyond one SQL invoke
  # plus one bare round trip is what the host call costs on top of the limit (docs/benchmarks.md).
  if [ "$clients" = 1 ]; then
    printf '  per call at 1 client: external %.3f ms, sql %.3f ms, http %.3f ms, external - (sql + http) %.3f ms\n' \
      "$(echo "1000 / $ext" | bc -l)" "$(echo "1000 / $local_rate" | bc -l)" \
      "$(echo "1000 / $http" | bc -l)" "$(echo "1000 / $ext - 1000 / $local_rate - 1000 / $http" | bc -l)"
  fi
done

echo "== $casts casts drained (1,000 actors, spawn.workers = 2)"
# drain_seconds SYSTEM: casts to every actor of the system, then the seconds until drained.
drain_seconds() {
  local start
  sql -q -c "SELECT spawn.cast('c-' || (1 + i % 1000), 'add', '{\"value\": 1}', system => '$1')
             FROM generate_series(1, $casts) i" >/dev/null
  start=$(date +%s.%N)
  bench_wait_drained
  echo "$(date +%s.%N) - $start" | bc -l
}
ext_drain=$(drain_seconds ext)
sql_drain=$(drain_seconds spawn-system)
printf 'external: %.0f messages/s   sql: %.0f messages/s   ratio %.2f\n' \
  "$(echo "$casts / $ext_drain" | bc -l)" "$(echo "$casts / $sql_drain" | bc -l)" \
  "$(echo "$sql_drain / $ext_drain" | bc -l)"
