#!/usr/bin/env bash
# The scheduler never runs on a standby, and starts there once it is promoted.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster standby_primary 54540
primary_dir=$DIR
primary_port=$PORT
standby=$SPAWN_TEST_DIR/standby
mkdir -p "$standby"
[ "$(id -u)" -eq 0 ] && chown postgres: "$standby"
as_pg pg_basebackup -h "$primary_dir" -p "$primary_port" -U postgres -D "$standby/data" -R -X stream >/dev/null
as_pg sed -i -e "s/^port = .*/port = $((54541 + SPAWN_PORT_OFFSET))/" -e "s|^unix_socket_directories = .*|unix_socket_directories = '$standby'|" \
  "$standby/data/postgresql.conf"
cluster_start "$standby"
trap 'cluster_stop "$standby" immediate; cluster_stop "$primary_dir" immediate' EXIT
DIR=$standby
PORT=$((54541 + SPAWN_PORT_OFFSET))
workers() { q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'spawn%'"; }
sleep 2
check "the standby is in recovery" t "$(q -c "SELECT pg_is_in_recovery()")"
check "no scheduler process runs on the standby" 0 "$(workers)"
as_pg pg_ctl -D "$standby/data" promote -w >/dev/null
for _ in $(seq 1 50); do [ "$(workers)" = 3 ] && break; sleep 0.2; done
check "after promotion the launcher and 2 workers run" 3 "$(workers)"
finish
