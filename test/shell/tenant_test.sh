#!/usr/bin/env bash
# Tenants do not starve each other in the scheduler: bob's handlers sleep in both workers' way,
# yet alice's asynchronous request is answered within a second; bob's sleeping messages are
# cancelled by spawn.handler_timeout, counted as attempts and parked as dead letters.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster tenant 54482 "spawn.workers = 2
spawn.retry_base_ms = 100
spawn.max_attempts = 2
spawn.handler_timeout = '3s'"

create_alice_and_bob
create_alice_counter
as alice <<'SQL' >/dev/null
SELECT spawn.register_actor('alice-counter', actions => '{"add": "alice.add"}');
SQL
as bob <<'SQL' >/dev/null
CREATE SCHEMA bob;
CREATE FUNCTION bob.sleep(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN spawn.noreply(state); END $$;
SELECT spawn.register_actor('bob-sleeper-1', actions => '{"sleep": "bob.sleep"}');
SELECT spawn.register_actor('bob-sleeper-2', actions => '{"sleep": "bob.sleep"}');
SELECT spawn.cast('bob-sleeper-1', 'sleep');
SELECT spawn.cast('bob-sleeper-2', 'sleep');
SQL
sleep 0.5
started=$(date +%s%N)
reply=$(as alice -c "SELECT spawn.invoke_async('alice-counter', 'add')")
answer=$(as alice -c "SELECT spawn.wait($reply, 5000)")
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
check "alice's request was answered" '{"total": 1}' "$answer"
check "within a second although bob's handlers sleep (took ${elapsed_ms} ms)" "yes" \
  "$([ "$elapsed_ms" -lt 1000 ] && echo yes || echo no)"
check "one of bob's sleepers holds a worker, the other waits its turn" "1" \
  "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")"

# Each sleeping message is cancelled after 3 s, twice (spawn.max_attempts = 2), then parked.
for _ in $(seq 1 150); do
  [ "$(q -c "SELECT count(*) FROM spawn.dead_letters")" == 2 ] && break
  sleep 0.2
done
check "bob's sleeping messages became dead letters after their timeouts" "2|2" \
  "$(q -c "SELECT count(*) || '|' || min(attempts) FROM spawn.dead_letters")"
check "the dead letter says why" "1" \
  "$(q -c "SELECT count(DISTINCT last_error) FROM spawn.dead_letters WHERE last_error LIKE '%ran longer than spawn.handler_timeout (3000 ms)%'")"

# Many queues of one role never hide another role's messages from the free worker.
as bob -c "SELECT spawn.register_actor('bob-slow-' || g, actions => '{\"sleep\": \"bob.sleep\"}') FROM generate_series(1, 20) g" \
  -c "SELECT spawn.cast('bob-slow-' || g, 'sleep') FROM generate_series(1, 20) g" >/dev/null
sleep 0.5
started=$(date +%s%N)
reply=$(as alice -c "SELECT spawn.invoke_async('alice-counter', 'add')")
answer=$(as alice -c "SELECT spawn.wait($reply, 5000)")
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
check "behind 20 queues of bob's sleepers, alice's request is answered within a second (${elapsed_ms} ms)" \
  "yes" "$([ -n "$answer" ] && [ "$elapsed_ms" -lt 1000 ] && echo yes || echo no)"
q -c "DELETE FROM spawn._mailbox WHERE actor LIKE 'bob-slow-%'" >/dev/null
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")" == 0 ] && break
  sleep 0.2
done

# A handler that catches the cancellation and goes on is ended with its worker a second later.
as bob <<'SQL' >/dev/null
CREATE FUNCTION bob.hog(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  LOOP
    BEGIN PERFORM pg_sleep(1); EXCEPTION WHEN query_canceled THEN NULL; END;
  END LOOP;
END $$;
SELECT spawn.register_actor('bob-hog', actions => '{"go": "bob.hog"}');
SELECT spawn.cast('bob-hog', 'go');
SQL
for _ in $(seq 1 50); do
  hog_pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type LIKE 'spawn worker%' AND wait_event = 'PgSleep'")
  [ -n "$hog_pid" ] && break
  sleep 0.2
done
sleep 5
check "the worker of a handler that caught its cancellation was ended" "gone" \
  "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE pid = '${hog_pid:-0}'" | sed 's/^0$/gone/')"
reply=$(as alice -c "SELECT spawn.invoke_async('alice-counter', 'add')")
check "alice is served meanwhile" '{"total": 3}' "$(as alice -c "SELECT spawn.wait($reply, 10000)")"
for _ in $(seq 1 100); do
  [ "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE actor = 'bob-hog'")" == 1 ] && break
  sleep 0.2
done
check "the ended handler's attempts were counted: it became a dead letter" "1" \
  "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE actor = 'bob-hog'")"
finish
