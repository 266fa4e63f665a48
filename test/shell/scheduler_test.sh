#!/usr/bin/env bash
# The scheduler: FIFO order, retries, timers (durable, never twice per tick), cron schedules,
# deactivation and re-activation, snapshots and restore, worker restarts and reloads.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster scheduler 54470 "spawn.retry_base_ms = 100
spawn.max_attempts = 4
spawn.housekeeping_interval = 200"
create_incrementor
q <<'SQL' >/dev/null
-- Appends each payload to a list: shows the order messages ran in.
CREATE FUNCTION public.log_append(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_build_object('log', coalesce(state->'log', '[]') || payload))
$$;
-- Fails on its first two calls (a sequence counts them: nextval is not rolled back).
CREATE SEQUENCE flaky_calls;
CREATE FUNCTION public.flaky(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('flaky_calls') < 3 THEN RAISE EXCEPTION 'not yet'; END IF;
  RETURN spawn.noreply(jsonb_build_object('done', true));
END $$;
-- Counts calls, keeping the rest of the state (used by timers and after init).
CREATE FUNCTION public.count_up(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(to_jsonb(coalesce((state->>'total')::int, 0) + 1),
                     state || jsonb_build_object('total', coalesce((state->>'total')::int, 0) + 1))
$$;
CREATE FUNCTION public.count_init(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(state || jsonb_build_object('inits', coalesce((state->>'inits')::int, 0) + 1))
$$;
SELECT spawn.register_actor('log', actions => '{"append": "public.log_append"}');
SELECT spawn.register_actor('flaky', actions => '{"go": "public.flaky"}');
SELECT spawn.register_actor('ticker', actions => '{"tick": "public.count_up"}',
  timers => '[{"action": "tick", "every_ms": 300}]');
SELECT spawn.register_actor('sleepy', actions => '{"init": "public.count_init", "add": "public.count_up"}',
  deactivate_timeout => 500);
SELECT spawn.register_actor('snap', actions => '{"add": "public.incrementor_add"}', snapshot_timeout => 100);
SQL

# FIFO: 200 messages to one actor from one session run in the order they were sent.
q -c "SELECT count(spawn.cast('log', 'append', to_jsonb(i))) FROM generate_series(1, 200) i" >/dev/null
check "200 messages ran in order" "$(seq -s, 1 200)" \
  "$(wait_for "SELECT string_agg(x, ',') FROM jsonb_array_elements_text(spawn.state('log')->'log') x" "$(seq -s, 1 200)")"

# Retries: a message that fails twice then succeeds is not lost and not a dead letter.
q -c "SELECT spawn.cast('flaky', 'go')" >/dev/null
check "it succeeds on its third attempt" '{"done": true}' "$(wait_for "SELECT spawn.state('flaky')" '{"done": true}')"
check "and left no dead letter" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"
check "worker_stats counted the failures" t "$(q -c "SELECT sum(failed) >= 2 FROM spawn.worker_stats")"

# Timers: a named actor ticks every 300 ms from its registration on (no invocation needed); a
# tick is never enqueued twice.
check "the ticker ticked without being invoked" t \
  "$(wait_for "SELECT coalesce((spawn.state('ticker')->>'total')::int, 0) > 0" t)"
# The window is timed by the server's clock: on a loaded machine a psql start adds a second.
ticker_now="SELECT (spawn.state('ticker')->>'total')::int, extract(epoch FROM clock_timestamp())"
read -r start t0 < <(q -F ' ' -c "$ticker_now")
sleep 3
read -r end t1 < <(q -F ' ' -c "$ticker_now")
ticks=$((end - start))
expected=$(echo "($t1 - $t0) / 0.3" | bc)
echo "ticks in $(echo "$t1 - $t0" | bc) s at 300 ms: $ticks (about $expected expected)"
check_true "the timer fired about every 300 ms (0.6 to 1.2 times the expected ticks)" \
  test "$ticks" -ge $((expected * 6 / 10)) -a "$ticks" -le $((expected * 12 / 10 + 1))
cluster_stop "$DIR"
sleep 1
cluster_start "$DIR"
before=$(q -c "SELECT (spawn.state('ticker')->>'total')::int")
sleep 2
after=$(q -c "SELECT (spawn.state('ticker')->>'total')::int")
check_true "the timer survives a restart" test "$after" -gt "$before"

# Cron with seconds: fires every second with its payload.
q -c "SELECT spawn.schedule('log', 'append', '* * * * * *', '\"cron\"')" >/dev/null
sleep 3.5
crons=$(q -c "SELECT count(*) FROM jsonb_array_elements_text(spawn.state('log')->'log') x WHERE x = 'cron'")
echo "cron fires in 3.5 s: $crons"
check_true "the schedule fired every second (2..5 times)" test "$crons" -ge 2 -a "$crons" -le 5
q -c "SELECT spawn.unschedule(id) FROM spawn.schedules" >/dev/null

# Deactivation: idle past deactivate_timeout, the instance deactivates; its next use re-inits.
# (one session: a new psql on a loaded machine can take longer than the 500 ms timeout)
check "active after use" active \
  "$(q -c "SELECT spawn.invoke('sleepy', 'add')" -c "SELECT status FROM spawn.actors WHERE name = 'sleepy'" | tail -n 1)"
check "inactive after deactivate_timeout" inactive \
  "$(wait_for "SELECT status FROM spawn.actors WHERE name = 'sleepy'" inactive 10)"
q -c "SELECT spawn.invoke('sleepy', 'add')" >/dev/null
check "the next use runs init again" '{"inits": 2, "total": 2}' "$(q -c "SELECT spawn.state('sleepy')")"

# last_activity lags by less than a second (src/state_store.cpp), so the sweep waits a second
# longer than deactivate_timeout: an actor idle for less than the timeout plus that second is
# never deactivated (it was idle for 60.2 s when the check begins; ~3 sweeps at 200 ms run
# before the check; it fails only if the actor is inactive while idle for less than 61 s).
q -c "SELECT spawn.register_actor('patient', actions => '{\"add\": \"public.count_up\"}', deactivate_timeout => 60000)" \
  -c "SELECT spawn.invoke('patient', 'add')" \
  -c "UPDATE spawn._instances SET last_activity = now() - interval '60.2 s' WHERE name = 'patient'" >/dev/null
sleep 0.6
early=$(q -c "SELECT status = 'inactive' AND clock_timestamp() - last_activity < interval '61 s'
  FROM spawn.actors WHERE name = 'patient'")
check "not deactivated within the second the activity time may lag" f "$early"
q -c "UPDATE spawn._instances SET last_activity = now() - interval '61.5 s' WHERE name = 'patient'"
check "deactivated once idle past the timeout and the lag" inactive \
  "$(wait_for "SELECT status FROM spawn.actors WHERE name = 'patient'" inactive 10)"

# Snapshots and restore.
q -c "SELECT spawn.invoke('snap', 'add', '{\"value\": 10}')" >/dev/null
check "a snapshot is taken" 1 "$(wait_for "SELECT count(*) FROM spawn.state_history('snap')" 1)"
sleep 0.3
q -c "SELECT spawn.invoke('snap', 'add', '{\"value\": 5}')" >/dev/null
check "the changed state is snapshotted too" 2 "$(wait_for "SELECT count(*) FROM spawn.state_history('snap')" 2)"
check "history lists revisions with their states" '1:{"total": 10},2:{"total": 15}' \
  "$(q -c "SELECT string_agg(revision || ':' || state, ',' ORDER BY revision) FROM spawn.state_history('snap')")"
check "restore brings revision 1 back" '{"total": 10}' "$(q -c "SELECT spawn.restore('snap', 1)")"
check "as a new revision" '3|{"total": 10}' \
  "$(q -c "SELECT revision || '|' || spawn.state('snap') FROM spawn.actors WHERE name = 'snap'")"
check "a restore rolls back with its transaction" '{"total": 10}' \
  "$(q -c "BEGIN; SELECT spawn.restore('snap', 2); ROLLBACK; SELECT spawn.state('snap')" | tail -n 1)"

# Messages run with the privileges of the role that sent them, never the worker's superuser.
q <<'SQL' >/dev/null
CREATE ROLE app_user;
CREATE FUNCTION public.note_user(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.noreply(jsonb_build_object('user', current_user)) $$;
SELECT spawn.register_actor('whoami', actions => '{"note": "public.note_user"}');
SELECT spawn.grant('invoke', 'whoami', 'app_user');
SQL
q -c "SET ROLE app_user; SELECT spawn.cast('whoami', 'note')" >/dev/null
check "a cast runs as the role that sent it" '{"user": "app_user"}' \
  "$(wait_for "SELECT spawn.state('whoami')" '{"user": "app_user"}')"
# Delivered 5 s later: the REVOKE below (a new psql) commits long before, even on a loaded
# machine; the refusal is then seen in the mailbox while it retries, or in the dead letter.
q -c "SET ROLE app_user; SELECT spawn.cast('whoami', 'note', delay_ms => 5000)" >/dev/null
q -c "REVOKE EXECUTE ON FUNCTION public.note_user(jsonb, jsonb) FROM PUBLIC" >/dev/null
check "a cast without EXECUTE on the handler is refused when it is made" 42501 \
  "$(q -v ON_ERROR_STOP=0 -c "\\set VERBOSITY sqlstate" -c "SET ROLE app_user" -c "SELECT spawn.cast('whoami', 'note')" 2>&1 | grep -oE '[0-9A-Z]{5}$' || true)"
check "EXECUTE revoked after the cast was made is checked again at delivery" t \
  "$(wait_for "SELECT bool_or(last_error LIKE '42501:%') FROM (SELECT last_error FROM spawn._mailbox
                WHERE actor = 'whoami' UNION ALL SELECT last_error FROM spawn._dead_letters
                WHERE actor = 'whoami') e" t)"

# Workers: visible by name, restarted after a crash, reloading settings on SIGHUP.
check "launcher and 2 workers in pg_stat_activity" "spawn launcher,spawn worker 1,spawn worker 2" \
  "$(q -c "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_activity WHERE backend_type LIKE 'spawn%'")"
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spawn worker 1'" >/dev/null
check "a terminated worker comes back" 1 \
  "$(wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'spawn worker 1'" 1 15)"
q -c "ALTER SYSTEM SET spawn.batch_size = 7" >/dev/null
q -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
q -c "SELECT count(spawn.cast('log', 'append', '0')) FROM generate_series(1, 100)" >/dev/null
wait_for "SELECT count(*) FROM spawn._mailbox" 0 >/dev/null
check "the reloaded batch size applies" t "$(q -c "SELECT max(max_batch) <= 7 FROM spawn.worker_stats WHERE kind = 'worker' AND started_at > now() - interval '30 seconds'")"

# A commit wakes one sleeping worker, not all; a worker whose transaction was full wakes
# another, so one commit of many messages (of two roles: one role's messages occupy one of the
# two workers at a time) still gets both workers, long before an idle worker's 10 s sleep ends.
q <<'SQL' >/dev/null
SELECT spawn.register_actor('wake-' || i, actions => '{"add": "public.incrementor_add"}') FROM generate_series(1, 60) i;
SELECT spawn.grant('invoke', 'wake-' || i, 'app_user') FROM generate_series(1, 60) i;
SQL
sleep 1
processed_before=$(q -c "SELECT string_agg(processed::text, ',' ORDER BY worker) FROM spawn.worker_stats WHERE kind = 'worker'")
q <<'SQL' >/dev/null
BEGIN;
SELECT count(spawn.cast('wake-' || (1 + i % 30), 'add', '{"value": 1}')) FROM generate_series(1, 300) i;
SET LOCAL ROLE app_user;
SELECT count(spawn.cast('wake-' || (31 + i % 30), 'add', '{"value": 1}')) FROM generate_series(1, 300) i;
COMMIT;
SQL
wait_for "SELECT count(*) FROM spawn._mailbox WHERE actor LIKE 'wake-%'" 0 >/dev/null
check "one commit of 600 due messages was drained by both workers" t \
  "$(q -c "SELECT bool_and(processed > split_part('$processed_before', ',', worker::int)::bigint) FROM spawn.worker_stats WHERE kind = 'worker'")"
check "each of those messages ran once" 600 \
  "$(q -c "SELECT sum((spawn.state('wake-' || i)->>'total')::int) FROM generate_series(1, 60) i")"
finish
