#!/usr/bin/env bash
# The HTTP gateway against real clients: the project's Node test host registering itself
# through POST /api/v1/system (as an SDK host does) and then serving the incrementor; the Node
# gateway client (test/hosts/client.js) invoking host and SQL actors the way the SDK's client
# API does; SQL invoking the host's actor; async invokes with idempotency keys (HTTP and SQL);
# health and metrics with curl (metrics read by prometheus_client's parser); 32 concurrent
# clients on one actor (exact total); batches (a failing request in one transaction with
# successful ones fails alone; settings do not leak between them); bad input over HTTP (404, 405, 415, 413, empty, garbage
# and truncated bodies, unknown kinds, a disallowed callback address), each with a clear
# status and message and nothing stored; kill -9 of a gateway process under load (it comes
# back; every request answered 200 was applied exactly once); SIGTERM of one in the middle of
# batches (it stops without crashing the server).
set -uo pipefail
source "$(dirname "$0")/helpers.sh"
hosts=$(cd "$(dirname "$0")/../hosts" && pwd)
gw_port=$((19001 + SPAWN_PORT_OFFSET))
host_port=$((19090 + SPAWN_PORT_OFFSET))
test_cluster gateway 54700 "spawn.workers = 2
spawn.retry_base_ms = 100
spawn.housekeeping_interval = 100
spawn.http_port = $gw_port
spawn.http_workers = 2
spawn.http_role = 'gw'
spawn.http_callback_port = $host_port
spawn.http_max_body = 65536"
gw="http://127.0.0.1:$gw_port"
export PROXY_HTTP_HOST=127.0.0.1 PROXY_HTTP_PORT=$gw_port
host_pid=""
trap '[ -n "$host_pid" ] && kill -9 "$host_pid" 2>/dev/null; cluster_stop "$DIR" immediate' EXIT

# client COMMAND JSON: runs the gateway client.
client() { (cd "$hosts" && node client.js "$@"); }
# field JSON NAME: one field of a JSON object.
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" "$2"; }
# http_status ARGS...: curl's HTTP status for a request to the gateway.
http_status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# post_raw PATH FILE TYPE: posts a file; prints the HTTP status, then the decoded reply.
post_raw() {
  local code
  code=$(curl -s -o "$DIR/answer.bin" -w '%{http_code}' -H "Content-Type: ${3:-application/octet-stream}" \
    --data-binary "@$2" "$gw$1")
  echo "$code $(client decode "$4" <"$DIR/answer.bin" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], "|", d["message"])')"
}
# wait_gateway: waits until /health answers 200 (60 s at most).
wait_gateway() {
  for _ in $(seq 1 600); do
    [ "$(http_status "$gw/health")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

q <<'SQL' >/dev/null
CREATE ROLE gw;
GRANT EXECUTE ON FUNCTION spawn.register_host(text, text, jsonb) TO gw;
GRANT CREATE ON DATABASE postgres TO gw;
SQL
create_alice_and_bob
as alice <<'SQL' >/dev/null
CREATE SCHEMA alice;
GRANT USAGE ON SCHEMA alice TO PUBLIC;
-- The ledger: counts calls and records each payload id, to check exactly-once.
CREATE FUNCTION alice.ledger_add(state jsonb, payload jsonb, ctx spawn.context) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('count', c, 'metadata', ctx.metadata), jsonb_build_object('count', c, 'ids', ids))
  FROM (SELECT coalesce((state->>'count')::int, 0) + 1 AS c,
               coalesce(state->'ids', '[]') || coalesce(payload->'id', 'null') AS ids) s
$$;
SELECT spawn.register_actor('ledger', '{"add": "alice.ledger_add"}');
SELECT spawn.grant('invoke', 'ledger', 'gw');
SELECT spawn.register_actor('private', '{"add": "alice.ledger_add"}');
SQL

echo "# health"
check "the gateway is up" 0 "$(wait_gateway; echo $?)"
check "/health answers UP" '200 {"status": "UP"}' "$(curl -s -w '%{http_code}' -o "$DIR/h" "$gw/health"; echo " $(cat "$DIR/h")")"
check "/health/liveness" 200 "$(http_status "$gw/health/liveness")"
check "/health/readiness" 200 "$(http_status "$gw/health/readiness")"

echo "# registration, as the Node SDK does it at start-up"
(cd "$hosts" && HOST_PORT=$host_port HOST_REGISTER=1 exec node host.js) >>"$DIR/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1 100); do grep -q '^registered' "$DIR/host.log" && break; sleep 0.1; done
check "the host registered" registered "$(grep -o '^registered' "$DIR/host.log")"
check "the host is declared by the gateway's role at its peer address" \
  "sdk-spawn-system|http://127.0.0.1:$host_port|gw" "$(q -c "SELECT name, url, owner FROM spawn.hosts WHERE name = 'sdk-spawn-system'")"
check "its actors are registered, owned by the gateway's role" "boom,effects,incrementor,listener,piper,typed" \
  "$(q -c "SELECT string_agg(name, ',' ORDER BY name) FROM spawn.definitions WHERE owner = 'gw'::regrole")"
check "the timer (milliseconds in FixedTimerAction.seconds) and channel are registered" '1000|news' \
  "$(q -c "SELECT (SELECT t->>'every_ms' FROM spawn._definitions d, jsonb_array_elements(d.timers) t WHERE d.name = 'incrementor'),
                  (SELECT c->>'topic' FROM spawn._definitions d, jsonb_array_elements(d.channels) c WHERE d.name = 'listener')")"
check "registering again updates (still six actors)" 6 \
  "$(cd "$hosts" && node -e "require('./register').register('spawn-system').then(ok => process.exit(ok ? 0 : 1))" >/dev/null 2>&1
     q -c "SELECT count(*) FROM spawn.definitions WHERE owner = 'gw'::regrole")"

