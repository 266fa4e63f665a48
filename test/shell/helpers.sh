# Helpers of the shell tests: a private cluster per test, assertions that count failures.
# Sourced by test/shell/*_test.sh; SPAWN_TEST_DIR is set by scripts/test.sh (or a temp dir).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../../scripts/lib.sh"
: "${SPAWN_TEST_DIR:=$(mktemp -d /tmp/spawn-shell.XXXXXX)}"
[ "$(id -u)" -eq 0 ] && chown postgres: "$SPAWN_TEST_DIR"
failures=0

# test_cluster NAME PORT [extra conf]: creates and starts a cluster with spawn installed;
# sets DIR and PORT for q and the other helpers.
test_cluster() {
  DIR=$SPAWN_TEST_DIR/$1
  PORT=$(($2 + SPAWN_PORT_OFFSET))
  cluster_init "$DIR" "$PORT" "${3:-}"
  cluster_start "$DIR"
  q -c "CREATE EXTENSION IF NOT EXISTS spawn" >/dev/null
  trap 'cluster_stop "$DIR" immediate' EXIT
}

# q [psql args]: runs psql against the test cluster, unaligned and tuples only.
q() {
  psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d postgres "$@"
}

# as ROLE [psql args]: psql as another (ordinary) role, in a new session.
as() {
  local role=$1
  shift
  psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U "$role" -d postgres "$@"
}

# sqlstate ROLE SQL: the SQLSTATE the statement fails with as that role, or nothing.
sqlstate() {
  as "$1" -v ON_ERROR_STOP=0 -c "\\set VERBOSITY sqlstate" -c "$2" 2>&1 >/dev/null |
    grep -oE '^ERROR:  [0-9A-Z]{5}' | awk '{print $2}' || true
}

# create_alice_and_bob: two ordinary login roles that may create schemas, for attacker tests.
create_alice_and_bob() {
  q -c "CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; GRANT CREATE ON DATABASE postgres TO alice, bob" >/dev/null
}

# create_alice_counter: alice's schema (usable by all) and her counter handler alice.add.
create_alice_counter() {
  as alice <<'SQL' >/dev/null
CREATE SCHEMA alice;
GRANT USAGE ON SCHEMA alice TO PUBLIC;
CREATE FUNCTION alice.add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + 1 AS t) s
$$;
SQL
}

# check DESCRIPTION EXPECTED ACTUAL: counts a failure when they differ.
check() {
  if [ "$2" == "$3" ]; then
    echo "ok - $1"
  else
    echo "not ok - $1: expected [$2], got [$3]"
    failures=$((failures + 1))
  fi
}

# check_true DESCRIPTION COMMAND...: counts a failure when the command fails.
check_true() {
  local what=$1
  shift
  if "$@"; then echo "ok - $what"; else echo "not ok - $what"; failures=$((failures + 1)); fi
}

# finish: exits non-zero when any check failed.
finish() {
  [ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
}

# wait_for SQL EXPECTED [SECONDS]: polls until the query returns EXPECTED (20 s at the most) and
# prints what it returned last.
wait_for() {
  local got=""
  for _ in $(seq 1 $((${3:-20} * 5))); do
    got=$(q -c "$1")
    [ "$got" == "$2" ] && { echo "$got"; return 0; }
    sleep 0.2
  done
  echo "$got"
}

# wait_mailbox_empty SECONDS: waits until the mailbox is empty, for SECONDS at the most (the
# caller then checks what it expects).
wait_mailbox_empty() {
  local deadline=$(($(date +%s) + $1))
  while [ "$(q -c "SELECT count(*) FROM spawn._mailbox")" != 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
  done
}

# create_incrementor: the SQL incrementor handler used by several tests.
create_incrementor() {
  incrementor_sql | q
}

# crash_server [SIGNAL]: kills the postmaster (SIGKILL by default), waits for it to go and
# restarts the server, which performs crash recovery.
crash_server() {
  local pid
  pid=$(as_pg head -n 1 "$DIR/data/postmaster.pid")
  kill "-${1:-KILL}" "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  for _ in $(seq 1 100); do
    as_pg pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "server did not restart after the crash"
  return 1
}
