#!/usr/bin/env bash
# Installs what is missing, builds and installs spawn, starts a local cluster (created on first
# run, reused afterwards) and runs the incrementor example. Works from any folder: when the
# server's user (postgres, as root) cannot enter this checkout, e.g. a clone in root's home,
# the cluster lives in /var/tmp instead of ./cluster. SPAWN_CLUSTER names another place,
# SPAWN_PORT another port (5433). The HTTP gateway (docs/gateway.md) listens on SPAWN_HTTP_PORT
# (9001, shifted by SPAWN_PORT_OFFSET) with requests running as role spawn_gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
"$top/scripts/install-deps.sh"
source "$top/scripts/lib.sh"

port=${SPAWN_PORT:-5433}
http_port=${SPAWN_HTTP_PORT:-$((9001 + ${SPAWN_PORT_OFFSET:-0}))}
# Whether the server's user can reach DIR (enter every folder above it).
server_can_enter() { as_pg test -x "$1" 2>/dev/null; }
if [ -n "${SPAWN_CLUSTER:-}" ]; then
  dir=$SPAWN_CLUSTER
elif server_can_enter "$top"; then
  dir="$top/cluster"
else
  dir="/var/tmp/spawn-cluster-$(printf '%s' "$top" | md5sum | cut -c1-8)"
  echo "The postgres user cannot enter $top; the cluster lives in $dir instead."
fi
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
server_can_enter "$dir" || {
  echo "The server's user cannot enter $dir: set SPAWN_CLUSTER to a folder it can reach." >&2
  exit 1
}
echo "Cluster: $dir (port $port)"

build_and_install
# The server's programs start in the current folder, which must be one they may enter.
cd /
cluster_init "$dir" "$port"
# The gateway's settings (also for a cluster an earlier run created without them).
as_pg sed -i '/^spawn.http_\(port\|role\) /d' "$dir/data/postgresql.conf"
printf "spawn.http_port = %s\nspawn.http_role = 'spawn_gateway'\n" "$http_port" |
  as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
as_pg pg_ctl -D "$dir/data" status >/dev/null 2>&1 && as_pg pg_ctl -D "$dir/data" -w restart -m fast >/dev/null
cluster_start "$dir"

cluster_psql "$dir" "$port" -d postgres -f "$top/docs/examples/incrementor.sql" -t -A
# The gateway's role: never a superuser; it may declare the hosts that register and create
# their systems (docs/gateway.md#security).
cluster_psql "$dir" "$port" -d postgres -q -t -A <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spawn_gateway') THEN
    CREATE ROLE spawn_gateway;
  END IF;
END $$;
GRANT EXECUTE ON FUNCTION spawn.register_host(text, text, jsonb) TO spawn_gateway;
GRANT CREATE ON DATABASE postgres TO spawn_gateway;
SQL
cat <<MSG

spawn is running in $dir (port $port). Its HTTP gateway, for Spawn SDK hosts
(PROXY_HTTP_HOST=127.0.0.1 PROXY_HTTP_PORT=$http_port), is at:
  http://127.0.0.1:$http_port  (curl http://127.0.0.1:$http_port/health)
Connect with:
  psql -h $dir -p $port -U postgres postgres
or set the environment once, then run any example from the top of the checkout:
  export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  psql -X -v ON_ERROR_STOP=1 -f docs/examples/saga.sql
Stop it with:
  $( [ "$(id -u)" -eq 0 ] && echo "runuser -u postgres -- ")$PG_BIN/pg_ctl -D $dir/data stop
MSG
