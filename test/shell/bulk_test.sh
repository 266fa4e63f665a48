#!/usr/bin/env bash
# Many actors in one transaction (issue 17): a statement invoking 100,000 distinct actors
# commits with the default max_locks_per_transaction, while 32 clients keep invoking one actor
# that the bulk transaction also writes (exact count: single writer, nothing lost), and 8 more
# invoke other actors without a single error. A rolled-back bulk leaves nothing behind.
# spawn.spawn_actors creates instances in bulk; bad input creates nothing.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster bulk 54420
create_incrementor
q -c "SELECT spawn.register_actor('counter', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
check "max_locks_per_transaction is the default" 64 "$(q -c "SHOW max_locks_per_transaction")"

# Bulk creation and its bad inputs.
check "spawn_actors creates 100,000 instances" 100000 \
  "$(q -c "SELECT spawn.spawn_actors('counter', array_agg('b-' || g)) FROM generate_series(1, 100000) g")"
check "spawning them again creates none" 0 \
  "$(q -c "SELECT spawn.spawn_actors('counter', ARRAY['b-1', 'b-2'])")"
q -c "SELECT spawn.spawn_actors('counter', array_agg('o-' || g)) FROM generate_series(1, 100) g" >/dev/null
q -c "SELECT spawn.register_actor('other_tpl', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
q -c "SELECT spawn.spawn_actor('taken', 'other_tpl')" >/dev/null
q -c "SELECT spawn.register_actor('single', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
before=$(q -c "SELECT count(*) FROM spawn._instances")
bad() {  # bad DESCRIPTION SQLSTATE SQL
  check "$1" "$2" "$(sqlstate postgres "$3")"
}
bad "duplicate names are refused" 22023 "SELECT spawn.spawn_actors('counter', ARRAY['n-1', 'n-2', 'n-1'])"
bad "a blank name is refused" 42602 "SELECT spawn.spawn_actors('counter', ARRAY['n-1', '  '])"
bad "a null name is refused" 22004 "SELECT spawn.spawn_actors('counter', ARRAY['n-1', NULL])"
bad "null names are refused" 22004 "SELECT spawn.spawn_actors('counter', NULL)"
bad "an unknown parent is refused" 42704 "SELECT spawn.spawn_actors('nobody', ARRAY['n-1'])"
bad "a named actor is no template" 42809 "SELECT spawn.spawn_actors('single', ARRAY['n-1'])"
bad "a name of another template's instance is refused" 42710 "SELECT spawn.spawn_actors('counter', ARRAY['n-1', 'taken'])"
bad "a registered actor's name is refused" 42710 "SELECT spawn.spawn_actors('counter', ARRAY['n-1', 'counter'])"
create_alice_and_bob
q -c "GRANT USAGE ON SCHEMA public TO alice, bob" >/dev/null
as alice -c "SELECT spawn.register_actor('alice_tpl', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
check "another role's template is refused" 42501 \
  "$(sqlstate bob "SELECT spawn.spawn_actors('alice_tpl', ARRAY['bob-1', 'bob-2'])")"
check "nothing was created by the bad calls" "$before" "$(q -c "SELECT count(*) FROM spawn._instances")"
check "the owner spawns in bulk" 2 "$(as alice -c "SELECT spawn.spawn_actors('alice_tpl', ARRAY['a-1', 'a-2'])")"

