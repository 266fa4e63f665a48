#!/usr/bin/env bash
# Snapshots of the current revision live in the instance row; the write that replaces one
# copies it into spawn._history in its own transaction (docs/design.md, "Snapshots and
# history"): state_history shows the same revisions and times either way, a rolled-back write
# leaves no copy, and a crash keeps exactly what committed.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster history 54610 "spawn.housekeeping_interval = 100"
create_incrementor
q -c "SELECT spawn.register_actor('h', actions => '{\"add\": \"public.incrementor_add\"}', snapshot_timeout => 100)" >/dev/null
copies() { q -c "SELECT coalesce(string_agg(revision::text, ',' ORDER BY revision), '') FROM spawn._history WHERE actor = '$1'"; }
listed() { q -c "SELECT coalesce(string_agg(revision || ':' || (state->>'total'), ',' ORDER BY revision), '') FROM spawn.state_history('$1')"; }

q -c "SELECT spawn.invoke('h', 'add', '{\"value\": 10}')" >/dev/null
check "the sweep snapshots revision 1" 1 "$(wait_for "SELECT snapshot_revision FROM spawn._instances WHERE name = 'h'" 1)"
check "state_history lists it" "1:10" "$(listed h)"
check "without a copy in spawn._history (the row is the snapshot)" "" "$(copies h)"
taken=$(q -c "SELECT recorded_at FROM spawn.state_history('h') WHERE revision = 1")
check "its time is the row's snapshot time" "$taken" "$(q -c "SELECT snapshot_at FROM spawn._instances WHERE name = 'h'")"

# Stop the sweeps from snapshotting revision 2 while the checks below look at it.
q -c "SELECT spawn.register_actor('h', actions => '{\"add\": \"public.incrementor_add\"}', snapshot_timeout => 3600000)" >/dev/null
check "a write inside an open transaction copies the snapshot it replaces" "1|2" \
  "$(q -c "BEGIN" -c "SELECT spawn.invoke('h', 'add', '{\"value\": 1}')" \
       -c "SELECT string_agg(revision::text, ',') || '|' || (SELECT revision FROM spawn._instances WHERE name = 'h') FROM spawn._history WHERE actor = 'h'" \
       -c "ROLLBACK" | tail -n 1)"
check "a rolled-back write leaves no copy" "" "$(copies h)"
check "and the row is still the snapshot of revision 1" "1|1" \
  "$(q -c "SELECT revision || '|' || snapshot_revision FROM spawn._instances WHERE name = 'h'")"
check "state_history after the rollback is unchanged" "1:10" "$(listed h)"

q -c "SELECT spawn.invoke('h', 'add', '{\"value\": 5}')" >/dev/null
check "a committed write keeps revision 1 in spawn._history" "1" "$(copies h)"
check "state_history shows the old revision, with its snapshot time" "1:10|$taken" \
  "$(q -c "SELECT revision || ':' || (state->>'total') || '|' || recorded_at FROM spawn.state_history('h')")"
check "a second write in a snapshot interval adds no copy" "1" \
  "$(q -c "SELECT spawn.invoke('h', 'add', '{\"value\": 1}')" >/dev/null; copies h)"
check "restore finds the copied snapshot" '{"total": 10}' "$(q -c "SELECT spawn.restore('h', 1)")"
check "a restore of a revision with no snapshot lists the snapshots" "Snapshotted revisions: 1." \
  "$(q -c "SELECT spawn.restore('h', 2)" 2>&1 | sed -n 's/^DETAIL:  //p')"

# The current revision as the snapshot: restore and the error's list include it.
q -c "SELECT spawn.register_actor('k', actions => '{\"add\": \"public.incrementor_add\"}', snapshot_timeout => 100)" >/dev/null
q -c "SELECT spawn.invoke('k', 'add', '{\"value\": 7}')" >/dev/null
wait_for "SELECT snapshot_revision FROM spawn._instances WHERE name = 'k'" 1 >/dev/null
check "a restore of the row's own snapshot" '{"total": 7}' "$(q -c "SELECT spawn.restore('k', 1)")"
check "copied by that restore's write" "1" "$(copies k)"
wait_for "SELECT snapshot_revision FROM spawn._instances WHERE name = 'k'" 2 >/dev/null
check "the error's list names the row's snapshot too" "Snapshotted revisions: 1, 2." \
  "$(q -c "SELECT spawn.restore('k', 9)" 2>&1 | sed -n 's/^DETAIL:  //p')"

# A crash between the copy and the commit leaves neither; a committed one survives.
q -c "SELECT spawn.register_actor('c', actions => '{\"add\": \"public.incrementor_add\"}', snapshot_timeout => 100)" >/dev/null
q -c "SELECT spawn.invoke('c', 'add', '{\"value\": 3}')" >/dev/null
wait_for "SELECT snapshot_revision FROM spawn._instances WHERE name = 'c'" 1 >/dev/null
q -c "BEGIN" -c "SELECT spawn.invoke('c', 'add', '{\"value\": 1}')" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
wait_for "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" 1 >/dev/null
crash_server KILL
wait || true
check "after a crash mid-transaction: no copy, revision 1 still the row's snapshot" "|1|1" \
  "$(copies c)|$(q -c "SELECT revision || '|' || snapshot_revision FROM spawn._instances WHERE name = 'c'")"
check "state_history after the crash" "1:3" "$(listed c)"
q -c "SELECT spawn.invoke('c', 'add', '{\"value\": 1}')" >/dev/null
crash_server KILL
check "a committed copy survives a crash" "1" "$(copies c)"
check "state_history after the second crash" "1:3" \
  "$(q -c "SELECT string_agg(revision || ':' || (state->>'total'), ',' ORDER BY revision) FROM spawn.state_history('c') WHERE revision < 2")"
finish
