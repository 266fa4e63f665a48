#!/usr/bin/env bash
# A missing key, or a message (or an actor's state) sealed under a key that is not configured,
# is never counted as a failed attempt: the queue waits (the whole drain without any key), says
# so once in the log, and runs every message once the right key is back.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster keypause 55502 "spawn.workers = 2
spawn.retry_base_ms = 100
spawn.max_attempts = 2"
keyfile=$DIR/data/spawn.key
create_incrementor
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('other', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 100}')" >/dev/null
original=$(as_pg cat "$keyfile")
new=$(new_key)

# restart_with_keys KEYS: writes the key file (one key a line, the active one first; empty: no
# key file at all) and restarts the server.
restart_with_keys() {
  cluster_stop "$DIR"
  if [ -n "$1" ]; then write_key_file "$keyfile" "$1"; else as_pg rm -f "$keyfile"; fi
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
restart_with_keys "$new"
sleep 5
check "messages under a key that is not configured wait, with no attempt counted" "5|0|0" \
  "$(q -c "SELECT count(*) || '|' || sum(attempts) || '|' || (SELECT count(*) FROM spawn._dead_letters) FROM spawn._mailbox WHERE actor = 'acc'")"
check "the log says so once" 1 "$(log_count 'which is not configured')"
check "spawn.scheduler names the key id they wait for" 1 \
  "$(q -c "SELECT cardinality(paused_key_ids) FROM spawn.scheduler")"

# No key at all: nothing drains, said once.
restart_with_keys ""
sleep 4
check "without a key the workers say once that they wait" 1 "$(log_count 'the mailbox workers wait for a state store key')"
check "spawn.scheduler shows it" t "$(q -c "SELECT waiting_for_key FROM spawn.scheduler")"
check "and no attempt is counted" "5|0" "$(q -c "SELECT count(*) || '|' || sum(attempts) FROM spawn._mailbox")"

# The original key back: every message runs once.
restart_with_keys "$original"
check "with the original key every message runs once" '{"total": 105}' \
  "$(wait_for "SELECT spawn.state('acc')" '{"total": 105}')"
check "none became a dead letter" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"

# A message sealed under a configured key to an actor whose state is under a key that is not:
# it waits the same way, and other actors go on.
restart_with_keys "$new
$original"
q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}', delay_ms => 2000)" >/dev/null
restart_with_keys "$new"
sleep 4
check "a message to an actor whose state is under a missing key waits, uncounted" "1|0" \
  "$(q -c "SELECT count(*) || '|' || sum(attempts) FROM spawn._mailbox WHERE actor = 'acc'")"
check "logged once for that key" 2 "$(log_count 'which is not configured')"
restart_with_keys "$new
$original"
check "with both keys it runs once" '{"total": 106}' "$(wait_for "SELECT spawn.state('acc')" '{"total": 106}')"
check "still no dead letter" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"
finish
