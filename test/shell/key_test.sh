#!/usr/bin/env bash
# The state store keys: missing, invalid, readable by others, given as a setting, from the
# environment (and gone from it), from a command, a wrong key, and an online rotation while 8
# clients invoke, after which every state reads with the new key alone.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster keys 54420
conf=$DIR/data/postgresql.conf
keyfile=$DIR/data/spawn.key
create_incrementor
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('pool', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'pooled')" >/dev/null
q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 5}')" >/dev/null
original_key=$(as_pg cat "$keyfile")

# restart_with SETTING_LINES [ENV_KEY]: replaces the key settings and restarts the server.
restart_with() {
  cluster_stop "$DIR"
  as_pg sed -i '/^spawn.statestore_key/d' "$conf"
  [ -n "$1" ] && echo "$1" | as_pg tee -a "$conf" >/dev/null
  log_mark=$(as_pg wc -l <"$DIR/server.log")
  if [ -n "${2:-}" ]; then
    as_pg env SPAWN_STATESTORE_KEY="$2" pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
  else
    cluster_start "$DIR"
  fi
}

# error_of SQL: the error (first lines) a statement raises.
error_of() {
  q -c "$1" 2>&1 >/dev/null | head -n 4 || true
}

# log_since_start: the server log since the last restart_with.
log_since_start() {
  as_pg tail -n "+$((log_mark + 1))" "$DIR/server.log"
}

restart_with ""
out=$(error_of "SELECT spawn.invoke('acc', 'get')")
check "missing key: clear error" 1 "$(grep -c 'the spawn state store key is not configured' <<<"$out")"
check "missing key: says how to set one" 1 "$(grep -c 'HINT:  Write the output of' <<<"$out")"
check "missing key: one warning at start-up" 1 "$(log_since_start | grep -c 'WARNING:  spawn: no state store key is configured')"
check "missing key: pooled (stateless) actors still run" '{"total": 2}' \
  "$(q -c "SELECT spawn.invoke('pool', 'add', '{\"value\": 2}')")"
check "missing key: a cast is refused at the call, not queued" "55000|0" \
  "$(q -v ON_ERROR_STOP=0 -c '\set VERBOSITY sqlstate' -c "SELECT spawn.cast('pool', 'add')" 2>&1 | grep -oE '[0-9A-Z]{5}$' || true)|$(q -c "SELECT count(*) FROM spawn._mailbox")"

restart_with "spawn.statestore_key = '$original_key'"
check "a key given as a setting is refused and not used" 1 \
  "$(log_since_start | grep -c 'spawn.statestore_key is not supported')"
check "and never shown" "" "$(q -c "SHOW spawn.statestore_key")"
check "the key never reaches the server log" 0 "$(as_pg grep -c -F "$original_key" "$DIR/server.log" || true)"

write_key_file "$DIR/data/short.key" "c2hvcnQ="
restart_with "spawn.statestore_key_file = 'short.key'"
check "invalid key file: logged with its line, not its content" 1 \
  "$(log_since_start | grep -c 'Line 1 is not 32 bytes of base64')"

as_pg chmod 644 "$keyfile"
restart_with "spawn.statestore_key_file = 'spawn.key'"
check "a key file others can read is refused" 1 "$(log_since_start | grep -c 'no group or world access')"
out=$(error_of "SELECT spawn.invoke('acc', 'get')")
check "and the error says the file is the problem" 1 "$(grep -c 'file is not private' <<<"$out")"
as_pg chmod 600 "$keyfile"

restart_with "" "$original_key"
check "key from SPAWN_STATESTORE_KEY decrypts" '{"total": 6}' \
  "$(q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}')")"
check "the key is wiped from the server's memory of its environment" 0 \
  "$(tr '\0' '\n' </proc/"$(as_pg head -n 1 "$DIR/data/postmaster.pid")"/environ | grep -c -F "$original_key" || true)"
q -c "COPY (SELECT 1) TO PROGRAM 'env > $DIR/programs.env'" >/dev/null
check "programs the server runs do not inherit SPAWN_STATESTORE_KEY" 0 \
  "$(as_pg grep -c SPAWN_STATESTORE_KEY "$DIR/programs.env" || true)"

