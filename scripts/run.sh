#!/usr/bin/env bash
# Installs what is missing, builds and installs spawn, starts a local cluster in ./cluster
# (created on first run, reused afterwards) and runs the incrementor example.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
"$top/scripts/install-deps.sh"
source "$top/scripts/lib.sh"

dir="$top/cluster"
port=${SPAWN_PORT:-5433}
build_and_install
cluster_init "$dir" "$port"
cluster_start "$dir"

cluster_psql "$dir" "$port" -d postgres -f "$top/docs/examples/incrementor.sql" -t -A
cat <<MSG

spawn is running in $dir (port $port). Connect with:
  psql -h $dir -p $port -U postgres postgres
Stop it with:
  $( [ "$(id -u)" -eq 0 ] && echo "runuser -u postgres -- ")$PG_BIN/pg_ctl -D $dir/data stop
MSG
