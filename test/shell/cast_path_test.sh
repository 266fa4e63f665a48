#!/usr/bin/env bash
# The cast's write path (src/mailbox_row.cpp writes the row without the executor): a rolled-back
# cast leaves no row and wakes no worker, while a committed one wakes them; every index of the
# mailbox holds every row, also after an index is added to the mailbox and after DROP and
# CREATE EXTENSION in the same session (amcheck compares each index with the table), and when
# another session adds partial, unique and expression indexes to it while the first one's index
# plan is cached; a cached target unregistered by another session is refused.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster cast_path 54530
create_incrementor
q <<'SQL' >/dev/null
CREATE EXTENSION amcheck;
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.spawn_actor('c1', 'counter');
SQL

# worker_changes: the workers' last state changes (each drain transaction reports one).
worker_changes() {
  q -c "SELECT string_agg(state_change::text, ',' ORDER BY pid) FROM pg_stat_activity
        WHERE application_name LIKE 'spawn worker%'"
}

# settle: sends one message, waits until it ran and both workers are idle, then returns; the
# workers now sleep 10 s (nothing is due).
settle() {
  q -c "SELECT spawn.cast('c1', 'add', '{\"value\": 1}')" >/dev/null
  wait_mailbox_empty 20
  wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'spawn worker%' AND state = 'idle'" 2 >/dev/null
  sleep 0.3
}

settle
before=$(worker_changes)
q -c "BEGIN; SELECT spawn.cast('c1', 'add', '{\"value\": 100}'); ROLLBACK;" >/dev/null
q <<'SQL' >/dev/null
BEGIN;
SAVEPOINT s;
SELECT spawn.cast('c1', 'add', '{"value": 1000}');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SQL
sleep 1
check "a rolled-back cast leaves no row" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"
check "a rolled-back cast wakes no worker" "$before" "$(worker_changes)"
check "a cast rolled back to a savepoint left nothing to run" 1 \
  "$(q -c "SELECT spawn.state('c1')->>'total'")"

settle
before=$(worker_changes)
q -c "SELECT spawn.cast('c1', 'add', '{\"value\": 1}')" >/dev/null
wait_mailbox_empty 20
sleep 0.3
check_true "a committed cast wakes the workers" test "$before" != "$(worker_changes)"
check "and it ran" 3 "$(q -c "SELECT spawn.state('c1')->>'total'")"

# verify_indexes: checks that every row of the mailbox is in each of its B-tree indexes (an
# error otherwise) and prints how many indexes were checked.
verify_indexes() {
  q -c "SELECT count(*) FROM (SELECT bt_index_check(i.indexrelid, true) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
        WHERE i.indrelid = 'spawn._mailbox'::regclass AND a.amname = 'btree') checked"
}

# One session: casts for later, an index added to the mailbox, more casts, DROP and CREATE
# EXTENSION, more casts; the indexes are checked after each step.
out=$({
  cat <<'SQL'
SELECT count(spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000)) FROM generate_series(1, 50);
CREATE INDEX mailbox_by_creation ON spawn._mailbox (created_at, id);
SELECT count(spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000)) FROM generate_series(1, 50);
SET enable_seqscan = off;
SELECT count(*) FROM spawn._mailbox WHERE created_at > '-infinity';
RESET enable_seqscan;
SELECT bt_index_check('spawn.mailbox_by_creation', true);
SET client_min_messages = warning;
DROP EXTENSION spawn CASCADE;
RESET client_min_messages;
CREATE EXTENSION spawn;
SQL
  incrementor_sql
  cat <<'SQL'
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.spawn_actor('c1', 'counter');
SELECT count(spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000)) FROM generate_series(1, 30);
SELECT count(*) FROM spawn._mailbox;
SQL
} | q)
check "the same session after ALTER of the mailbox and DROP/CREATE EXTENSION" \
  "50|50|100|||t|30|30" "$(echo "$out" | paste -sd'|')"
check "every index of the new mailbox holds every row" \
  "$(q -c "SELECT count(*) FROM pg_index WHERE indrelid = 'spawn._mailbox'::regclass")" "$(verify_indexes)"
# A session whose index plan of the mailbox is cached (src/index_plans.cpp) sees indexes that
# another session adds, CONCURRENTLY too: a partial index gets exactly the rows of its predicate,
# a partial unique index refuses a duplicate, an expression index (the executor's path) gets
# every row, and amcheck finds every row in every index.
other() { echo "\\! psql -X -q -h $DIR -p $PORT -U postgres -d postgres -c \"$1\" >/dev/null"; }
planned=$(q -v ON_ERROR_STOP=0 2>&1 <<SQL
\set VERBOSITY sqlstate
SELECT count(spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000)) FROM generate_series(1, 5);
$(other "CREATE INDEX mailbox_adds ON spawn._mailbox (actor, id) WHERE action = 'add'")
$(other "CREATE UNIQUE INDEX CONCURRENTLY mailbox_one_get ON spawn._mailbox (actor) WHERE action = 'get'")
SELECT count(spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000)) FROM generate_series(1, 7);
SELECT spawn.cast('c1', 'get', delay_ms => 3600000) > 0;
SELECT spawn.cast('c1', 'get', delay_ms => 3600000) > 0;
$(other "CREATE INDEX mailbox_lower_actor ON spawn._mailbox (lower(actor))")
SELECT count(spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000)) FROM generate_series(1, 3);
SET enable_seqscan = off;
SELECT count(*) FROM spawn._mailbox WHERE action = 'add' AND actor > '';
SELECT count(*) FROM spawn._mailbox WHERE action = 'get' AND actor = 'c1';
SELECT count(*) FROM spawn._mailbox WHERE lower(actor) = 'c1';
SQL
)
check "indexes added by another session get the cached session's casts" \
  "5|7|t|ERROR:  23505|3|$(q -c "SELECT count(*) FROM spawn._mailbox WHERE action = 'add'")|1|$(q -c "SELECT count(*) FROM spawn._mailbox WHERE actor = 'c1'")" \
  "$(echo "$planned" | paste -sd'|')"
check "every index, partial and expression ones included, holds every row" \
  "$(q -c "SELECT count(*) FROM pg_index WHERE indrelid = 'spawn._mailbox'::regclass")" "$(verify_indexes)"
q -c "DROP INDEX spawn.mailbox_adds, spawn.mailbox_one_get, spawn.mailbox_lower_actor"
# A session that has cast to an instance (its definition cached) sees another session unregister
# it: the next cast fails at once, as without the cache.
cached=$(q -v ON_ERROR_STOP=0 2>&1 <<SQL
\set VERBOSITY sqlstate
SELECT spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000) > 0;
\! psql -X -q -h $DIR -p $PORT -U postgres -d postgres -c "SELECT spawn.unregister_actor('counter')" >/dev/null
SELECT spawn.cast('c1', 'add', '{"value": 1}', delay_ms => 3600000) > 0;
SQL
)
check "a cached cast target unregistered by another session is refused" "t|ERROR:  42704" \
  "$(echo "$cached" | paste -sd'|')"
finish
