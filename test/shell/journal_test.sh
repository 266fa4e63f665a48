#!/usr/bin/env bash
# The event journal under the scheduler: one entry per revision whether changes come from
# invokes, casts drained in batches, or a restore; replays start from the newest snapshot older
# than their target and match; retention keeps every entry after the newest snapshot.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster journal 54500 "spawn.housekeeping_interval = 50"
create_incrementor
q <<'SQL' >/dev/null
SELECT spawn.register_actor('ledger', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed',
                            journal => true, snapshot_timeout => 200);
SQL

# 8 clients, 20 ledgers, sync invokes and casts mixed.
work=$SPAWN_TEST_DIR/journal_run
mkdir -p "$work"
cat > "$work/mix.sql" <<'SQL'
\set l random(1, 20)
\set v random(1, 9)
SELECT spawn.invoke('l-' || :l, 'add', jsonb_build_object('value', :v), register_ref => 'ledger');
SELECT spawn.cast('l-' || :l, 'add', jsonb_build_object('value', :v), register_ref => 'ledger');
SQL
chmod -R a+rwx "$work"
as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -t 250 -f "$work/mix.sql" postgres \
  >"$work/pgbench.out" 2>&1
wait_mailbox_empty 30
check "the mailbox drained" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"
check "4,000 revisions in all" 4000 "$(q -c "SELECT sum(revision) FROM spawn.actors WHERE parent = 'ledger'")"
check "one journal entry per revision" 4000 "$(q -c "SELECT count(*) FROM spawn._journal")"
check "entries are numbered 1..revision for every ledger" 0 "$(q -c "
  SELECT count(*) FROM spawn.actors a WHERE a.parent = 'ledger' AND
    (SELECT count(*) || '/' || max(j.revision) FROM spawn._journal j WHERE j.actor = a.name)
    <> a.revision || '/' || a.revision")"
check "each ledger's total is the sum of its journaled payloads" 0 "$(q -c "
  SELECT count(*) FROM spawn.actors a WHERE a.parent = 'ledger' AND
    (spawn.state(a.name)->>'total')::bigint <>
    (SELECT sum((payload->>'value')::bigint) FROM spawn.journal(a.name))")"

# Snapshots are taken while the ledgers change; replays start from them.
q -c "SELECT spawn.invoke('l-1', 'add', '{\"value\": 1}')" >/dev/null
sleep 0.5
q -c "SELECT spawn.invoke('l-1', 'add', '{\"value\": 2}')" >/dev/null
replay=$(q -c "SELECT matches, from_snapshot > 0, replayed >= 1, state = spawn.state('l-1')
               FROM spawn.replay('l-1')")
check "a replay of the current revision starts from a snapshot and matches" "t|t|t|t" "$replay"
check "every ledger replays to its current state" 0 "$(q -c "
  SELECT count(*) FROM spawn.actors a, spawn.replay(a.name) r
  WHERE a.parent = 'ledger' AND (NOT r.matches OR r.state <> spawn.state(a.name))")"

# A restore is journaled and replayed by loading the snapshot it brought back.
snap=$(q -c "SELECT min(revision) FROM spawn.state_history('l-2')")
q -c "SELECT spawn.restore('l-2', $snap)" >/dev/null
q -c "SELECT spawn.invoke('l-2', 'add', '{\"value\": 1000}')" >/dev/null
check "the restore is an entry of its own" "$snap" \
  "$(q -c "SELECT restored_from FROM spawn.journal('l-2') WHERE action IS NULL")"
restored=$(q -c "SELECT revision FROM spawn.journal('l-2') WHERE action IS NULL")
q -c "DELETE FROM spawn._history WHERE actor = 'l-2' AND revision > $snap" >/dev/null
check "a replay across the restore starts before it and matches" "$snap|t" \
  "$(q -c "SELECT from_snapshot, matches FROM spawn.replay('l-2', $restored + 1)")"

# Retention: old entries go, but never those after the newest snapshot.
q -c "ALTER SYSTEM SET spawn.journal_retention = '1s'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 2.5
check "retention removed entries up to the newest snapshots" "t" \
  "$(q -c "SELECT count(*) < 4000 FROM spawn._journal")"
check "entries after each ledger's replay base (newest snapshot below its revision) remain" 0 "$(q -c "
  WITH base AS (
    SELECT a.name, a.revision, coalesce((SELECT max(h.revision) FROM spawn._history h
      WHERE h.actor = a.name AND h.revision < a.revision), 0) AS base
    FROM spawn.actors a WHERE a.parent = 'ledger')
  SELECT count(*) FROM base WHERE
    (SELECT count(*) FROM spawn._journal j WHERE j.actor = base.name AND j.revision > base.base)
    <> base.revision - base.base")"
check "replays still match after retention" 0 "$(q -c "
  SELECT count(*) FROM spawn.actors a, spawn.replay(a.name) r WHERE a.parent = 'ledger' AND NOT r.matches")"
finish