echo "# invoking"
r=$(client invoke '{"actor": "incrementor", "action": "add", "payload": {"value": 2}}')
check "a client invokes the host's actor through the gateway" '200 OK {"total": 2}' \
  "$(field "$r" http) $(field "$r" status) $(field "$r" payload)"
check "SQL invokes the host's actor" '{"total": 5}' \
  "$(q -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 3}')")"
r=$(client invoke '{"actor": "ledger", "action": "add", "payload": {"id": -1}, "caller": {"name": "incrementor", "system": "spawn-system"}, "metadata": {"trace": "t1"}}')
check "a client invokes a SQL actor; caller and metadata reach its context" \
  '200 OK {"count": 1, "metadata": {"trace": "t1", "spawn.caller": "incrementor", "spawn.caller_system": "spawn-system"}}' \
  "$(field "$r" http) $(field "$r" status) $(field "$r" payload)"
r=$(client invoke '{"actor": "private", "action": "add", "payload": {"id": 1}}')
check "requests run as spawn.http_role: alice's private actor is refused" '500 ERROR' \
  "$(field "$r" http) $(field "$r" status)"
check "with the permission error" 'permission denied for actor "private"' "$(field "$r" message | grep -o 'permission denied for actor "private"')"
r=$(client invoke '{"actor": "nobody", "action": "add"}')
check "an unknown actor: 500 ACTOR_NOT_FOUND" '500 ACTOR_NOT_FOUND' "$(field "$r" http) $(field "$r" status)"

echo "# async, scheduled, idempotency keys"
a=$(client invoke '{"actor": "ledger", "action": "add", "payload": {"id": -2}, "async": true, "key": "retry-1"}')
b=$(client invoke '{"actor": "ledger", "action": "add", "payload": {"id": -2}, "async": true, "key": "retry-1"}')
check "an async invoke answers 200 OK with its request id" '200 OK' "$(field "$a" http) $(field "$a" status)"
check "the same Idempotency-Key returns the first request's id" "$(field "$a" request_id)" "$(field "$b" request_id)"
at_ms=$(($(date +%s%3N) + 600000))
c=$(client invoke "{\"actor\": \"ledger\", \"action\": \"add\", \"payload\": {\"id\": -3}, \"async\": true, \"scheduled_to\": $at_ms}")
check "a scheduled invoke is accepted" '200 OK' "$(field "$c" http) $(field "$c" status)"
check "scheduled_to (epoch ms) becomes the delivery time" "$at_ms" \
  "$(q -c "SELECT (extract(epoch FROM deliver_at) * 1000)::bigint FROM spawn._mailbox WHERE id = $(field "$c" request_id)")"
