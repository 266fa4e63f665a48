#!/usr/bin/env bash
# External actor hosts against a real process: the project's Node test host (test/hosts),
# speaking Spawn's protobuf protocol over HTTP on loopback. Declaring hosts and binding actions
# (with the attacker's attempts), the incrementor served externally, rollback, pipe SQL ->
# external -> SQL, broadcasts and side effects, casts, timers, unnamed instances, a typed
# (non-JSON) state kept opaque; every failure with its SQLSTATE and the state unchanged; a hung
# host against cancel, statement_timeout and a worker's other actors; the host killed mid-drain
# (every cast applied exactly once); 32 clients on one external actor (exact total).
set -uo pipefail
source "$(dirname "$0")/helpers.sh"
hosts=$(cd "$(dirname "$0")/../hosts" && pwd)
test_cluster external 54600 "spawn.workers = 2
spawn.retry_base_ms = 100
spawn.max_attempts = 1000
spawn.housekeeping_interval = 100"
host_port=$((18090 + SPAWN_PORT_OFFSET))
closed_port=$((18091 + SPAWN_PORT_OFFSET))
url="http://127.0.0.1:$host_port"
host_pid=""
trap '[ -n "$host_pid" ] && kill -9 "$host_pid" 2>/dev/null; cluster_stop "$DIR" immediate' EXIT

# start_host: starts the test host and waits until it answers.
start_host() {
  (cd "$hosts" && HOST_PORT=$host_port exec node host.js) >>"$DIR/host.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "$url/control/counts" && return 0
    sleep 0.1
  done
  echo "the test host did not start"
  cat "$DIR/host.log"
  exit 1
}

# fault MODE: switches the host's fault mode (none, garbage, hang, slow:<ms>, wrong-actor).
fault() {
  curl -s -o /dev/null -X POST --data "$1" "$url/control/fault"
}

# elapsed_ms COMMAND...: runs the command, prints how long it took in ms.
elapsed_ms() {
  local start
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  echo $((($(date +%s%N) - start) / 1000000))
}

start_host
create_alice_and_bob

echo "# declaring hosts"
check "an ordinary role may not declare a host" 42501 \
  "$(sqlstate bob "SELECT spawn.register_host('evil', 'http://10.0.0.1:80')")"
check "ftp is refused" 22023 "$(sqlstate postgres "SELECT spawn.register_host('h', 'ftp://x')")"
check "a url without a host is refused" 22023 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', 'http://')")"
check "credentials in the url are refused" 22023 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', 'http://u:p@127.0.0.1:1')")"
check "an unknown option is refused" 22023 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', '$url', '{\"timeout\": 5}')")"
check "a reserved header is refused" 22023 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', '$url', '{\"headers\": {\"Content-Type\": \"x\"}}')")"
check "a header value with a line break is refused" 22023 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', '$url', '{\"headers\": {\"X-A\": \"a\\r\\nB: c\"}}')")"
check "a zero timeout is refused" 22023 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', '$url', '{\"request_timeout_ms\": 0}')")"
check "an unknown user role is refused" 42704 \
  "$(sqlstate postgres "SELECT spawn.register_host('h', '$url', '{\"users\": [\"nobody\"]}')")"
check "nothing was stored by the refused calls" 0 "$(q -c "SELECT count(*) FROM spawn._hosts")"
q -c "SELECT spawn.register_host('node-1', '$url', '{\"users\": [\"alice\"], \"headers\": {\"Authorization\": \"Bearer s3cret\"}}')" >/dev/null
q -c "SELECT spawn.register_host('nowhere', 'http://127.0.0.1:$closed_port', '{\"users\": [\"public\"]}')" >/dev/null
q -c "SELECT spawn.register_host('impatient', '$url', '{\"request_timeout_ms\": 700, \"users\": [\"alice\"]}')" >/dev/null
check "a role granted EXECUTE may declare hosts" "" \
  "$(q -c "GRANT EXECUTE ON FUNCTION spawn.register_host(text, text, jsonb) TO bob" &&
     sqlstate bob "SELECT spawn.register_host('bobs', '$url')")"
