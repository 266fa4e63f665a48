#!/usr/bin/env bash
# Workflows beyond one session: a pipe inside an async cast, a failing workflow inside a batch
# of casts, two transactions piping to each other in opposite order (a deadlock error, never a
# hang), pooled actors running in parallel, and a broadcast to 10,000 subscribers delivered and
# drained.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster workflow 54490
create_incrementor
q <<'SQL' >/dev/null
CREATE FUNCTION public.to_adder(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.pipe(spawn.reply(payload, state), 'adder', 'add') $$;
-- Holds its own lock for a while, then pipes to the other actor.
CREATE FUNCTION public.slow_pipe(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.pipe(spawn.reply(payload, state || jsonb_build_object('slept', pg_sleep(1)::text)),
                    payload->>'to', 'add')
$$;
-- Counts, then pipes to the actor named in the payload (if any).
CREATE FUNCTION public.count_then_pipe(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT CASE WHEN payload ? 'to' THEN spawn.pipe(v, payload->>'to', 'add') ELSE v END
  FROM (SELECT spawn.reply(NULL, jsonb_build_object('n', coalesce((state->>'n')::int, 0) + 1)) AS v) s
$$;
CREATE FUNCTION public.nap(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(to_jsonb(clock_timestamp()), state) FROM pg_sleep(1) $$;
SELECT spawn.register_actor('adder', actions => '{"add": "public.incrementor_add"}');
SELECT spawn.register_actor('front', actions => '{"go": "public.to_adder"}');
SELECT spawn.register_actor('ping', actions => '{"go": "public.slow_pipe", "add": "public.incrementor_add"}');
SELECT spawn.register_actor('pong', actions => '{"go": "public.slow_pipe", "add": "public.incrementor_add"}');
SELECT spawn.register_actor('batcher', actions => '{"add": "public.count_then_pipe"}');
SELECT spawn.register_actor('sleeper', actions => '{"nap": "public.nap"}', kind => 'pooled');
SELECT spawn.register_actor('fan', actions => '{"receive": "public.incrementor_add"}', kind => 'unnamed',
  channels => '[{"topic": "all"}]');
SQL

# A pipe inside an async request: the piped actor's reply is the request's reply.
request=$(q -c "SELECT spawn.invoke_async('front', 'go', '{\"value\": 7}')")
check "pipe in an async request" '{"total": 7}' "$(q -c "SELECT spawn.wait($request, 10000)")"
check "the pipe's target kept the state" '{"total": 7}' "$(q -c "SELECT spawn.state('adder')")"

# Three casts drained as one batch; the second one's pipe names an unknown actor. Its state
# change is undone with it: the batch keeps the first, and the third waits behind the retry.
q -c "SELECT spawn.cast('batcher', 'add', '{}'), spawn.cast('batcher', 'add', '{\"to\": \"ghost\"}'),
             spawn.cast('batcher', 'add', '{}')" >/dev/null
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM spawn._mailbox WHERE actor = 'batcher' AND attempts > 0")" = 1 ] && break
  sleep 0.1
done
check "a failed message in a batch leaves no state change behind" '1|{"n": 1}' \
  "$(q -c "SELECT revision, spawn.state('batcher') FROM spawn.actors WHERE name = 'batcher'")"
check "the failed message waits for its retry with its error" '42704: actor "ghost" does not exist in system "spawn-system"' \
  "$(q -c "SELECT last_error FROM spawn._mailbox WHERE actor = 'batcher' AND attempts > 0")"

# Opposite-order pipes in two transactions: PostgreSQL's deadlock detector ends one of them.
q -c "SELECT spawn.invoke('ping', 'go', '{\"to\": \"pong\", \"value\": 1}')" >"$SPAWN_TEST_DIR/ping.out" 2>&1 &
p1=$!
q -c "SELECT spawn.invoke('pong', 'go', '{\"to\": \"ping\", \"value\": 1}')" >"$SPAWN_TEST_DIR/pong.out" 2>&1 &
p2=$!
started=$(date +%s)
wait "$p1" || true
wait "$p2" || true
elapsed=$(( $(date +%s) - started ))
check "one of the two fails with a deadlock error" 1 \
  "$(cat "$SPAWN_TEST_DIR/ping.out" "$SPAWN_TEST_DIR/pong.out" | grep -c 'deadlock detected')"
check "the other completes" 1 "$(cat "$SPAWN_TEST_DIR/ping.out" "$SPAWN_TEST_DIR/pong.out" | grep -c '"total": 1')"
check_true "no hang: both ended within 10 s" test "$elapsed" -lt 10

# Pooled actors take no lock: 8 one-second invocations at once overlap in time.
for i in $(seq 1 8); do
  q -c "SELECT spawn.invoke('sleeper', 'nap')" >"$SPAWN_TEST_DIR/nap$i.out" &
done
started=$(date +%s.%N)
wait
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
echo "8 pooled one-second naps took ${elapsed} s"
check_true "8 pooled invocations overlapped (under 4 s in all)" test "$(echo "$elapsed < 4" | bc)" -eq 1

# A broadcast to 10,000 subscribers: one set-based insert, then every instance gets its message.
q -c "SELECT count(spawn.spawn_actor('fan-' || i, 'fan')) FROM generate_series(1, 10000) i" >/dev/null
timing=$(q -c "\\timing on" -c "SELECT spawn.broadcast('all', payload => '{\"value\": 1}')" | tail -n 2)
echo "broadcast: $timing"
check "the broadcast reached 10,000 subscribers" 10000 "$(head -n 1 <<<"$timing")"
wait_mailbox_empty 60
check "every subscriber processed it once" 10000 \
  "$(q -c "SELECT count(*) FROM spawn.actors WHERE parent = 'fan' AND revision = 1")"
finish