# Unregistration racing a spawn (the instances have no foreign key to their definition: spawners
# lock the template's row, unregistration checks the latest state). No instance may outlive its
# definition, under either isolation level, whichever side's snapshot is older.
orphans() { q -c "SELECT count(*) FROM spawn._instances i WHERE NOT EXISTS (SELECT 1 FROM spawn._definitions d WHERE d.id = i.definition_id)"; }
register_tpl() { q -c "SELECT spawn.register_actor('$1', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null; }
# sqlstates_after_commit OTHER MAIN: the SQLSTATEs of MAIN, run in a REPEATABLE READ transaction
# whose snapshot was taken before another session ran and committed OTHER.
sqlstates_after_commit() {
  q -v ON_ERROR_STOP=0 2>&1 <<SQL | grep -oE 'ERROR:  [0-9A-Z]{5}' | awk '{print $2}' | xargs
\\set VERBOSITY sqlstate
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT 1;
\\! psql -X -q -h $DIR -p $PORT -U postgres -d postgres -c "$1"
$2;
COMMIT;
SQL
}
register_tpl race1
check "a spawn whose snapshot still sees an unregistered template fails (40001)" 40001 \
  "$(sqlstates_after_commit "SELECT spawn.unregister_actor('race1')" "SELECT spawn.spawn_actors('race1', ARRAY['r1-a', 'r1-b'])")"
register_tpl race1
check "so does a single spawn (40001)" 40001 \
  "$(sqlstates_after_commit "SELECT spawn.unregister_actor('race1')" "SELECT spawn.spawn_actor('r1-c', 'race1')")"
register_tpl race2
check "an unregistration whose snapshot misses a committed spawn fails (40001)" 40001 \
  "$(sqlstates_after_commit "SELECT spawn.spawn_actors('race2', ARRAY['r2-a'])" "SELECT spawn.unregister_actor('race2')")"
check "the template and its instance are both still there" "1 1" \
  "$(q -c "SELECT count(*) FROM spawn._definitions WHERE name = 'race2'") $(q -c "SELECT count(*) FROM spawn._instances WHERE name = 'r2-a'")"
for form in "SELECT spawn.spawn_actor('r3-a', 'race3')" "SELECT spawn.spawn_actors('race3', ARRAY['r3-b', 'r3-c'])"; do
  register_tpl race3
  q -c "BEGIN; $form; SELECT pg_sleep(2); COMMIT" >/dev/null &
  spawner=$!
  sleep 1
  q -c "SELECT spawn.unregister_actor('race3')" >/dev/null
  wait "$spawner"
  check "an unregistration waiting for a spawn removes what it created ($form)" 0 \
    "$(q -c "SELECT count(*) FROM spawn._instances WHERE name LIKE 'r3-%'")"
done
check "no instance outlived its definition" 0 "$(orphans)"

# A hot actor hammered by 32 clients, and 8 clients on other actors, while one transaction
# invokes 100,000 distinct actors (the hot one among them, well past the first 16).
script=$SPAWN_TEST_DIR/bulk_hot.sql
echo "SELECT spawn.invoke('b-50000', 'add', '{\"value\": 1}');" > "$script"
others=$SPAWN_TEST_DIR/bulk_others.sql
printf '%s\n' "\\set id random(1, 100)" "SELECT spawn.invoke('o-' || :id, 'add', '{\"value\": 1}');" > "$others"
chmod 644 "$script" "$others"
pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 32 -j 2 -t 300 -f "$script" postgres >"$SPAWN_TEST_DIR/bulk_hot.out" 2>&1 &
hot=$!
pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -T 20 -f "$others" postgres >"$SPAWN_TEST_DIR/bulk_others.out" 2>&1 &
others_pid=$!
sleep 1
check "one statement invokes 100,000 distinct actors and commits" 100000 \
  "$(q -c "SELECT count(spawn.invoke('b-' || g, 'add', '{\"value\": 1}')) FROM generate_series(1, 100000) g")"
wait "$hot" || { cat "$SPAWN_TEST_DIR/bulk_hot.out"; failures=$((failures + 1)); }
wait "$others_pid" || { cat "$SPAWN_TEST_DIR/bulk_others.out"; failures=$((failures + 1)); }
check "the hot actor counted every invoke: 32 x 300 + 1" '{"total": 9601}' "$(q -c "SELECT spawn.invoke('b-50000', 'get')")"
check "one revision per invoke on the hot actor" 9601 "$(q -c "SELECT revision FROM spawn.actors WHERE name = 'b-50000'")"
check "the other clients saw no error" 0 "$(grep -c 'ERROR' "$SPAWN_TEST_DIR/bulk_others.out" || true)"
check "their invokes all counted" "$(q -c "SELECT sum((spawn.state('o-' || g)->>'total')::bigint) FROM generate_series(1, 100) g")" \
  "$(grep -oE 'number of transactions actually processed: [0-9]+' "$SPAWN_TEST_DIR/bulk_others.out" | grep -oE '[0-9]+$')"
check "every bulk actor has its state" 0 \
  "$(q -c "SELECT count(*) FROM generate_series(1, 100000) g WHERE g <> 50000 AND spawn.state('b-' || g) <> '{\"total\": 1}'")"

# A rollback undoes every write of the bulk, whose advisory locks were let go early; the
# actors are at once free for others.
q -c "BEGIN; SELECT count(spawn.invoke('b-' || g, 'add', '{\"value\": 5}')) FROM generate_series(1, 1000) g; ROLLBACK;" >/dev/null
check "a rolled-back bulk leaves the states unchanged" 0 \
  "$(q -c "SELECT count(*) FROM generate_series(1, 1000) g WHERE g <> 50000 AND spawn.state('b-' || g) <> '{\"total\": 1}'")"

# A transaction that let an actor's advisory lock go holds it off the other writers until it
# ends, and can invoke it again even while another writer waits at the advisory lock.
q -c "BEGIN; SELECT count(spawn.invoke('b-' || g, 'add', '{\"value\": 1}')) FROM generate_series(1, 20) g; SELECT pg_sleep(3); SELECT spawn.invoke('b-20', 'add', '{\"value\": 1}'); COMMIT;" >/dev/null &
holder=$!
sleep 1
waited=$(q -c "SET lock_timeout = '500ms'; SELECT spawn.invoke('b-20', 'add', '{\"value\": 1}')" 2>&1 || true)
check "a writer waits for the transaction that wrote the actor" 1 "$(grep -c 'due to lock timeout' <<<"$waited")"
q -c "SELECT spawn.invoke('b-20', 'add', '{\"value\": 1}')" >/dev/null &
waiter=$!
wait "$holder"
wait "$waiter"
check "the holder's second invoke and the waiter both counted" '{"total": 4}' "$(q -c "SELECT spawn.state('b-20')")"
finish
