#!/usr/bin/env bash
# A busy actor's waiter looks its row up in the index before it waits for the actor's lock, and
# once the lock is its own reads the row again from that index entry's HOT chain (no second
# index descent; src/invoke.cpp, OpenLocked). Whatever the lock's holder or others did to the row
# meanwhile, the waiter must read the newest committed version or fall back to the index, never
# a stale or foreign one. Each case has a holder session keep the lock (idle in its transaction)
# while a waiter queues behind it; the waiter prints its reply and the number of index scans of
# the instances' key its transaction made (1: the chain was followed; 2: it fell back).
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster refetch 54445 "spawn.workers = 0"
create_incrementor
q -c "CREATE EXTENSION IF NOT EXISTS pageinspect" >/dev/null
never="deactivate_timeout => 315360000000, snapshot_timeout => 315360000000"
q -c "SELECT spawn.register_actor('ctr', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed', $never)" >/dev/null

# locks CONDITION: SQL counting the actor locks that meet CONDITION.
locks() {
  echo "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 21328 AND $1)"
}

# hold SQL: a session runs SQL in an open transaction and stays idle in it (no snapshot held,
# so VACUUM can clean up behind it) until release.
hold() {
  local fifo=$SPAWN_TEST_DIR/holder.fifo
  rm -f "$fifo" && mkfifo "$fifo"
  q <"$fifo" >"$SPAWN_TEST_DIR/holder.out" 2>&1 &
  holder=$!
  exec 3>"$fifo"
  echo "BEGIN; $1" >&3
  wait_for "SELECT $(locks granted) > 0" t >/dev/null
}

# release [COMMIT|ROLLBACK]: ends the holder's transaction.
release() {
  echo "${1:-COMMIT};" >&3
  exec 3>&-
  wait "$holder"
}

# queue ACTOR VALUE: a waiter invokes 'add' in the background; returns once it waits for the lock.
queue() {
  q >"$SPAWN_TEST_DIR/waiter.out" 2>&1 <<SQL &
BEGIN;
SELECT spawn.invoke('$1', 'add', '{"value": $2}');
SELECT pg_stat_get_xact_numscans('spawn._instances_system_name_key'::regclass);
COMMIT;
SQL
  waiter=$!
  wait_for "SELECT $(locks "NOT granted") = 1" t >/dev/null
}

# waited: the waiter's reply and index scans, on one line.
waited() {
  wait "$waiter" || true
  tr '\n' ' ' <"$SPAWN_TEST_DIR/waiter.out" | sed 's/ $//'
}

# spawn_with ACTOR TOTAL: a new active instance whose state is {"total": TOTAL}.
spawn_with() {
  q -c "SELECT spawn.spawn_actor('$1', 'ctr'); SELECT spawn.invoke('$1', 'add', '{\"value\": $2}')" >/dev/null
}

# The measure itself: an invoke that finds its lock free descends the index once.
spawn_with free 1
check "an uncontended invoke scans the key index once" '{"total": 2} 1' \
  "$(q -c "BEGIN; SELECT spawn.invoke('free', 'add', '{\"value\": 1}'); SELECT pg_stat_get_xact_numscans('spawn._instances_system_name_key'::regclass); COMMIT" | tr '\n' ' ' | sed 's/ $//')"

# The holder writes a new version (a HOT update) and commits: the waiter follows the chain to it.
spawn_with hot 1
hold "SELECT spawn.invoke('hot', 'add', '{\"value\": 1}');"
queue hot 10
release
check "after a HOT update: the waiter reads the holder's version from the chain" '{"total": 12} 1' "$(waited)"
check "and its own write is the newest" '{"total": 12}' "$(q -c "SELECT spawn.state('hot')")"

# The holder rolls back its write: the chain's visible version is the one before.
spawn_with undone 1
hold "SELECT spawn.invoke('undone', 'add', '{\"value\": 1}');"
queue undone 10
release ROLLBACK
check "after the holder's rollback: the waiter reads the version before it" '{"total": 11} 1' "$(waited)"

