#!/usr/bin/env bash
# One schedule whose payload cannot be opened never stops the others: each schedule fires in
# its own subtransaction; the broken one skips its firings, is logged once (not at every
# loop), and fires again once repaired. Schedules run as the role that created them.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster schedules 55503 "spawn.housekeeping_interval = 200"
q <<'SQL' >/dev/null
CREATE ROLE app;
CREATE FUNCTION public.log_append(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_build_object('log', coalesce(state->'log', '[]') || payload,
                                          'user', current_user))
$$;
SELECT spawn.register_actor('good', actions => '{"append": "public.log_append"}');
SELECT spawn.register_actor('bad', actions => '{"append": "public.log_append"}');
SELECT spawn.grant('invoke', 'good', 'app');
SQL
good=$(q -c "SET ROLE app; SELECT spawn.schedule('good', 'append', '* * * * * *', '\"tick\"')")
# The broken schedule: its nonce no longer matches, so its payload cannot be opened. It is made
# and broken in one transaction, so it never fires intact.
read -r bad saved < <(q -F ' ' <<'SQL'
BEGIN;
SELECT spawn.schedule('bad', 'append', '* * * * * *', '"tick"') AS id \gset
SELECT :id, encode(nonce, 'hex') FROM spawn._schedules WHERE id = :id;
UPDATE spawn._schedules SET nonce = decode(repeat('00', 24), 'hex') WHERE id = :id;
COMMIT;
SQL
)
sleep 4.5
fired=$(q -c "SELECT coalesce(jsonb_array_length(spawn.state('good')->'log'), 0)")
echo "the good schedule fired $fired times in 4.5 s"
check_true "the good schedule goes on firing every second" test "$fired" -ge 3
check "it runs as the role that created it" '"app"' "$(q -c "SELECT spawn.state('good')->'user'")"
check "the broken one delivered nothing" "" "$(q -c "SELECT spawn.state('bad')->'log'")"
check "its failure is logged once" 1 \
  "$(as_pg grep -c "schedule $bad (action \"append\" of actor \"bad\") could not fire" "$DIR/server.log" || true)"
check "no firing transaction failed as a whole" 0 \
  "$(as_pg grep -c 'firing schedules failed' "$DIR/server.log" || true)"
check "it moved on to its next time" t \
  "$(q -c "SELECT next_fire_at > now() - interval '2 seconds' FROM spawn._schedules WHERE id = $bad")"
q -c "UPDATE spawn._schedules SET nonce = decode('$saved', 'hex') WHERE id = $bad" >/dev/null
sleep 2.5
check_true "repaired, it fires again" test "$(q -c "SELECT coalesce(jsonb_array_length(spawn.state('bad')->'log'), 0)")" -ge 1
check "and says so" 1 "$(as_pg grep -c "schedule $bad fires again" "$DIR/server.log" || true)"
finish
