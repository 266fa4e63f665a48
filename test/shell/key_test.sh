#!/usr/bin/env bash
# The state store key: missing, invalid, from the environment, and replaced by another key.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster keys 54420
conf=$DIR/data/postgresql.conf
create_incrementor
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('pool', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'pooled')" >/dev/null
q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 5}')" >/dev/null

# restart_with KEY_LINE [ENV_KEY]: replaces the key setting and restarts the server.
restart_with() {
  cluster_stop "$DIR"
  as_pg sed -i '/^spawn.statestore_key/d' "$conf"
  [ -n "$1" ] && echo "$1" | as_pg tee -a "$conf" >/dev/null
  if [ -n "${2:-}" ]; then
    as_pg env SPAWN_STATESTORE_KEY="$2" pg_ctl -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
  else
    cluster_start "$DIR"
  fi
}

# error_of SQL: the error message (first line) a statement raises.
error_of() {
  q -c "$1" 2>&1 >/dev/null | head -n 3 || true
}

original=$(as_pg grep '^spawn.statestore_key' "$conf")
original_key=$(sed -E "s/^spawn.statestore_key = '(.*)'/\1/" <<<"$original")

restart_with ""
out=$(error_of "SELECT spawn.invoke('acc', 'get')")
check "missing key: clear error" 1 "$(grep -c 'the spawn state store key is not set' <<<"$out")"
check "missing key: says how to set one" 1 "$(grep -c 'HINT:  Set SPAWN_STATESTORE_KEY' <<<"$out")"
check "missing key: pooled (stateless) actors still run" '{"total": 2}' \
  "$(q -c "SELECT spawn.invoke('pool', 'add', '{\"value\": 2}')")"
check "the key never reaches the server log" 0 "$(as_pg grep -c -F "$original_key" "$DIR/server.log" || true)"

restart_with "spawn.statestore_key = 'c2hvcnQ='"
out=$(error_of "SELECT spawn.invoke('acc', 'get')")
check "invalid key: clear error" 1 "$(grep -c 'key is not 32 bytes of base64' <<<"$out")"

restart_with "" "$original_key"
check "key from SPAWN_STATESTORE_KEY decrypts" '{"total": 6}' \
  "$(q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}')")"

restart_with "spawn.statestore_key = '$(new_key)'"
out=$(error_of "SELECT spawn.invoke('acc', 'get')")
check "another key: clear error" 1 "$(grep -c 'was encrypted with another key' <<<"$out")"

restart_with "$original"
check "the original key reads the state again" '{"total": 6}' "$(q -c "SELECT spawn.invoke('acc', 'get')")"
finish
