#!/usr/bin/env bash
# The per-backend handler cache follows re-registration and CREATE OR REPLACE FUNCTION made
# by other sessions, and backend memory stays flat over many distinct instances.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster cache 54430
create_incrementor
q <<'SQL' >/dev/null
CREATE FUNCTION public.times_ten(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"ten"', state) $$;
SELECT spawn.register_actor('acc', actions => '{"add": "public.incrementor_add"}');
SQL

# A long-lived session (coprocess) that invokes on request.
coproc SESSION { psql -X -q -t -A -v VERBOSITY=terse -h "$DIR" -p "$PORT" -U postgres -d postgres 2>&1; }
ask() {
  echo "$1" >&"${SESSION[1]}"
  local line
  read -r -t "${2:-10}" line <&"${SESSION[0]}"
  echo "$line"
}
check "cached session invokes" '{"total": 1}' "$(ask "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")"
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.times_ten\"}')" >/dev/null
check "re-registration elsewhere reaches the cached session" '"ten"' \
  "$(ask "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")"
q -c "CREATE OR REPLACE FUNCTION public.times_ten(state jsonb, payload jsonb) RETURNS spawn.value
      LANGUAGE sql AS \$\$ SELECT spawn.reply('\"replaced\"', state) \$\$" >/dev/null
check "a replaced function reaches the cached session" '"replaced"' \
  "$(ask "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")"
q -c "SELECT spawn.unregister_actor('acc')" >/dev/null
gone=$(ask "SELECT spawn.invoke('acc', 'get');")
check "unregistration reaches the cached session" 1 "$(grep -c 'does not exist' <<<"$gone")"

# Memory: 20,000 distinct instances in one session, one transaction each.
q -c "SELECT spawn.register_actor('ctr', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null
ask "SELECT set_config('synchronous_commit', 'off', false);" >/dev/null
pid=$(ask "SELECT pg_backend_pid();")
# Private memory of the backend in kB (shared buffers it touches are not counted).
rss() { awk '/^RssAnon/ {print $2}' "/proc/$pid/status"; }
# Bytes held by the backend's memory contexts.
contexts() { ask "SELECT sum(total_bytes) FROM pg_backend_memory_contexts;"; }
run_batch() {
  ask "CALL public.invoke_many($1, $2); SELECT 'done';" 300 >/dev/null
}
q <<'SQL' >/dev/null
CREATE PROCEDURE public.invoke_many(first int, last int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN first..last LOOP
    PERFORM spawn.invoke('m-' || i, 'add', '{"value": 1}', register_ref => 'ctr');
    COMMIT;
  END LOOP;
END $$;
SQL
run_batch 1 5000
before=$(rss)
before_contexts=$(contexts)
run_batch 5001 20000
after=$(rss)
after_contexts=$(contexts)
echo "backend private memory after 5,000 instances: ${before} kB, after 20,000: ${after} kB"
echo "backend memory contexts after 5,000 instances: ${before_contexts} B, after 20,000: ${after_contexts} B"
check_true "private memory flat over 15,000 more instances (< 1 MB growth)" test $((after - before)) -lt 1024
check_true "memory contexts flat over 15,000 more instances (< 256 kB growth)" \
  test $((after_contexts - before_contexts)) -lt 262144
check "all instances exist" 20000 "$(q -c "SELECT count(*) FROM spawn.actors WHERE parent = 'ctr'")"
echo '\q' >&"${SESSION[1]}"
finish
