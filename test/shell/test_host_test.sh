#!/usr/bin/env bash
# Smoke test of the Node test actor host (test/hosts): starts it, posts ActorInvocations encoded
# by test/hosts/tool.js with curl, and checks the decoded answers, the 400-with-empty-body of a
# throwing callback, an unknown action, the typed state, a fault mode and the call counts.
# Port 54560 (shifted by SPAWN_PORT_OFFSET). Needs `npm ci` run in test/hosts.
set -uo pipefail
source "$(dirname "$0")/helpers.sh"
hosts=$here/../hosts
port=$((54560 + SPAWN_PORT_OFFSET))
url=http://127.0.0.1:$port
log=$SPAWN_TEST_DIR/test_host.log

node "$hosts/host.js" --port "$port" >"$log" 2>&1 &
host_pid=$!
trap 'kill "$host_pid" 2>/dev/null; wait "$host_pid" 2>/dev/null' EXIT
for _ in $(seq 1 100); do curl -s "$url/control/counts" >/dev/null && break; sleep 0.1; done
kill -0 "$host_pid" 2>/dev/null || {
  echo "not ok - the test host did not start:"
  cat "$log"
  exit 1
}

# post SPEC: posts the ActorInvocation SPEC describes; prints "<http status> <decoded answer>".
post() {
  local body=$SPAWN_TEST_DIR/host_answer.bin status
  status=$(node "$hosts/tool.js" invocation "$1" |
    curl -s -o "$body" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
      --data-binary @- "$url/api/v1/actors/actions")
  if [ -s "$body" ]; then
    echo "$status $(node "$hosts/tool.js" response <"$body")"
  else
    echo "$status empty"
  fi
}

check "incrementor adds to its state" \
  '200 {"actor_name":"incrementor","actor_system":"sys","state":{"total":3},"state_type_url":"type.googleapis.com/eigr.functions.protocol.JSONType","payload":{"total":3}}' \
  "$(post '{"actor": {"name": "incrementor", "system": "sys"}, "action": "add", "state": {"total": 1}, "payload": {"value": 2}}')"
check "an unnamed instance is served by its parent, answering in the v2 spelling it got" \
  '200 {"actor_name":"c-1","actor_system":"sys","state":{"total":5},"state_type_url":"type.googleapis.com/spawn.JSONType","payload":{"total":5}}' \
  "$(post '{"actor": {"name": "c-1", "system": "sys", "parent": "incrementor"}, "action": "add", "payload": {"value": 5}, "spelling": "v2"}')"
check "an unknown action keeps the context and has no payload" \
  '200 {"actor_name":"incrementor","actor_system":"sys","state":{"total":1},"state_type_url":"type.googleapis.com/eigr.functions.protocol.JSONType"}' \
  "$(post '{"actor": {"name": "incrementor", "system": "sys"}, "action": "nope", "state": {"total": 1}}')"
check "a throwing callback answers 400 with an empty body" "400 empty" \
  "$(post '{"actor": {"name": "boom", "system": "sys"}, "action": "fail"}')"
check "the typed actor keeps a test.Counter state" \
  '200 {"actor_name":"typed","actor_system":"sys","state":{"@type":"type.googleapis.com/test.Counter","value":"CAQ="},"state_type_url":"type.googleapis.com/test.Counter","payload":{"value":4}}' \
  "$(post '{"actor": {"name": "typed", "system": "sys"}, "action": "add", "payload": {"value": 4}}')"
check "piper returns a pipe" '{"pipe":{"actor":"summer","action_name":"sum"}}' \
  "$(post '{"actor": {"name": "piper", "system": "sys"}, "action": "pipe", "payload": {"to": "summer", "action": "sum", "value": 1}}' |
    sed 's/.*"workflow"://; s/}$//')"

curl -s --data-binary 'wrong-actor' "$url/control/fault" >/dev/null
check "wrong-actor names another actor" "not-incrementor" \
  "$(post '{"actor": {"name": "incrementor", "system": "sys"}, "action": "get"}' |
    sed 's/.*"actor_name":"\([^"]*\)".*/\1/')"
curl -s --data-binary 'garbage' "$url/control/fault" >/dev/null
check "garbage answers 200 with bytes that are no response" "200" \
  "$(node "$hosts/tool.js" invocation '{"actor": {"name": "incrementor", "system": "sys"}, "action": "get"}' |
    curl -s -o /dev/null -w '%{http_code}' --data-binary @- "$url/api/v1/actors/actions")"
curl -s --data-binary 'none' "$url/control/fault" >/dev/null

check "calls are counted per actor" '{"incrementor":4,"c-1":1,"boom":1,"typed":1,"piper":1}' \
  "$(curl -s "$url/control/counts")"
finish