q -c "DELETE FROM spawn._mailbox WHERE id = $(field "$c" request_id)" >/dev/null  # not waiting ten minutes
wait_mailbox_empty 20
check "the retried request ran once" '[-1, -2]' "$(q -c "SELECT spawn.state('ledger')->'ids'")"
check "a key over 255 bytes is refused in SQL" 22023 \
  "$(sqlstate alice "SELECT spawn.cast('ledger', 'add', idempotency_key => repeat('k', 256))")"
check "SQL: the same key returns the same id" t \
  "$(as alice -c "SELECT spawn.cast('ledger', 'add', '{\"id\": -4}', idempotency_key => 'k') = spawn.cast('ledger', 'add', '{\"id\": -4}', idempotency_key => 'k')")"
check "keys are per role: bob's 'k' is another request" 2 \
  "$(q -c "SELECT spawn.grant('invoke', 'ledger', 'bob')" >/dev/null 2>&1; as alice -c "SELECT spawn.grant('invoke', 'ledger', 'bob')" >/dev/null
     as bob -c "SELECT spawn.invoke_async('ledger', 'add', '{\"id\": -5}', idempotency_key => 'k')" >/dev/null
     q -c "SELECT count(DISTINCT request_id) FROM spawn._idempotency_keys WHERE key = 'k'")"
wait_mailbox_empty 20

echo "# 32 concurrent clients on one actor"
before=$(q -c "SELECT spawn.state('incrementor')->>'total'")
r=$(client load '{"actor": "incrementor", "action": "add", "clients": 32, "requests": 640}')
check "every request succeeded" "640 0" "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(len(d["ok"]), d["failed"])' "$r")"
check "the total is exact" $((before + 640)) "$(q -c "SELECT spawn.state('incrementor')->>'total'")"

echo "# batches: a failing request next to successful ones in one transaction"
# alice.tally_add reports the transaction it ran in (a batch's requests share one), sleeps when
# asked (so that the requests sent meanwhile queue up for one batch) and fails when asked.
as alice <<'SQL' >/dev/null
CREATE FUNCTION alice.tally_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.pg_sleep(coalesce((payload->>'sleep')::float8, 0));
  IF (payload->>'fail')::boolean THEN
    RAISE EXCEPTION 'tally failed in transaction %', pg_catalog.txid_current();
  END IF;
  PERFORM pg_catalog.set_config('work_mem', '1234kB', true);  -- must not leak to the next request
  RETURN spawn.reply(jsonb_build_object('xact', pg_catalog.txid_current()::text),
                     jsonb_build_object('ids', coalesce(state->'ids', '[]') || (payload->'id')));
