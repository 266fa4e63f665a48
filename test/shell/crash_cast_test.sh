#!/usr/bin/env bash
# Nothing lost, nothing twice: 8 clients send 10,000 casts to 100 counters while the postmaster
# is killed with SIGKILL mid-way (workers draining at the same time). Each cast commits together
# with a row in a user table, which records exactly which casts were sent. After restart the
# rest are sent and the mailbox drained: every counter equals the casts it was sent.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster crash_cast 54460
create_incrementor
q <<'SQL' >/dev/null
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
CREATE TABLE sent (counter int NOT NULL);
SQL
work=$SPAWN_TEST_DIR/crash_cast_run
mkdir -p "$work"
cat > "$work/cast.sql" <<'SQL'
\set c random(1, 100)
BEGIN;
INSERT INTO sent VALUES (:c);
SELECT spawn.cast('k-' || :c, 'add', '{"value": 1}', register_ref => 'counter');
COMMIT;
SQL
chmod -R a+rwx "$work"
(cd "$work" && as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -t 1250 -l \
   --log-prefix="$work/tx" -f "$work/cast.sql" postgres >"$work/pgbench.out" 2>&1 || true) &
bench=$!
sleep 2
crash_server KILL
wait "$bench" || true
acked=$(cat "$work"/tx* 2>/dev/null | wc -l)
sent=$(q -c "SELECT count(*) FROM sent")
processed=$(q -c "SELECT coalesce(sum(revision), 0) FROM spawn.actors WHERE parent = 'counter'")
echo "before the crash: $acked casts acknowledged; after recovery: $sent committed, $processed processed"
check_true "the crash came mid-way (some casts sent, not all)" test "$sent" -gt 0 -a "$sent" -lt 10000
check_true "every acknowledged cast is committed" test "$sent" -ge "$acked"

q -c "INSERT INTO sent SELECT 1 + (i % 100) FROM generate_series(1, 10000 - $sent) i;
      SELECT count(spawn.cast('k-' || (1 + (i % 100)), 'add', '{\"value\": 1}', register_ref => 'counter'))
      FROM generate_series(1, 10000 - $sent) i" >/dev/null
wait_mailbox_empty 120
check "the mailbox drained" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"
check "no dead letters" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"
check "10,000 casts in all" 10000 "$(q -c "SELECT count(*) FROM sent")"
check "every counter equals the casts it was sent" 0 "$(q -c "
  SELECT count(*) FROM (SELECT counter, count(*) AS n FROM sent GROUP BY counter) s
  WHERE (spawn.state('k-' || s.counter)->>'total')::bigint IS DISTINCT FROM s.n")"
check "one revision per message, even in batches" 10000 \
  "$(q -c "SELECT sum(revision) FROM spawn.actors WHERE parent = 'counter'")"
check "the counters add up to 10,000" 10000 \
  "$(q -c "SELECT sum((spawn.state(name)->>'total')::bigint) FROM spawn.actors WHERE parent = 'counter'")"
finish
