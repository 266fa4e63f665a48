# Helpers of the scale-out tests: a router and two shards on loopback, each a real server.
# Sourced after helpers.sh. The cluster spawn_shards has 4 partitions: p0 and p2 on shard 0,
# p1 and p3 on shard 1, so an actor's shard is (spawn.shard_hash(system, actor) & 3) % 2.

# shards_start BASE_PORT [extra shard conf]: starts router (BASE_PORT), shard 0 (+1), shard 1
# (+2), installs the extensions, defines the cluster and syncs it; sets ROUTER_DIR, ROUTER_PORT,
# SHARD_DIR[0..1], SHARD_PORT[0..1].
shards_start() {
  local base=$(($1 + SPAWN_PORT_OFFSET)) extra=${2:-}
  ROUTER_DIR=$SPAWN_TEST_DIR/router-$base
  ROUTER_PORT=$base
  SHARD_DIR=("$SPAWN_TEST_DIR/shard0-$base" "$SPAWN_TEST_DIR/shard1-$base")
  SHARD_PORT=($((base + 1)) $((base + 2)))
  cluster_init "$ROUTER_DIR" "$ROUTER_PORT"
  cluster_start "$ROUTER_DIR"
  for i in 0 1; do
    cluster_init "${SHARD_DIR[$i]}" "${SHARD_PORT[$i]}" "$extra"
    cluster_start "${SHARD_DIR[$i]}"
  done
  trap 'shards_stop' EXIT
  for i in 0 1; do
    shard_q "$i" -c "CREATE EXTENSION spawn; CREATE EXTENSION plproxy; CREATE EXTENSION spawn_shard"
  done
  local c0="host=${SHARD_DIR[0]} port=${SHARD_PORT[0]} dbname=postgres"
  local c1="host=${SHARD_DIR[1]} port=${SHARD_PORT[1]} dbname=postgres"
  router_q <<SQL >/dev/null
CREATE EXTENSION plproxy;
CREATE EXTENSION spawn_router;
CREATE SERVER spawn_shards FOREIGN DATA WRAPPER plproxy
  OPTIONS (p0 '$c0', p1 '$c1', p2 '$c0', p3 '$c1');
CREATE USER MAPPING FOR PUBLIC SERVER spawn_shards;
GRANT USAGE ON FOREIGN SERVER spawn_shards TO PUBLIC;
SELECT * FROM spawn.sync_shards('host=$ROUTER_DIR port=$ROUTER_PORT dbname=postgres');
SQL
}

# shards_stop: stops the three servers.
shards_stop() {
  for d in "$ROUTER_DIR" "${SHARD_DIR[@]}"; do cluster_stop "$d" immediate; done
}

# router_q [psql args]: psql against the router database, unaligned, tuples only.
router_q() {
  psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$ROUTER_DIR" -p "$ROUTER_PORT" -U postgres -d postgres "$@"
}

# shard_q N [psql args]: psql against shard N.
shard_q() {
  local i=$1
  shift
  psql -X -q -t -A -v ON_ERROR_STOP=1 -h "${SHARD_DIR[$i]}" -p "${SHARD_PORT[$i]}" -U postgres \
    -d postgres "$@"
}

# on_all_shards [psql args]: runs psql (e.g. a script on stdin) on both shards.
on_all_shards() {
  local script
  script=$(cat)
  for i in 0 1; do printf '%s\n' "$script" | shard_q "$i" "$@" >/dev/null; done
}

# shard_of SYSTEM ACTOR: 0 or 1, the shard that holds the actor.
shard_of() {
  router_q -c "SELECT (spawn.shard_hash('$1', '$2') & 3) % 2"
}

# router_sqlstate ROLE SQL: the SQLSTATE the statement fails with on the router as ROLE, or nothing.
router_sqlstate() {
  psql -X -q -t -A -h "$ROUTER_DIR" -p "$ROUTER_PORT" -U "$1" -d postgres -c "\\set VERBOSITY sqlstate" \
    -c "$2" 2>&1 >/dev/null | grep -oE '^ERROR:  [0-9A-Z]{5}' | awk '{print $2}' || true
}

# shard_crash N: kills shard N's postmaster with SIGKILL and starts it again (crash recovery).
shard_crash() {
  local dir=${SHARD_DIR[$1]} pid
  pid=$(as_pg head -n 1 "$dir/data/postmaster.pid")
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  for _ in $(seq 1 100); do
    as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "shard $1 did not restart after the crash"
  return 1
}
