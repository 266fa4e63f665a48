#!/usr/bin/env bash
# A missing key, or a message sealed under a key that is not configured, is never counted as a
# failed attempt: the queue waits (the whole drain without any key), says so once in the log,
# and runs every message once the right key is back.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster keypause 55502 "spawn.workers = 2
spawn.retry_base_ms = 100
spawn.max_attempts = 2"
conf=$DIR/data/postgresql.conf
create_incrementor
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('fresh', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
original=$(as_pg grep '^spawn.statestore_key' "$conf")

# restart_with KEY_LINE: replaces the key setting and restarts the server.
restart_with() {
  cluster_stop "$DIR"
  as_pg sed -i '/^spawn.statestore_key/d' "$conf"
  [ -n "$1" ] && echo "$1" | as_pg tee -a "$conf" >/dev/null
  cluster_start "$DIR"
}

# wait_for SQL EXPECTED [SECONDS]: polls until the query returns EXPECTED.
wait_for() {
  local got=""
  for _ in $(seq 1 $((${3:-20} * 5))); do
    got=$(q -c "$1" 2>/dev/null || true)
    [ "$got" == "$2" ] && { echo "$got"; return 0; }
    sleep 0.2
  done
  echo "$got"
}

# log_count TEXT: how often the server log says TEXT.
log_count() { as_pg grep -c -F "$1" "$DIR/server.log" || true; }

# Five casts, due in 2 s, sealed under the original key; the server restarts with another key.
q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}', delay_ms => 2000) FROM generate_series(1, 5)" >/dev/null
restart_with "spawn.statestore_key = '$(new_key)'"
q -c "SELECT spawn.cast('fresh', 'add', '{\"value\": 7}')" >/dev/null
check "another actor's message, sealed under the new key, runs" '{"total": 7}' \
  "$(wait_for "SELECT spawn.state('fresh')" '{"total": 7}')"
sleep 5
check "the messages under the old key wait, with no attempt counted" "5|0|0" \
  "$(q -c "SELECT count(*) || '|' || sum(attempts) || '|' || (SELECT count(*) FROM spawn._dead_letters) FROM spawn._mailbox WHERE actor = 'acc'")"
check "the log says so once" 1 "$(log_count 'which is not configured')"
check "spawn.scheduler names the key id it waits for" 1 \
  "$(q -c "SELECT cardinality(paused_key_ids) FROM spawn.scheduler")"

# No key at all: nothing drains, said once; the old key back: everything runs once.
restart_with ""
sleep 4
check "without a key the workers say once that they wait" 1 "$(log_count 'no state store key is configured; the mailbox workers wait')"
check "spawn.scheduler shows it" t "$(q -c "SELECT waiting_for_key FROM spawn.scheduler")"
check "and no attempt is counted" "5|0" "$(q -c "SELECT count(*) || '|' || sum(attempts) FROM spawn._mailbox")"
restart_with "$original"
check "with the original key every message runs once" '{"total": 5}' \
  "$(wait_for "SELECT spawn.state('acc')" '{"total": 5}')"
check "none became a dead letter" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"

# An actor whose state was sealed under a key that is not configured waits the same way.
q -c "SELECT spawn.cast('fresh', 'add', '{\"value\": 1}')" >/dev/null
sleep 3
check "a message to an actor whose state is under another key waits, uncounted" "1|0" \
  "$(q -c "SELECT count(*) || '|' || sum(attempts) FROM spawn._mailbox WHERE actor = 'fresh'")"
check "logged once for that key too" 2 "$(log_count 'which is not configured')"
check "other actors go on meanwhile" '{"total": 6}' \
  "$(q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}')" >/dev/null; wait_for "SELECT spawn.state('acc')" '{"total": 6}')"
finish