END $$;
CREATE FUNCTION alice.tally_settings(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(jsonb_build_object('work_mem', pg_catalog.current_setting('work_mem')), state) $$;
SELECT spawn.register_actor('tally', '{"add": "alice.tally_add", "settings": "alice.tally_settings"}');
SELECT spawn.grant('invoke', 'tally', 'gw');
SQL
batched=no
for attempt in 1 2 3 4 5; do
  base=$((attempt * 100))
  specs=$(python3 -c '
import json, sys
base = int(sys.argv[1])
specs = [{"actor": "tally", "action": "add", "payload": {"id": base, "sleep": 0.5}}]
specs += [{"actor": "tally", "action": "add", "payload": {"id": base + k, "fail": k == 6}} for k in range(1, 13)]
specs += [{"actor": "tally", "action": "settings"} for _ in range(4)]
print(json.dumps(specs))' "$base")
  client batch "$specs" >"$DIR/batch.json"
  verdict=$(python3 - "$DIR/batch.json" "$base" "$(q -c "SELECT spawn.state('tally')->'ids'")" <<'PY'
import json, re, sys
answers, base, ids = json.load(open(sys.argv[1])), int(sys.argv[2]), json.loads(sys.argv[3] or '[]')
adds, settings = answers[:13], answers[13:]
failing = adds[6]
ok_xacts = [json.loads(a['payload'] or '{}').get('xact') if isinstance(a['payload'], str) else (a['payload'] or {}).get('xact')
            for k, a in enumerate(adds) if k != 6]
m = re.search(r'tally failed in transaction (\d+)', failing['message'] or '')
if not m or m.group(1) not in ok_xacts:
    print('not batched'); sys.exit()
problems = []
if (failing['http'], failing['status']) != (500, 'ERROR'): problems.append(f'failing answered {failing["http"]}')
if any((a['http'], a['status']) != (200, 'OK') for k, a in enumerate(adds) if k != 6): problems.append('a success failed')
mine = [i for i in ids if base <= i < base + 100]
if sorted(mine) != sorted(base + k for k in range(13) if k != 6): problems.append(f'ids {mine}')
if any((s['payload'] or {}).get('work_mem') == '1234kB' for s in settings): problems.append('a setting leaked')
print('; '.join(problems) or 'ok')
PY
)
  [ "$verdict" = "not batched" ] && continue
  batched=yes
  break
done
check "a failing request shared a transaction with successful ones" yes "$batched"
check "only it failed: the others answered 200 and were applied, it was not" ok "$verdict"
client batch "$(python3 -c 'import json; print(json.dumps([{"actor": "ledger", "action": "add", "payload": {"id": -7}, "async": True, "key": "together"}] * 8))')" >"$DIR/keys.json"
check "one Idempotency-Key sent 8 times at once: every answer names the same request" "200 OK 1" \
  "$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(" ".join(f"{h} {s}" for h, s in sorted({(x["http"], x["status"]) for x in a})), len({x["request_id"] for x in a}))' "$DIR/keys.json")"
wait_mailbox_empty 20
check "and it ran once" 1 "$(q -c "SELECT count(*) FROM jsonb_array_elements(spawn.state('ledger')->'ids') i WHERE i = '-7'")"

echo "# bad input over HTTP"
check "an unknown path is 404" 404 "$(http_status "$gw/api/v1/nothing")"
check "a wrong method is 405" 405 "$(http_status -X POST "$gw/health")"
check "405 names the allowed method" "Allow: POST" "$(curl -s -D - -o /dev/null "$gw/api/v1/system" | grep -o 'Allow: POST')"
head -c 0 /dev/null >"$DIR/empty.bin"
check "an empty invoke body: 400 with a reply message" "400 ERROR | the body is empty; expected an InvocationRequest" \
  "$(post_raw /api/v1/system/spawn-system/actors/incrementor/invoke "$DIR/empty.bin" "" InvocationResponse)"
printf '\xff\xff\xff\xff\x0f garbage' >"$DIR/garbage.bin"
check "a garbage body: 400 invalid InvocationRequest" "400 ERROR" \
  "$(post_raw /api/v1/system/spawn-system/actors/incrementor/invoke "$DIR/garbage.bin" "" InvocationResponse | cut -d'|' -f1 | xargs)"
client encode '{"actor": "incrementor", "action": "add", "payload": {"value": 1000}}' >"$DIR/full.bin"
head -c $(($(stat -c %s "$DIR/full.bin") - 3)) "$DIR/full.bin" >"$DIR/truncated.bin"
check "a truncated InvocationRequest: 400" "400 ERROR" \
  "$(post_raw /api/v1/system/spawn-system/actors/incrementor/invoke "$DIR/truncated.bin" "" InvocationResponse | cut -d'|' -f1 | xargs)"
check "the path must match the body" "400 ERROR | the path names actor \"other\" but the body \"incrementor\"" \
  "$(post_raw /api/v1/system/spawn-system/actors/other/invoke "$DIR/full.bin" "" InvocationResponse)"
check "a body that is not protobuf: 415" "415" \
  "$(post_raw /api/v1/system/spawn-system/actors/incrementor/invoke "$DIR/full.bin" text/plain InvocationResponse | cut -d' ' -f1)"
head -c 100000 /dev/zero >"$DIR/big.bin"
check "an oversized body: 413 with the limit" "413 ERROR | the body is larger than spawn.http_max_body (65536 bytes)" \
  "$(post_raw /api/v1/system/spawn-system/actors/incrementor/invoke "$DIR/big.bin" "" InvocationResponse)"
check "an oversized chunked body: 413" 413 \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' --data-binary @"$DIR/big.bin" "$gw/api/v1/system/spawn-system/actors/incrementor/invoke")"
check "a bad escape in the path: 400" 400 "$(http_status -X POST "$gw/api/v1/system/a%2/actors/spawn")"
check "garbage HTTP is answered 400" "HTTP/1.1 400" \
  "$(printf 'NOT HTTP AT ALL\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$gw_port; cat >&3; head -c 12 <&3")"
check "the state is unchanged by the refused requests" $((before + 640)) "$(q -c "SELECT spawn.state('incrementor')->>'total'")"
(cd "$hosts" && node -e "
const wire = require('./wire'); const { registrationRequest } = require('./register');
const r = registrationRequest('kinds'); r.actor_system.registry.actors.incrementor.settings.kind = 4;
process.stdout.write(wire.types.RegistrationRequest.encode(r).finish());") >"$DIR/kinds.bin"
check "a registration naming an unsupported kind: 400 with the actor and kind" \
  '400 ERROR | actor "incrementor" has kind PROXY, which spawn does not support (NAMED, UNNAMED or POOLED)' \
  "$(post_raw /api/v1/system "$DIR/kinds.bin" "" RegistrationResponse)"
(cd "$hosts" && node -e "
const wire = require('./wire'); const { registrationRequest } = require('./register');
process.stdout.write(wire.types.RegistrationRequest.encode(registrationRequest('elsewhere')).finish());") >"$DIR/elsewhere.bin"
q -c "ALTER SYSTEM SET spawn.http_allowed_hosts = '10.0.0.0/8'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
check "a host at a disallowed callback address: 403 ERROR" \
  "403 ERROR | callback address 127.0.0.1 is not allowed (spawn.http_allowed_hosts); the database server calls a host only at an allowed address" \
  "$(post_raw /api/v1/system "$DIR/elsewhere.bin" "" RegistrationResponse)"
q -c "ALTER SYSTEM RESET spawn.http_allowed_hosts" -c "SELECT pg_reload_conf()" >/dev/null
check "an empty registration: 400" "400 ERROR | the body is empty; expected a RegistrationRequest" \
  "$(post_raw /api/v1/system "$DIR/empty.bin" "" RegistrationResponse)"
check "nothing of the refused registrations was stored" "0 0 0" \
  "$(q -c "SELECT (SELECT count(*) FROM spawn.systems WHERE name IN ('kinds', 'elsewhere')) || ' ' ||
                  (SELECT count(*) FROM spawn._hosts WHERE name IN ('sdk-kinds', 'sdk-elsewhere')) || ' ' ||
                  (SELECT count(*) FROM spawn._definitions WHERE system IN ('kinds', 'elsewhere'))")"

echo "# spawn"
q -c "SELECT spawn.register_actor('tmpl', '{\"add\": \"alice.ledger_add\"}', kind => 'unnamed')" >/dev/null
q -c "SELECT spawn.grant('spawn', 'tmpl', 'gw'); SELECT spawn.grant('invoke', 'tmpl', 'gw')" >/dev/null
r=$(client spawn '{"system": "spawn-system", "actors": [{"name": "t-1", "parent": "tmpl"}]}')
check "a SpawnRequest spawns an instance" '200 OK' "$(field "$r" http) $(field "$r" status)"
r=$(client invoke '{"actor": "t-1", "action": "add", "payload": {"id": 7}}')
check "the instance answers" '200 OK' "$(field "$r" http) $(field "$r" status)"
r=$(client spawn '{"system": "spawn-system", "actors": [{"name": "t-2", "parent": "tmpl"}, {"name": "t-3", "parent": "nothing"}]}')
check "a spawn failing for one id spawns none" '500 ERROR 0' \
  "$(field "$r" http) $(field "$r" status) $(q -c "SELECT count(*) FROM spawn.actors WHERE name = 't-2'")"

echo "# metrics"
curl -s "$gw/metrics" >"$DIR/metrics.txt"
check "metrics parse and carry the expected families" "ok" "$(/usr/bin/python3 - "$DIR/metrics.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ['spawn_gateway_requests', 'spawn_gateway_invocations', 'spawn_gateway_invocation_duration_seconds',
        'spawn_gateway_registrations', 'spawn_gateway_process_up', 'spawn_mailbox_depth', 'spawn_dead_letters',
        'spawn_workers_running', 'spawn_host_calls', 'spawn_host_up']
missing = [n for n in need if n not in families]
if missing: print('missing', missing); sys.exit()
inv = {(s.labels['system'], s.labels['kind'], s.labels['outcome']): s.value
       for s in families['spawn_gateway_invocations'].samples if s.name.endswith('_total')}
hist = [s for s in families['spawn_gateway_invocation_duration_seconds'].samples
        if s.name.endswith('_count') and s.labels['kind'] == 'named']
up = [s.value for s in families['spawn_gateway_process_up'].samples]
if inv.get(('spawn-system', 'named', 'ok'), 0) < 640: print('invocations', inv)
elif not hist or hist[0].value < 640: print('histogram', hist)
elif up != [1.0, 1.0]: print('processes', up)
else: print('ok')
PY
)"

echo "# spawn.http_role"
q -c "ALTER SYSTEM SET spawn.http_role = 'postgres'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
check "with a superuser role the gateway serves nothing" 503 "$(http_status "$gw/health")"
r=$(client invoke '{"actor": "ledger", "action": "add", "payload": {"id": -9}}')
check "and refuses invocations" "500 ERROR the gateway has no valid spawn.http_role" \
  "$(field "$r" http) $(field "$r" status) $(field "$r" message)"
check "it says why in the log" yes \
  "$(grep -q 'serves nothing: spawn.http_role "postgres" is a superuser' "$DIR/server.log" && echo yes)"
q -c "ALTER SYSTEM RESET spawn.http_role" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
check "after a reload with the right role it serves again" 200 "$(http_status "$gw/health")"

echo "# kill -9 of a gateway process under load"
(client load '{"actor": "ledger", "action": "add", "clients": 8, "requests": 1500}' >"$DIR/load.json") &
load_pid=$!
sleep 1.5
victim=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spawn gateway' LIMIT 1")
kill -9 "$victim"
wait "$load_pid"
check "the gateway came back" 0 "$(wait_gateway; echo $?)"
check "a new gateway process runs" t "$(q -c "SELECT count(*) = 2 AND bool_and(pid <> $victim) FROM pg_stat_activity WHERE backend_type = 'spawn gateway'")"
check "some requests succeeded before and after" t \
  "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("t" if len(d["ok"]) > 100 else d)' "$DIR/load.json")"
check "every request answered 200 was applied exactly once" ok "$(python3 - "$DIR/load.json" "$(q -c "SELECT spawn.state('ledger')->'ids'")" <<'PY'
import json, sys, collections
ok = set(json.load(open(sys.argv[1]))['ok'])
ids = [i for i in json.loads(sys.argv[2]) if i is not None and i >= 0]
dups = [i for i, n in collections.Counter(ids).items() if n > 1]
lost = ok - set(ids)
print('ok' if not dups and not lost else f'duplicates {dups[:5]} lost {sorted(lost)[:5]}')
PY
)"
r=$(client invoke '{"actor": "incrementor", "action": "add", "payload": {"value": 1}}')
check "the host's actor answers after the restart" '200 OK' "$(field "$r" http) $(field "$r" status)"

echo "# SIGTERM of a gateway process in the middle of batches"
crashes=$(grep -c 'terminating any other active server processes' "$DIR/server.log")
(client load '{"actor": "incrementor", "action": "add", "clients": 16, "requests": 1500}' >"$DIR/term.json") &
load_pid=$!
sleep 1.5
victim=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'spawn gateway' LIMIT 1")
q -c "SELECT pg_terminate_backend($victim)" >/dev/null
wait "$load_pid"
check "it stops cleanly with connections suspended (no crash of the server)" "$crashes" \
  "$(grep -c 'terminating any other active server processes' "$DIR/server.log")"
check "and comes back" 0 "$(wait_gateway; echo $?)"
finish
