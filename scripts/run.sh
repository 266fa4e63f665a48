#!/usr/bin/env bash
# Installs what is missing, builds and installs spawn, starts a local cluster (created on first
# run, reused afterwards) and runs the incrementor example. Works from any folder: when the
# server's user (postgres, as root) cannot enter this checkout, e.g. a clone in root's home,
# the cluster lives in /var/tmp instead of ./cluster. SPAWN_CLUSTER names another place,
# SPAWN_PORT another port (5433).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
"$top/scripts/install-deps.sh"
source "$top/scripts/lib.sh"

port=${SPAWN_PORT:-5433}
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
cluster_start "$dir"

cluster_psql "$dir" "$port" -d postgres -f "$top/docs/examples/incrementor.sql" -t -A
cat <<MSG

spawn is running in $dir (port $port). Connect with:
  psql -h $dir -p $port -U postgres postgres
or set the environment once, then run any example from the top of the checkout:
  export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
  psql -X -v ON_ERROR_STOP=1 -f docs/examples/saga.sql
Stop it with:
  $( [ "$(id -u)" -eq 0 ] && echo "runuser -u postgres -- ")$PG_BIN/pg_ctl -D $dir/data stop
MSG
