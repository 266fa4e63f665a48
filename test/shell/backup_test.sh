#!/usr/bin/env bash
# Backups keep identity and history: pg_dump of a database with actors of two roles, restored
# with pg_restore into a fresh, running cluster (spawn preloaded, its scheduler running, roles
# recreated from pg_dumpall --roles-only with other OIDs) keeps every owner, grant, queued
# message's sender and snapshot, and the restored actors go on working.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster backup 54483 "spawn.housekeeping_interval = 100"
source_dir=$DIR
key=$(as_pg cat "$DIR/data/spawn.key")

create_alice_and_bob
create_alice_counter
as alice <<'SQL' >/dev/null
SELECT spawn.register_actor('ledger', actions => '{"add": "alice.add"}', snapshot_timeout => 50,
  journal => true);
SELECT spawn.grant('invoke', 'ledger', 'bob');
SELECT spawn.schedule('ledger', 'add', '0 0 1 1 *');
SQL
for _ in 1 2 3 4 5; do as alice -c "SELECT spawn.invoke('ledger', 'add')" >/dev/null; sleep 0.3; done
as bob -c "SELECT spawn.cast('ledger', 'add', delay_ms => 3600000)" >/dev/null
history_before=$(q -c "SELECT count(*) FROM spawn._history")
check "the source took snapshots" "yes" "$([ "$history_before" -ge 3 ] && echo yes || echo no)"

work=$SPAWN_TEST_DIR/backup-files
mkdir -p "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
as_pg pg_dumpall --roles-only -h "$DIR" -p "$PORT" -U postgres -f "$work/roles.sql"
as_pg pg_dump -Fc -h "$DIR" -p "$PORT" -U postgres -d postgres -f "$work/db.dump"
cluster_stop "$source_dir"

# A fresh cluster with the same key, its scheduler running, and roles with other OIDs.
DIR=$SPAWN_TEST_DIR/backup-target
PORT=$((54484 + SPAWN_PORT_OFFSET))
cluster_init "$DIR" "$PORT" "spawn.housekeeping_interval = 50"
write_key_file "$DIR/data/spawn.key" "$key"
cluster_start "$DIR"
trap 'cluster_stop "$DIR" immediate' EXIT
q -c "CREATE ROLE filler1; CREATE ROLE filler2; CREATE ROLE filler3" >/dev/null
psql -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres -f "$work/roles.sql" >/dev/null 2>&1 || true
restored=ok
as_pg pg_restore -h "$DIR" -p "$PORT" -U postgres -d postgres "$work/db.dump" 2>"$work/restore.err" ||
  restored="failed: $(head -c 300 "$work/restore.err")"
check "pg_restore into the running cluster succeeded" "ok" "$restored"
sleep 0.5

check "the owner is still alice" "alice" "$(q -c "SELECT owner FROM spawn.definitions WHERE name = 'ledger'")"
check "bob's grant survived" "bob" "$(q -c "SELECT grantee FROM spawn.grants")"
check "the queued message is still bob's" "bob" "$(q -c "SELECT run_as::text FROM spawn._mailbox")"
check "the schedule is still alice's" "alice" "$(q -c "SELECT scheduled_by FROM spawn.schedules")"
check "no snapshot was lost" "$history_before" \
  "$(q -c "SELECT count(*) FROM spawn._history WHERE revision <= 5")"
check "alice goes on where she left off" '{"total": 6}' "$(as alice -c "SELECT spawn.invoke('ledger', 'add')")"
check "bob invokes with his grant" '{"total": 7}' "$(as bob -c "SELECT spawn.invoke('ledger', 'add')")"
check "the journal replays to the current state" "t" "$(as alice -c "SELECT matches FROM spawn.replay('ledger')")"
check "alice reads her history" "t" "$(as alice -c "SELECT count(*) >= 3 FROM spawn.state_history('ledger')")"
finish
