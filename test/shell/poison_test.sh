#!/usr/bin/env bash
# Poison messages: every failure of a message (an error in the state write-back, a kill -9 of
# its worker, pg_terminate_backend, spawn.handler_timeout) counts as one attempt of that message
# alone; the rest of its batch and every other queue go on. Counts prove that each of the good
# messages ran exactly once and each poison message became a dead letter after max_attempts.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster poison 55501 "spawn.workers = 2
spawn.max_workers_per_role = 2
spawn.max_attempts = 3
spawn.retry_base_ms = 100
spawn.batch_size = 20
spawn.handler_timeout = '4s'"

q <<'SQL' >/dev/null
CREATE TABLE public.delivered (n int);
-- Records the message it runs: each good message must appear exactly once.
CREATE FUNCTION public.note(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.delivered VALUES ((payload->>'n')::int);
  RETURN spawn.noreply(jsonb_build_object('count', coalesce((state->>'count')::int, 0) + 1));
END $$;
-- Unregisters its own actor: the state write-back of its batch then fails.
CREATE FUNCTION public.suicide(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM spawn.unregister_actor('victim');
  RETURN spawn.noreply(state);
END $$;
-- Sleeps long enough to be killed, terminated or cancelled by spawn.handler_timeout.
CREATE FUNCTION public.nap(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN spawn.noreply(state); END $$;
SELECT spawn.register_actor('victim', actions => '{"add": "public.note", "die": "public.suicide"}');
SELECT spawn.register_actor('sleeper', actions => '{"nap": "public.nap", "add": "public.note"}');
SELECT spawn.register_actor('good-' || i, actions => '{"add": "public.note"}') FROM generate_series(1, 4) i;
SQL

# wait_for SQL EXPECTED [SECONDS]: polls (through restarts) until the query returns EXPECTED.
wait_for() {
  local got=""
  for _ in $(seq 1 $((${3:-30} * 5))); do
    got=$(q -c "$1" 2>/dev/null || true)
    [ "$got" == "$2" ] && { echo "$got"; return 0; }
    sleep 0.2
  done
  echo "$got"
}

# sleeper_pid: the worker sleeping in the poison handler.
sleeper_pid() {
  wait_for "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'spawn worker' AND wait_event = 'PgSleep'" 1 >/dev/null
  q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spawn worker' AND wait_event = 'PgSleep'"
}

# 1. Write-back failure: 5 good casts, the poison, 5 good casts, to one actor, in one batch.
q -c "SELECT spawn.cast('victim', 'add', jsonb_build_object('n', i)) FROM generate_series(1, 5) i" >/dev/null
q -c "SELECT spawn.cast('victim', 'die')" >/dev/null
q -c "SELECT spawn.cast('victim', 'add', jsonb_build_object('n', i)) FROM generate_series(6, 10) i" >/dev/null
check "the unregistering message became a dead letter after 3 attempts" "1|3" \
  "$(wait_for "SELECT count(*) || '|' || min(attempts) FROM spawn.dead_letters WHERE actor = 'victim'" "1|3")"
check "its error names the failure" 1 \
  "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE actor = 'victim' AND last_error LIKE '%invisible tuple%'")"
check "the victim's 10 good messages ran exactly once, in order" "10|10|$(seq -s, 1 10)" \
  "$(wait_for "SELECT count(*) || '|' || count(DISTINCT n) || '|' || string_agg(n::text, ',' ORDER BY n) FROM public.delivered WHERE n <= 10" "10|10|$(seq -s, 1 10)")"
check "the victim is still registered (the poison rolled back)" 1 \
  "$(q -c "SELECT count(*) FROM spawn.actors WHERE name = 'victim'")"

# 2. Worker deaths: the sleeper's poison message is killed (kill -9), terminated, then cancelled.
q -c "TRUNCATE public.delivered" >/dev/null
q -c "SELECT spawn.cast('sleeper', 'nap')" >/dev/null
q -c "SELECT spawn.cast('sleeper', 'add', '{\"n\": 0}')" >/dev/null
pid=$(sleeper_pid)
q -c "SELECT spawn.cast('good-' || (i % 4 + 1), 'add', jsonb_build_object('n', i)) FROM generate_series(1, 400) i" >/dev/null
kill -9 "$pid"
echo "killed worker $pid (kill -9) in the middle of the poison handler"
check "after the crash, the kill counts as the poison's first attempt" "1" \
  "$(wait_for "SELECT attempts FROM spawn._mailbox WHERE actor = 'sleeper' AND action = 'nap'" 1)"
check "and says why" t \
  "$(q -c "SELECT last_error LIKE '%ended while it ran%' FROM spawn._mailbox WHERE actor = 'sleeper' AND action = 'nap'")"
pid=$(sleeper_pid)
q -c "SELECT pg_terminate_backend($pid)" >/dev/null
echo "terminated worker $pid in the middle of the poison handler"
check "pg_terminate_backend counts as the second attempt" "2" \
  "$(wait_for "SELECT attempts FROM spawn._mailbox WHERE actor = 'sleeper' AND action = 'nap'" 2)"
check "the third attempt is cancelled by spawn.handler_timeout: a dead letter after 3 attempts" "1|3" \
  "$(wait_for "SELECT count(*) || '|' || min(attempts) FROM spawn.dead_letters WHERE actor = 'sleeper'" "1|3" 40)"
check "the message behind the poison ran once after it" "1" \
  "$(wait_for "SELECT count(*) FROM public.delivered WHERE n = 0" 1)"
wait_mailbox_empty 30
check "all 400 good messages ran exactly once" "400|400" \
  "$(q -c "SELECT count(*) || '|' || count(DISTINCT n) FROM public.delivered WHERE n > 0")"
check "the good actors' states count them" 400 \
  "$(q -c "SELECT sum((spawn.state('good-' || i)->>'count')::int) FROM generate_series(1, 4) i")"
check "no other dead letter" 2 "$(q -c "SELECT count(*) FROM spawn.dead_letters")"
check "no drain transaction failed as a whole" 0 \
  "$(as_pg grep -c 'draining the mailbox failed' "$DIR/server.log" || true)"
finish