# VACUUM while the waiter waits prunes the chain's old versions: its root becomes a redirect.
# (VACUUM first, so the page has room and the updates below stay on it as HOT updates.)
q -c "VACUUM spawn._instances"
spawn_with pruned 1
root=$(q -c "SELECT ctid FROM spawn._instances WHERE name = 'pruned'")
for _ in 1 2 3; do q -c "SELECT spawn.invoke('pruned', 'add', '{\"value\": 1}')" >/dev/null; done
block=$(sed -E 's/^\(([0-9]+),.*$/\1/' <<<"$root")
offset=$(sed -E 's/^.*,([0-9]+)\)$/\1/' <<<"$root")
check "the updates were HOT (the row is a heap-only tuple in its root's block)" t \
  "$(q -c "SELECT (ctid::text::point)[0] = $block AND (t_infomask2 & 32768) <> 0
             FROM spawn._instances, heap_page_items(get_raw_page('spawn._instances', $block))
            WHERE name = 'pruned' AND lp = (ctid::text::point)[1]")"
hold "SELECT spawn.invoke('pruned', 'get');"
queue pruned 10
q -c "VACUUM spawn._instances"
check "VACUUM turned the root into a redirect" 2 \
  "$(q -c "SELECT lp_flags FROM heap_page_items(get_raw_page('spawn._instances', $block)) WHERE lp = $offset")"
release
check "after VACUUM: the waiter follows the redirect to the newest version" '{"total": 14} 1' "$(waited)"

# The holder deactivates the instance, as the sweep does under the lock (a non-HOT update:
# `active` is in a partial index): the chain ends without a visible version; the index finds it.
spawn_with idle 1
hold "SELECT spawn.invoke('idle', 'get'); UPDATE spawn._instances SET active = false WHERE name = 'idle';"
queue idle 10
release
check "after a deactivation: the waiter falls back to the index" '{"total": 11} 2' "$(waited)"
check "and the instance is active again" t "$(q -c "SELECT active FROM spawn._instances WHERE name = 'idle'")"

# The holder activates an inactive instance (a non-HOT update of its own).
spawn_with woken 1
q -c "UPDATE spawn._instances SET active = false WHERE name = 'woken'" >/dev/null
hold "SELECT spawn.invoke('woken', 'add', '{\"value\": 1}');"
queue woken 10
release
check "after an activation: the waiter falls back to the index and reads it" '{"total": 12} 2' "$(waited)"

# The instance is deleted and spawned again under the same name while the waiter waits: the
# waiter must act on the new instance (empty state), never on the deleted row.
spawn_with reborn 100
hold "SELECT spawn.invoke('reborn', 'get');"
queue reborn 10
# spawn_actor takes the actor's lock, so the holder does it (an unregistration and a new spawn
# of the name in one transaction).
echo "DELETE FROM spawn._instances WHERE name = 'reborn'; SELECT spawn.spawn_actor('reborn', 'ctr');" >&3
release
check "after delete and re-spawn: the waiter acts on the new instance" '{"total": 10} 2' "$(waited)"
check "whose state it wrote" '{"total": 10}' "$(q -c "SELECT spawn.state('reborn')")"

# A holder that invoked 16 other actors first lets the 17th actor's advisory lock go once its
# row is written (src/actor_lock.hpp). The waiter queued while the holder's handler ran; it gets
# the lock, finds the chain's visible version updated by a transaction in progress, waits for
# that transaction and reads the row again through the index.
q <<'SQL' >/dev/null
CREATE FUNCTION public.slow_add(state jsonb, payload jsonb) RETURNS spawn.value LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t,
               pg_sleep(coalesce((payload->>'sleep')::float8, 0)) AS slept) s
$$;
SQL
q -c "SELECT spawn.register_actor('slow', actions => '{\"add\": \"public.slow_add\"}', kind => 'unnamed', $never)" >/dev/null
q -c "SELECT spawn.spawn_actor('late', 'slow'); SELECT spawn.invoke('late', 'add', '{\"value\": 1}')" >/dev/null
q -c "SELECT count(spawn.spawn_actor('other-' || i, 'ctr')) FROM generate_series(1, 16) i" >/dev/null
hold "SELECT count(spawn.invoke('other-' || i, 'add')) FROM generate_series(1, 16) i;"
echo "SELECT spawn.invoke('late', 'add', '{\"value\": 1, \"sleep\": 2}');" >&3
wait_for "SELECT $(locks granted) = 17" t >/dev/null
queue late 10
check "the waiter then waits for the holder's transaction" t \
  "$(wait_for "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted" t)"
release
check "after an early-released lock: the waiter reads the committed version" '{"total": 12} 2' "$(waited)"
check "the final state has both writes" '{"total": 12}' "$(q -c "SELECT spawn.state('late')")"
finish
