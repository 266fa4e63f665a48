# Shared shell helpers of scripts/ and test/: running as the postgres user when root, and
# creating, starting and stopping a cluster that preloads spawn with a state store key.

# PG_BIN may name another installation (e.g. a private copy); Debian's PostgreSQL 15 by default.
: "${PG_BIN:=/usr/lib/postgresql/15/bin}"
# SPAWN_PORT_OFFSET shifts every port the tests and benchmarks use, so two checkouts can run at once.
: "${SPAWN_PORT_OFFSET:=0}"
export SPAWN_PORT_OFFSET
[ -x "$PG_BIN/pg_config" ] || PG_BIN=$(pg_config --bindir)
export PATH="$PG_BIN:$PATH"

# Runs a command as the postgres user when invoked as root (PostgreSQL refuses to run as root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Prints a fresh random state store key (32 bytes, base64).
new_key() {
  head -c 32 /dev/urandom | base64
}

# Builds and installs the extension (make install needs root, or sudo).
build_and_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  make -s -j"$(nproc)" PG_CONFIG="$PG_BIN/pg_config" >/dev/null
  $sudo make -s install PG_CONFIG="$PG_BIN/pg_config" >/dev/null
}

# cluster_init DIR PORT [extra conf lines]: initdb DIR/data (if absent) with spawn preloaded.
cluster_init() {
  local dir=$1 port=$2 extra=${3:-}
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  [ -f "$dir/data/PG_VERSION" ] && return 0
  as_pg initdb -D "$dir/data" -A trust -U postgres >/dev/null
  as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
# spawn
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$dir'
shared_preload_libraries = 'spawn'
spawn.statestore_key_file = 'spawn.key'
max_connections = 100
$extra
CONF
  write_key_file "$dir/data/spawn.key" "$(new_key)"
}

# write_key_file PATH KEYS: writes the state store keys (one per line, the active one first) to
# a file only the server's user can read.
write_key_file() {
  printf '%s\n' "$2" | as_pg tee "$1" >/dev/null
  as_pg chmod 600 "$1"
}

# cluster_start DIR: starts the cluster if it is not running.
cluster_start() {
  local dir=$1
  as_pg pg_ctl -D "$dir/data" status >/dev/null 2>&1 && return 0
  as_pg pg_ctl -c -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

# cluster_stop DIR [mode]: stops the cluster (mode fast by default, or immediate).
cluster_stop() {
  local dir=$1 mode=${2:-fast}
  as_pg pg_ctl -D "$dir/data" -m "$mode" -w stop >/dev/null 2>&1 || true
}

# cluster_psql DIR PORT [psql args]: psql as postgres against the cluster.
cluster_psql() {
  local dir=$1 port=$2
  shift 2
  psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres "$@"
}

# The seed's SQL incrementor handler (public.incrementor_add), as SQL for psql.
incrementor_sql() {
  cat <<'SQL'
CREATE OR REPLACE FUNCTION public.incrementor_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s
$$;
SQL
}

# bench_cluster NAME PORT [extra conf]: builds, then starts a throw-away cluster for a benchmark
# with spawn created; sets BENCH_DIR and BENCH_PORT, defines bench_sql, removes it on exit.
bench_cluster() {
  build_and_install
  BENCH_DIR=$(mktemp -d "/tmp/spawn-$1.XXXXXX")
  BENCH_PORT=$(($2 + SPAWN_PORT_OFFSET))
  cluster_init "$BENCH_DIR" "$BENCH_PORT" "shared_buffers = '256MB'
max_wal_size = '4GB'
${3:-}"
  cluster_start "$BENCH_DIR"
  trap 'cluster_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"' EXIT
  bench_sql -q -c "CREATE EXTENSION spawn"
  incrementor_sql | bench_sql -q
}

# bench_sql [psql args]: psql against the benchmark cluster.
bench_sql() { cluster_psql "$BENCH_DIR" "$BENCH_PORT" -d postgres "$@"; }

# bench_tps SCRIPT CLIENTS SECONDS: runs a pgbench script (prepared statements) against the
# benchmark cluster and prints its transactions per second. PGOPTIONS passes settings.
bench_tps() {
  pgbench -n -M prepared -h "$BENCH_DIR" -p "$BENCH_PORT" -U postgres -c "$2" \
    -j "$(($2 < 2 ? 1 : 2))" -T "$3" -f "$1" postgres 2>&1 | awk '/^tps = / {printf "%.0f", $3}'
}

# bench_instructions LABEL PREPARE WARM IDS N1 N2 [KEEP_DIR]: load-independent CPU cost of a
# prepared statement `call(int)` (PREPARE defines it): with the benchmark cluster stopped, a
# single-user backend (postgres --single, synchronous_commit off, more options in
# BENCH_SINGLE_OPTS) runs WARM warm-up calls on ids 1, 2, ... (wrapping at IDS) and then N1,
# and another N2, calls on spread-out ids in 1..IDS under valgrind's callgrind; prints the
# difference of their instruction counts divided by N2 - N1, free of start-up and shutdown.
# KEEP_DIR keeps the callgrind files as callgrind.LABEL.N (bench/callgrind_diff.py compares
# two of them function by function).
bench_instructions() {
  local label=$1 prepare=$2 warm=$3 ids=$4 n1=$5 n2=$6 keep=${7:-} n i out
  local totals=()
  for n in "$n1" "$n2"; do
    out=$BENCH_DIR/callgrind.$label.$n
    {
      echo "$prepare"
      for i in $(seq 1 "$warm"); do echo "EXECUTE call($(((i - 1) % ids + 1)));"; done
      for i in $(seq 1 "$n"); do echo "EXECUTE call($(((i * 7919) % ids + 1)));"; done
    } > "$BENCH_DIR/input.sql"
    chmod a+r "$BENCH_DIR/input.sql"
    # shellcheck disable=SC2086
    as_pg valgrind --tool=callgrind --callgrind-out-file="$out" "$PG_BIN/postgres" --single \
      -D "$BENCH_DIR/data" -c synchronous_commit=off ${BENCH_SINGLE_OPTS:-} postgres \
      < "$BENCH_DIR/input.sql" >"$BENCH_DIR/output.log" 2>"$BENCH_DIR/valgrind.log"
    if grep -qE 'ERROR|FATAL' "$BENCH_DIR/output.log" "$BENCH_DIR/valgrind.log"; then
      grep -hm 3 -E 'ERROR|FATAL' "$BENCH_DIR/output.log" "$BENCH_DIR/valgrind.log" >&2
      return 1
    fi
    totals+=("$(awk '/^summary:/ {print $2}' "$out")")
    if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$out" "$keep/"; fi
  done
  echo $(((totals[1] - totals[0]) / (n2 - n1)))
}

# bench_wait_drained: waits until the benchmark cluster's mailbox is empty.
bench_wait_drained() {
  while [ "$(bench_sql -t -A -c "SELECT count(*) FROM spawn._mailbox")" != 0 ]; do sleep 0.05; done
}