restart_with "spawn.statestore_key_command = 'cat spawn.key'"
check "key from spawn.statestore_key_command decrypts" '{"total": 7}' \
  "$(q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}')")"

other=$(new_key)
write_key_file "$DIR/data/other.key" "$other"
restart_with "spawn.statestore_key_file = 'other.key'"
out=$(error_of "SELECT spawn.invoke('acc', 'get')")
check "another key: reads fail clearly" 1 "$(grep -c 'was encrypted with another key' <<<"$out")"
out=$(error_of "SELECT spawn.cast('pool', 'add', '{\"value\": 1}')")
check "another key: writes are refused, so nothing is sealed under it" 1 \
  "$(grep -c "the configured state store keys are not this database's" <<<"$out")"
check "nothing was queued" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"

# Rotation: the new key first, the old one after it; 8 clients invoke 100 actors meanwhile.
restart_with "spawn.statestore_key_file = 'spawn.key'"
q -c "SELECT spawn.register_actor('acct', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
q -c "SELECT spawn.spawn_actor('acct-' || g, 'acct') FROM generate_series(1, 100) g" >/dev/null
q -c "SELECT spawn.invoke('acct-' || g, 'add', '{\"value\": 1}') FROM generate_series(1, 100) g" >/dev/null
q -c "SELECT spawn.invoke_async('acc', 'get')" >/dev/null
wait_mailbox_empty 10
new=$(new_key)
write_key_file "$keyfile" "$new
$original_key"
restart_with "spawn.statestore_key_file = 'spawn.key'"
old_id=$(q -c "SELECT key_id FROM spawn.key_status WHERE configured AND NOT active")
q -c "BEGIN" -c "SELECT spawn.invoke('acct-1', 'add', '{\"value\": 0}')" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null &
sleep 1
check "after a key change, an open transaction holds up no other writer" '{"total": 1}' \
  "$(q -c "SET statement_timeout = '1500ms'" -c "SELECT spawn.invoke('acct-2', 'add', '{\"value\": 0}')")"
wait
cat > "$SPAWN_TEST_DIR/invoke.sql" <<'SQL'
\set n random(1, 100)
SELECT spawn.invoke('acct-' || :n, 'add', '{"value": 1}');
SQL
pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -T 8 -f "$SPAWN_TEST_DIR/invoke.sql" postgres \
  >"$SPAWN_TEST_DIR/rotation-bench.log" 2>&1 &
bench=$!
sleep 1
check "an old key still in use cannot be retired" 1 \
  "$(error_of "SELECT spawn.retire_key($old_id)" | grep -c 'is still needed')"
passes=0
while [ "$(q -c "SELECT spawn.rotate_key(50)")" != 0 ] && [ "$passes" -lt 500 ]; do passes=$((passes + 1)); done
wait "$bench"
while [ "$(q -c "SELECT spawn.rotate_key(50)")" != 0 ]; do :; done
invokes=$(awk '/number of transactions actually processed/ {print $NF}' "$SPAWN_TEST_DIR/rotation-bench.log" | cut -d/ -f1)
check "the rotation ran in small batches while invokes went on ($invokes invokes, $passes passes)" "yes" \
  "$([ "${invokes:-0}" -gt 100 ] && [ "$passes" -gt 1 ] && echo yes || echo no)"
check "only the new key seals values now" "1" \
  "$(q -c "SELECT count(*) FROM spawn.key_status WHERE sealed_values > 0")"
q -c "SELECT spawn.retire_key($old_id)" >/dev/null
write_key_file "$keyfile" "$new"
restart_with "spawn.statestore_key_file = 'spawn.key'"
check "with the new key alone, every state reads and no invoke was lost" "$((100 + invokes))" \
  "$(q -c "SELECT sum((spawn.state('acct-' || g)->>'total')::int) FROM generate_series(1, 100) g")"
check "and the history, journal-free actors and replies too" "ok" \
  "$(q -c "SELECT count(*) FROM spawn.state_history('acc')" >/dev/null && q -c "SELECT spawn.result(max(id)) FROM spawn._replies" >/dev/null && echo ok)"
finish
