#!/usr/bin/env bash
# Interoperability with the real Spawn Node SDK (not part of this repository): a host written
# with the SDK, pointed at spawn's gateway only through PROXY_HTTP_HOST, PROXY_HTTP_PORT and
# USER_FUNCTION_PORT, registers its system, serves its actor's action for SQL callers, and
# invokes its own actor and a SQL actor through the gateway. Skips (exit 0) when no copy of
# the SDK is at hand: SPAWN_NODE_SDK names its folder (with build.sh), default
# ../shared/clients/node-sdk next to the checkout (docs/gateway.md).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
sdk_dir=${SPAWN_NODE_SDK:-$top/../shared/clients/node-sdk}
[ -d "$sdk_dir" ] || sdk_dir=/work/shared/clients/node-sdk
if [ ! -x "$sdk_dir/build.sh" ]; then
  echo "ok - skipped: no Spawn Node SDK (set SPAWN_NODE_SDK to a folder with build.sh)"
  exit 0
fi
sdk=$("$sdk_dir/build.sh" | tail -n 1)
source "$top/test/shell/helpers.sh"
gw_port=$((19201 + SPAWN_PORT_OFFSET))
fn_port=$((19290 + SPAWN_PORT_OFFSET))
test_cluster sdk_interop 54720 "spawn.http_port = $gw_port
spawn.http_role = 'gw'
spawn.http_callback_port = $fn_port"
host_pid=""
trap '[ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null; cluster_stop "$DIR" immediate' EXIT
q <<'SQL' >/dev/null
CREATE ROLE gw;
GRANT EXECUTE ON FUNCTION spawn.register_host(text, text, jsonb) TO gw;
GRANT CREATE ON DATABASE postgres TO gw;
CREATE FUNCTION public.sql_add(state jsonb, payload jsonb) RETURNS spawn.value LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s $$;
SELECT spawn.register_actor('sql_counter', '{"add": "public.sql_add"}');
SELECT spawn.grant('invoke', 'sql_counter', 'gw');
SQL
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$gw_port/health" && break; sleep 0.1; done

# The SDK host: one JSON actor, registered at start-up, then three invocations through the gateway.
cat >"$DIR/sdk_host.js" <<JS
const spawn = require('$sdk');
const { Value } = spawn;
const system = spawn.default.createSystem('sdk_interop');
const counter = system.buildActor({ name: 'counter', stateType: 'json', kind: spawn.Kind.NAMED, stateful: true });
counter.addAction({ name: 'add', payloadType: 'json', responseType: 'json' }, async (context, payload) => {
  const total = ((context.state && context.state.total) || 0) + payload.value;
  return Value.of().state({ total }).response({ total });
});
(async () => {
  const registration = await system.register();
  console.log('registered ' + JSON.stringify(registration.status));
  const own = await spawn.default.invoke('counter', { action: 'add', payload: { value: 2 } });
  console.log('own ' + JSON.stringify(own));
  const sql = await spawn.default.invoke('sql_counter', { action: 'add', system: 'spawn-system', payload: { value: 5 } });
  console.log('sql ' + JSON.stringify(sql));
})().catch((e) => console.log('error ' + e.message));
JS
(cd "$DIR" && PROXY_HTTP_HOST=127.0.0.1 PROXY_HTTP_PORT=$gw_port USER_FUNCTION_PORT=$fn_port exec node sdk_host.js) >"$DIR/sdk_host.log" 2>&1 &
host_pid=$!
for _ in $(seq 1 150); do grep -q '^sql \|^error ' "$DIR/sdk_host.log" && break; sleep 0.1; done
check "the SDK host registered through the gateway" 1 "$(grep -c '^registered ' "$DIR/sdk_host.log")"
check "its actor is registered, bound to its host" "host:sdk-sdk_interop" \
  "$(q -c "SELECT d.actions->>'add' FROM spawn._definitions d WHERE d.system = 'sdk_interop' AND d.name = 'counter'")"
check "the SDK invokes its own actor through the gateway" 'own {"total":2}' "$(grep '^own ' "$DIR/sdk_host.log")"
check "the SDK invokes a SQL actor through the gateway" 'sql {"total":5}' "$(grep '^sql ' "$DIR/sdk_host.log")"
check "SQL invokes the SDK host's actor" '{"total": 5}' \
  "$(q -c "SELECT spawn.invoke('counter', 'add', '{\"value\": 3}', 'sdk_interop')")"
grep -q '^error ' "$DIR/sdk_host.log" && cat "$DIR/sdk_host.log"
finish
