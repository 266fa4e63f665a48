#!/usr/bin/env bash
# Single writer under load: 32 pgbench clients x 1,000 invokes on one actor end at exactly
# 32,000. Different actors and pooled actors do not wait for each other, and spawn's locks
# never collide with a user's advisory locks.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster concurrency 54410
create_incrementor
q -c "SELECT spawn.register_actor('hot', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('other', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('pool', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'pooled')" >/dev/null

script=$SPAWN_TEST_DIR/hot.sql
echo "SELECT spawn.invoke('hot', 'add', '{\"value\": 1}');" > "$script"
chmod 644 "$script"
pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 32 -j 2 -t 1000 -f "$script" postgres >"$SPAWN_TEST_DIR/pgbench.out" 2>&1 ||
  { cat "$SPAWN_TEST_DIR/pgbench.out"; exit 1; }
check "32 clients x 1000 invokes" '{"total": 32000}' "$(q -c "SELECT spawn.invoke('hot', 'get')")"
check "one revision per invoke" 32000 "$(q -c "SELECT revision FROM spawn.actors WHERE name = 'hot'")"

# A transaction holds 'hot' for 8 seconds (room for slow psql starts on a loaded machine);
# meanwhile other actors proceed and 'hot' waits.
q -c "BEGIN; SELECT spawn.invoke('hot', 'add', '{\"value\": 1}'); SELECT pg_sleep(8); COMMIT;" >/dev/null &
holder=$!
sleep 1
check "the held actor's lock is in spawn's own advisory class" 1 \
  "$(q -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 21328 AND granted")"
check "another actor is not blocked" '{"total": 1}' \
  "$(q -c "SET lock_timeout = '500ms'; SELECT spawn.invoke('other', 'add', '{\"value\": 1}')")"
check "a pooled actor is not blocked" '{"total": 1}' \
  "$(q -c "SET lock_timeout = '500ms'; SELECT spawn.invoke('pool', 'add', '{\"value\": 1}')")"
waited=$(q -c "SET lock_timeout = '500ms'; SELECT spawn.invoke('hot', 'get')" 2>&1 || true)
check "the held actor waits for its writer" 1 "$(grep -c 'due to lock timeout' <<<"$waited")"
check "user advisory locks with the same keys do not collide" t \
  "$(q -c "SELECT bool_and(pg_try_advisory_lock(classid::int, objid::int)) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 21328 AND granted")"
wait "$holder"
check "the holder's invoke committed after the wait" '{"total": 32001}' "$(q -c "SELECT spawn.invoke('hot', 'get')")"

# A waiter reads the newest row once the holder is gone: when the holder replaced the row
# meanwhile (deleted, then inserted again: a new row version with no link from the old one),
# the waiter finds the new one and writes on top of it.
q -c "SELECT spawn.register_actor('reborn', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.invoke('reborn', 'add', '{\"value\": 100}')" >/dev/null
q <<'SQL' >/dev/null &
BEGIN;
SELECT spawn.invoke('reborn', 'add', '{"value": 1}');
SELECT pg_sleep(3);
CREATE TEMP TABLE reborn_row AS SELECT * FROM spawn._instances WHERE name = 'reborn';
DELETE FROM spawn._instances WHERE name = 'reborn';
INSERT INTO spawn._instances SELECT * FROM reborn_row;
COMMIT;
SQL
holder=$!
sleep 1
check "the waiter reads the replaced row" '{"total": 111}' \
  "$(q -c "SELECT spawn.invoke('reborn', 'add', '{\"value\": 10}')")"
wait "$holder"
check "and its write is the latest state" '{"total": 111}' "$(q -c "SELECT spawn.invoke('reborn', 'get')")"
finish
