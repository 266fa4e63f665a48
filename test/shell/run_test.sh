#!/usr/bin/env bash
# ./scripts/run.sh works from a checkout the postgres user cannot enter (a clone in root's home,
# mode 700): it puts the cluster where the server can reach it, says where, and runs the
# incrementor example. Needs root (as a plain user the server runs as that user anyway).
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
port=$((${RUN_TEST_PORT:-54496} + SPAWN_PORT_OFFSET))
export SPAWN_HTTP_PORT=$((19496 + SPAWN_PORT_OFFSET))
if [ "$(id -u)" -ne 0 ]; then
  echo "ok - skipped: not root"
  exit 0
fi
private=$(mktemp -d /tmp/spawn-private.XXXXXX)  # mode 700, owned by root
chmod 700 "$private"
mkdir "$private/spawn"
tar -C "$top" --exclude=./build --exclude=./cluster --exclude='*.o' --exclude='*.so' -cf - . |
  tar -C "$private/spawn" -xf -
cluster=""
cleanup() {
  [ -n "$cluster" ] && cluster_stop "$cluster"
  [ -n "$cluster" ] && rm -rf "$cluster"
  rm -rf "$private"
}
trap cleanup EXIT
check "postgres cannot enter the checkout" "no" "$(as_pg test -x "$private/spawn" && echo yes || echo no)"

out=$(cd "$private/spawn" && SPAWN_PORT=$port ./scripts/run.sh 2>&1) && rc=0 || rc=$?
check "run.sh succeeds from a mode-700 checkout" 0 "$rc"
[ "$rc" -eq 0 ] || echo "$out" | tail -n 20
check "no permission errors" "" "$(echo "$out" | grep -i 'permission denied' || true)"
cluster=$(echo "$out" | sed -n 's/^Cluster: \(.*\) (port .*/\1/p')
check "it says where its cluster is" "yes" "$([ -n "$cluster" ] && [ -f "$cluster/data/PG_VERSION" ] && echo yes || echo no)"
check "the cluster is outside the checkout" "yes" "$(case "$cluster" in "$private"*) echo no ;; *) echo yes ;; esac)"
check "the example ran" '{"total": 2}' "$(echo "$out" | grep -F '{"total"' | tail -n 1)"
check "the connect line names the cluster" "yes" \
  "$(echo "$out" | grep -qF "psql -h $cluster -p $port" && echo yes || echo no)"
check "it prints the gateway's address" "yes" \
  "$(echo "$out" | grep -qF "http://127.0.0.1:$SPAWN_HTTP_PORT" && echo yes || echo no)"
# The role appears after the gateway started: it looks it up again within 5 s.
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPAWN_HTTP_PORT/health")" = 200 ] && break
  sleep 0.1
done
check "the gateway answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SPAWN_HTTP_PORT/health")"

# A second run reuses the cluster (and the example starts from a fresh state again).
out=$(cd "$private/spawn" && SPAWN_PORT=$port ./scripts/run.sh 2>&1) && rc=0 || rc=$?
check "a second run succeeds" 0 "$rc"
check "and reuses the cluster" "Cluster: $cluster (port $port)" "$(echo "$out" | grep '^Cluster: ')"
check "the example starts afresh" '{"total": 2}' "$(echo "$out" | grep -F '{"total"' | tail -n 1)"
check "the gateway still answers" 0 "$(for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$SPAWN_HTTP_PORT/health" && break; sleep 0.1; done; curl -sf -o /dev/null "http://127.0.0.1:$SPAWN_HTTP_PORT/health"; echo $?)"
finish
