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

# Privileges are checked at the moment of asking, whatever the session cached: a REVOKE made
# in another session reaches the next invoke of a session that already ran the handler.
q <<'SQL' >/dev/null
CREATE ROLE carol;
GRANT USAGE ON SCHEMA spawn TO carol;
SELECT spawn.grant('invoke', 'acc', 'carol');
SQL
check "carol invokes in the cached session" '"replaced"' \
  "$(ask "SET ROLE carol; SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")"
q -c "REVOKE EXECUTE ON FUNCTION public.times_ten(jsonb, jsonb) FROM PUBLIC" >/dev/null
denied=$(ask "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")
check "a REVOKE of the handler function elsewhere reaches the cached session" 1 \
  "$(grep -c 'permission denied for function times_ten' <<<"$denied")"
q -c "GRANT EXECUTE ON FUNCTION public.times_ten(jsonb, jsonb) TO PUBLIC" >/dev/null
check "a GRANT back elsewhere reaches the cached session" '"replaced"' \
  "$(ask "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")"
q -c "SELECT spawn.revoke('invoke', 'acc', 'carol')" >/dev/null
denied=$(ask "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}');")
check "a spawn.revoke elsewhere reaches the cached session" 1 \
  "$(grep -c 'permission denied for actor "acc"' <<<"$denied")"
ask "RESET ROLE; SELECT 'reset';" >/dev/null

# One-expression handler bodies keep their compiled expression (src/sql_expression.cpp): it
# follows a replaced helper it inlined, recovers after an error inside it, and a nested invoke
# of another instance of the same definition (the expression already running) still works.
q <<'SQL' >/dev/null
CREATE FUNCTION public.helper_word() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT '"one"'::jsonb $$;
CREATE FUNCTION public.word(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(public.helper_word(), state) $$;
CREATE FUNCTION public.divide(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(to_jsonb(10 / (payload->>'by')::int), state) $$;
CREATE FUNCTION public.relay(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(CASE WHEN payload->>'to' IS NULL THEN '"leaf"'::jsonb
                          ELSE spawn.invoke(payload->>'to', 'relay', '{}') END, state)
$$;
SELECT spawn.register_actor('words', actions => '{"word": "public.word", "divide": "public.divide"}');
SELECT spawn.register_actor('relays', actions => '{"relay": "public.relay"}', kind => 'unnamed');
SELECT spawn.invoke('r-' || i, 'relay', '{}', register_ref => 'relays') FROM generate_series(1, 2) i;
SQL
check "an inlined helper is evaluated" '"one"' "$(ask "SELECT spawn.invoke('words', 'word');")"
check "it stays evaluated from the kept expression" '"one"' "$(ask "SELECT spawn.invoke('words', 'word');")"
q -c "CREATE OR REPLACE FUNCTION public.helper_word() RETURNS jsonb LANGUAGE sql IMMUTABLE
      AS \$\$ SELECT '\"two\"'::jsonb \$\$" >/dev/null
check "a replaced inlined helper reaches the kept expression" '"two"' \
  "$(ask "SELECT spawn.invoke('words', 'word');")"
failed=$(ask "SELECT spawn.invoke('words', 'divide', '{\"by\": 0}');")
check "an error inside the kept expression is raised" 1 "$(grep -c 'division by zero' <<<"$failed")"
check "the expression works again after the error" 5 \
  "$(ask "SELECT spawn.invoke('words', 'divide', '{\"by\": 2}');")"
check "a nested invoke of the same handler while its expression runs" '"leaf"' \
  "$(ask "SELECT spawn.invoke('r-1', 'relay', '{\"to\": \"r-2\"}');")"
check "and again, from the kept expression" '"leaf"' \
  "$(ask "SELECT spawn.invoke('r-2', 'relay', '{\"to\": \"r-1\"}');")"

# A kept expression was compiled, and the functions it calls checked, as one role: another
# role gets its own check. The superuser runs the handler first, then carol, who may invoke the
# actor and its handler but not the function the handler calls.
q <<'SQL' >/dev/null
CREATE FUNCTION public.secret_word() RETURNS jsonb LANGUAGE plpgsql AS $$ BEGIN RETURN '"secret"'; END $$;
REVOKE EXECUTE ON FUNCTION public.secret_word() FROM PUBLIC;
CREATE FUNCTION public.tell(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(public.secret_word(), state) $$;
SELECT spawn.register_actor('teller', actions => '{"tell": "public.tell"}');
SELECT spawn.grant('invoke', 'teller', 'carol');
SQL
check "the superuser's invoke compiles the expression" '"secret"' "$(ask "SELECT spawn.invoke('teller', 'tell');")"
denied=$(ask "SET ROLE carol; SELECT spawn.invoke('teller', 'tell');")
check "carol is refused the function the kept expression calls" 1 \
  "$(grep -c 'permission denied for function secret_word' <<<"$denied")"
ask "RESET ROLE; SELECT 'reset';" >/dev/null
check "the superuser still gets it" '"secret"' "$(ask "SELECT spawn.invoke('teller', 'tell');")"

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