check "but not change another role's host" 42501 \
  "$(sqlstate bob "SELECT spawn.register_host('node-1', 'http://127.0.0.1:1')")"
check "bob may not bind actions to alice's host" 42501 \
  "$(sqlstate bob "SELECT spawn.register_actor('b1', host => 'node-1')")"
check "nor through a handler string" 42501 \
  "$(sqlstate bob "SELECT spawn.register_actor('b1', actions => '{\"add\": \"host:node-1\"}')")"
check "an unknown host is refused" 42704 \
  "$(sqlstate alice "SELECT spawn.register_actor('b1', host => 'nope')")"
check "bob sees his own host and the public one only" "bobs nowhere" \
  "$(as bob -c "SELECT string_agg(name, ' ' ORDER BY name) FROM spawn.hosts")"
check "alice sees node-1 without its headers" '{"users": ["alice"]}' \
  "$(as alice -c "SELECT options FROM spawn.hosts WHERE name = 'node-1'")"
check "its owner sees the headers" '"Bearer s3cret"' \
  "$(q -c "SELECT options->'headers'->'Authorization' FROM spawn.hosts WHERE name = 'node-1'")"

echo "# the incrementor, served externally"
as alice -c "SELECT spawn.register_actor('incrementor', host => 'node-1')" >/dev/null
check "first add" '{"total": 1}' "$(as alice -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
check "second add" '{"total": 2}' "$(as alice -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
check "the state is stored" '{"total": 2}' "$(q -c "SELECT spawn.state('incrementor')")"
check "two revisions" 2 "$(q -c "SELECT revision FROM spawn.actors WHERE name = 'incrementor'")"
check "the built-in get reads the stored state" '{"total": 2}' \
  "$(as alice -c "SELECT spawn.invoke('incrementor', 'get_state')")"
check "a checkpoint snapshots the state in its own transaction" '3 {"total": 3}' "$(q -F ' ' <<'SQL'
BEGIN;
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}') \g /dev/null
SELECT spawn.invoke('incrementor', 'save') \g /dev/null
SELECT revision, state FROM spawn.state_history('incrementor') WHERE revision = 3;
ROLLBACK;
SQL
)"
check "bob may not invoke alice's external actor" 42501 \
  "$(sqlstate bob "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
as alice -c "BEGIN; SELECT spawn.invoke('incrementor', 'add', '{\"value\": 10}'); ROLLBACK;" >/dev/null
check "a rolled back invoke leaves the state" '{"total": 2}' "$(q -c "SELECT spawn.state('incrementor')")"
check "the host is unregistered only when unbound" 2BP01 \
  "$(sqlstate postgres "SELECT spawn.unregister_host('node-1')")"

