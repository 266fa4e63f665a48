#!/usr/bin/env bash
# DROP EXTENSION spawn while 8 clients cast in a loop and the workers drain: it succeeds at the
# first try, no mailbox worker stays behind in the database, and no worker's message fails
# with a deadlock. CREATE EXTENSION brings the workers back.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster dropext 55504 "spawn.workers = 3
spawn.max_workers_per_role = 3
spawn.batch_size = 50"

setup() {
  q <<'SQL' >/dev/null
CREATE OR REPLACE FUNCTION public.slow_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(0.002);
  RETURN spawn.noreply(jsonb_build_object('total', coalesce((state->>'total')::int, 0) + 1));
END $$;
SELECT spawn.register_actor('counter-' || i, actions => '{"add": "public.slow_add"}') FROM generate_series(1, 8) i;
SQL
}
setup
script=$DIR/cast.sql
cat >"$script" <<'SQL'
\set n random(1, 8)
SELECT spawn.cast('counter-' || :n, 'add', '{"value": 1}');
SQL
chmod a+r "$script"
pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -T 8 -f "$script" postgres >"$DIR/pgbench.log" 2>&1 &
bench=$!
sleep 3
check "workers are draining" t "$(q -c "SELECT count(*) > 0 FROM spawn._mailbox")"
out=$(q -v ON_ERROR_STOP=0 -c "DROP EXTENSION spawn CASCADE" 2>&1 || true)
check "DROP EXTENSION succeeds at the first try" "" "$(grep -E 'ERROR' <<<"$out" || true)"
sleep 0.5
check "no mailbox worker stays behind" 0 \
  "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'spawn worker'")"
wait "$bench" || true
check "no worker met a deadlock" 0 "$(as_pg grep -c 'deadlock detected' "$DIR/server.log" || true)"
check "no worker logged a failed drain" 0 "$(as_pg grep -c 'draining the mailbox failed' "$DIR/server.log" || true)"
sleep 2
check "still none after the clients stopped" 0 \
  "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'spawn worker'")"

q -c "CREATE EXTENSION spawn" >/dev/null
setup
q -c "SELECT spawn.cast('counter-1', 'add')" >/dev/null
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT spawn.state('counter-1')")" == '{"total": 1}' ] && break
  sleep 0.2
done
check "after CREATE EXTENSION the workers are back and run casts" '{"total": 1}' \
  "$(q -c "SELECT spawn.state('counter-1')")"
check "all 3 of them" 3 "$(q -c "SELECT workers_running FROM spawn.scheduler")"

# A DROP that rolls back leaves the workers running.
q -c "BEGIN; DROP EXTENSION spawn CASCADE; ROLLBACK;" >/dev/null
sleep 2
check "a rolled-back DROP brings the workers back" 3 "$(q -c "SELECT workers_running FROM spawn.scheduler")"
q -c "SELECT spawn.cast('counter-1', 'add')" >/dev/null
sleep 1
check "and they run casts" '{"total": 2}' "$(q -c "SELECT spawn.state('counter-1')")"
finish
