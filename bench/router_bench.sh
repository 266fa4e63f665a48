#!/usr/bin/env bash
# Benchmark of sharding through spawn_router, in one run on this machine: a router and two
# shards on loopback (test/shell/shards.sh), 8 pgbench clients invoking the SQL incrementor on a
# random one of 2,000 unnamed actors.
#   direct    spawn.invoke straight to shard 0, all actors there (the baseline)
#   router-1  the same calls through the router, all partitions on shard 0 (the router's cost)
#   router-2  through the router with the partitions split over both shards
# Prints TPS and ratios against `direct`. Every server and pgbench share this machine's cores,
# so router-2 measures the routing, not the capacity of two machines (docs/scale-out.md).
#
# Usage: bench/router_bench.sh [--seconds S] [--clients N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
seconds=10
clients=8
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--clients N]"; exit 2 ;;
  esac
done
source "$top/scripts/lib.sh"
build_and_install
SPAWN_TEST_DIR=$(mktemp -d /tmp/spawn-router-bench.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres: "$SPAWN_TEST_DIR"
source "$top/test/shell/shards.sh"
shards_start 54590 "shared_buffers = '256MB'
max_wal_size = '4GB'"
trap 'shards_stop; rm -rf "$SPAWN_TEST_DIR"' EXIT
incrementor_sql | on_all_shards
c0="host=${SHARD_DIR[0]} port=${SHARD_PORT[0]} dbname=postgres"
c1="host=${SHARD_DIR[1]} port=${SHARD_PORT[1]} dbname=postgres"
router_sync="SELECT count(*) FROM spawn.sync_shards('host=$ROUTER_DIR port=$ROUTER_PORT dbname=postgres')"
router_q -c "ALTER SERVER spawn_shards OPTIONS (SET p1 '$c0', SET p3 '$c0')" -c "$router_sync" >/dev/null
router_q -c "SELECT spawn.register_actor('counter', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
router_q -c "SELECT count(spawn.invoke('c-' || i, 'add', '{\"value\": 1}', register_ref => 'counter')) FROM generate_series(1, 2000) i" >/dev/null

# tps HOST PORT PREFIX: invoke throughput of one run on actors PREFIX1 to PREFIX2000.
tps() {
  local script=$SPAWN_TEST_DIR/invoke-$3sql
  printf '\\set id random(1, 2000)\nSELECT spawn.invoke(%s || :id, %s, %s);\n' "'$3'" "'add'" \
    "'{\"value\": 1}'" >"$script"
  pgbench -n -M prepared -h "$1" -p "$2" -U postgres -c "$clients" -j 2 -T "$seconds" \
    -f "$script" postgres 2>&1 | awk '/^tps = / {printf "%.0f", $3}'
}
direct=$(tps "${SHARD_DIR[0]}" "${SHARD_PORT[0]}" c-)
one=$(tps "$ROUTER_DIR" "$ROUTER_PORT" c-)

router_q -c "ALTER SERVER spawn_shards OPTIONS (SET p1 '$c1', SET p3 '$c1')" -c "$router_sync" >/dev/null
# A new shard gets the definitions by registering them again (docs/scale-out.md, adding a shard).
router_q -c "SELECT spawn.register_actor('counter', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
router_q -c "SELECT count(spawn.invoke('d-' || i, 'add', '{\"value\": 1}', register_ref => 'counter')) FROM generate_series(1, 2000) i" >/dev/null
split="$(shard_q 0 -c "SELECT count(*) FROM spawn.actors WHERE name LIKE 'd-%'")/$(shard_q 1 -c "SELECT count(*) FROM spawn.actors WHERE name LIKE 'd-%'")"
two=$(tps "$ROUTER_DIR" "$ROUTER_PORT" d-)

ratio() { echo "scale=2; $1 / $2" | bc; }
echo "router benchmark: $clients clients, ${seconds}s per run, $(nproc) cores shared by 3 servers and pgbench"
printf '%-10s %8s %8s\n' run tps ratio
printf '%-10s %8s %8s\n' direct "$direct" 1.00
printf '%-10s %8s %8s\n' router-1 "$one" "$(ratio "$one" "$direct")"
printf '%-10s %8s %8s   (actors split %s)\n' router-2 "$two" "$(ratio "$two" "$direct")" "$split"