echo "# pipe SQL -> external -> SQL, broadcasts and side effects"
q <<'SQL' >/dev/null
CREATE FUNCTION public.front_go(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.pipe(spawn.reply(payload, state), 'piper', 'pipe') $$;
CREATE FUNCTION public.back_record(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(jsonb_build_object('recorded', payload->'value'),
                                      jsonb_build_object('last', payload->'value')) $$;
SELECT spawn.register_actor('front', actions => '{"go": "public.front_go"}');
SELECT spawn.register_actor('back', actions => '{"record": "public.back_record"}');
SELECT spawn.register_actor('piper', actions => '{"pipe": "host:nowhere"}');
SELECT spawn.register_actor('piper', actions => '{"pipe": "host:node-1"}');
SELECT spawn.register_actor('listener', host => 'node-1', channels => '[{"topic": "news"}]');
SELECT spawn.register_actor('effects', host => 'node-1');
SQL
check "the pipe's reply comes back from the SQL actor" '{"recorded": 7}' \
  "$(q -c "SELECT spawn.invoke('front', 'go', '{\"value\": 7, \"to\": \"back\", \"action\": \"record\"}')")"
check "which kept the value" '{"last": 7}' "$(q -c "SELECT spawn.state('back')")"
check "a broadcast reaches the external subscriber" 1 \
  "$(q -c "SELECT spawn.broadcast('news', payload => '{\"headline\": \"h1\"}')")"
q -c "SELECT spawn.invoke('effects', 'emit', '{\"target\": \"incrementor\", \"action\": \"add\", \"channel\": \"news\", \"headline\": \"h2\"}')" >/dev/null
wait_mailbox_empty 20
check "both headlines were heard, in order" '{"heard": ["h1", "h2"]}' "$(q -c "SELECT spawn.state('listener')")"
check "the host's side effect was applied" '{"total": 3}' "$(q -c "SELECT spawn.state('incrementor')")"

echo "# casts, timers, unnamed instances, typed state"
as alice -c "SELECT spawn.cast('incrementor', 'add', '{\"value\": 1}') FROM generate_series(1, 20)" >/dev/null
wait_mailbox_empty 30
check "20 casts drained through the host" '{"total": 23}' "$(q -c "SELECT spawn.state('incrementor')")"
q <<SQL >/dev/null
SELECT spawn.create_system('ticks');
SELECT spawn.register_actor('incrementor', system => 'ticks', host => 'node-1',
                            timers => '[{"action": "tick", "every_ms": 200}]');
SELECT spawn.create_system('units');
SELECT spawn.register_actor('incrementor', system => 'units', kind => 'unnamed', host => 'node-1');
SELECT spawn.register_actor('typed', host => 'node-1');
SELECT spawn.register_actor('boom', host => 'node-1');
SQL
check "an unnamed instance is served by its parent's handler" '{"total": 5}' \
  "$(q -c "SELECT spawn.invoke('inc-7', 'add', '{\"value\": 5}', system => 'units', register_ref => 'incrementor')")"
check "typed state: first reply" '{"value": 3}' "$(q -c "SELECT spawn.invoke('typed', 'add', '{\"value\": 3}')")"
check "typed state is shown with its type" 'type.googleapis.com/test.Counter' \
  "$(q -c "SELECT spawn.state('typed')->>'@type'")"
check "and passed back untouched" '{"value": 7}' "$(q -c "SELECT spawn.invoke('typed', 'add', '{\"value\": 4}')")"
sleep 1.5
check_true "the timer ticked through the host" test "$(q -c "SELECT coalesce((spawn.state('incrementor', 'ticks')->>'ticks')::int, 0)")" -ge 3

echo "# failures leave the state unchanged"
before=$(q -c "SELECT spawn.state('incrementor')")
check "a throwing callback (HTTP 400) is 38000" 38000 "$(sqlstate postgres "SELECT spawn.invoke('boom', 'fail')")"
check "a refused connection is 08001" 08001 \
  "$(q -c "SELECT spawn.register_actor('stray', host => 'nowhere')" >/dev/null;
     sqlstate postgres "SELECT spawn.invoke('stray', 'add')")"
fault garbage
check "garbage is 08P01" 08P01 "$(sqlstate postgres "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
fault wrong-actor
check "an answer for another actor is 08P01" 08P01 \
  "$(sqlstate postgres "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
fault hang
q -c "SELECT spawn.register_actor('incrementor', system => 'ticks', host => 'impatient')" >/dev/null
ms=$(elapsed_ms q -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}', system => 'ticks')")
check "a hanging host is 08006" 08006 \
  "$(sqlstate postgres "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}', system => 'ticks')")"
check_true "after its request timeout (700 ms), not later: $ms ms" test "$ms" -lt 3000
ms=$(elapsed_ms q -c "SET statement_timeout = 300; SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")
check "statement_timeout ends the wait" 57014 \
  "$(sqlstate postgres "SET statement_timeout = 300; SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
check_true "at once: $ms ms" test "$ms" -lt 2000
q -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')" 2>"$DIR/cancel.err" &
waiter=$!
sleep 0.5
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT spawn.invoke(%' AND pid <> pg_backend_pid()" >/dev/null
start=$(date +%s%N)
wait "$waiter"
ms=$((($(date +%s%N) - start) / 1000000))
check_true "pg_cancel_backend ends the wait at once: $ms ms" test "$ms" -lt 2000
check "with the cancel error" 1 "$(grep -c "canceling statement due to user request" "$DIR/cancel.err")"
fault none
check "the state is unchanged by every failure" "$before" "$(q -c "SELECT spawn.state('incrementor')")"
check "spawn.hosts counts failures" t "$(q -c "SELECT failures >= 4 AND last_error IS NOT NULL FROM spawn.hosts WHERE name = 'node-1'")"

echo "# a hung host holds up no other actor's messages"
incrementor_sql | q >/dev/null
q -c "SELECT spawn.register_actor('local', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
fault hang
q -c "SELECT spawn.cast('incrementor', 'add', '{\"value\": 1}', system => 'ticks') FROM generate_series(1, 10)" >/dev/null
sleep 0.3
q -c "SELECT spawn.cast('local', 'add', '{\"value\": 1}') FROM generate_series(1, 10)" >/dev/null
for _ in $(seq 1 30); do
  [ "$(q -c "SELECT spawn.state('local')->>'total'")" = 10 ] && break
  sleep 0.1
done
check "the SQL actor's casts ran while the host hung" 10 "$(q -c "SELECT spawn.state('local')->>'total'")"
fault none
wait_mailbox_empty 30
check "and the host's casts ran once it answered again" 10 \
  "$(q -c "SELECT spawn.state('incrementor', 'ticks')->>'total'")"

echo "# the host killed mid-drain: every cast applied exactly once"
q -c "SELECT spawn.create_system('crash'); SELECT spawn.register_actor('incrementor', system => 'crash', host => 'node-1')" >/dev/null
q -c "SELECT spawn.cast('incrementor', 'add', '{\"value\": 1}', system => 'crash') FROM generate_series(1, 300)" >/dev/null
sleep 0.3
kill -9 "$host_pid"
wait "$host_pid" 2>/dev/null
sleep 1
start_host
wait_mailbox_empty 60
check "300 casts, total 300" 300 "$(q -c "SELECT spawn.state('incrementor', 'crash')->>'total'")"
check "no dead letters" 0 "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE system = 'crash'")"

echo "# one session: the host restarted between calls, and calls to another host in between"
# The backend keeps its curl handle configured and its wait set between calls; both must follow
# a connection that died (a new socket, likely with the same number) and a change of host.
q -c "SELECT spawn.register_host('closed', 'http://127.0.0.1:$closed_port')" >/dev/null
q -c "SELECT spawn.create_system('hop'); SELECT spawn.register_actor('incrementor', system => 'hop', host => 'node-1');
      SELECT spawn.create_system('hop-closed'); SELECT spawn.register_actor('incrementor', system => 'hop-closed', host => 'closed')" >/dev/null
session=$(q 2>&1 <<SQL
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}', system => 'hop');
\! kill -9 $host_pid; sleep 0.5
\! cd $hosts && { HOST_PORT=$host_port node host.js >>$DIR/host.log 2>&1 & echo \$! >$DIR/host.pid; }
\! until curl -s -o /dev/null $url/control/counts; do sleep 0.1; done
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}', system => 'hop');
DO \$\$ BEGIN
  PERFORM spawn.invoke('incrementor', 'add', '{"value": 1}', system => 'hop-closed');
EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'closed host: %', SQLSTATE;
END \$\$;
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}', system => 'hop');
SQL
)
wait "$host_pid" 2>/dev/null  # reaped quietly: psql killed it
host_pid=$(cat "$DIR/host.pid")
check "the calls before and after the restart, around a refused one" \
  '{"total": 1} {"total": 2} NOTICE: closed host: 08001 {"total": 3}' "$(echo $session)"

echo "# 32 clients on one external actor"
q -c "SELECT spawn.create_system('many'); SELECT spawn.register_actor('incrementor', system => 'many', host => 'node-1')" >/dev/null
echo "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}', system => 'many');" >"$DIR/invoke.sql"
chmod a+r "$DIR/invoke.sql"
as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 32 -j 2 -t 25 -f "$DIR/invoke.sql" postgres >"$DIR/pgbench.log" 2>&1
check "pgbench ran without errors" 1 "$(grep -c "number of failed transactions: 0" "$DIR/pgbench.log")"
check "exact total" 800 "$(q -c "SELECT spawn.state('incrementor', 'many')->>'total'")"

finish
