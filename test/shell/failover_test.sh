#!/usr/bin/env bash
# Failover with no acknowledged loss: a primary with a synchronous standby (streaming
# replication). Four clients invoke and cast through a multi-host connection string with
# target_session_attrs=read-write; the primary's processes are killed with SIGKILL, the standby
# is promoted with pg_ctl promote, the clients carry on there. Every acknowledged invocation and
# cast is then present exactly once, nothing is applied twice, and timers and schedules fire
# on the new primary.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster failover_primary 54580 "spawn.retry_base_ms = 100"
primary_dir=$DIR
primary_port=$PORT
standby=$SPAWN_TEST_DIR/failover_standby
standby_port=$((54581 + SPAWN_PORT_OFFSET))
mkdir -p "$standby"
[ "$(id -u)" -eq 0 ] && chown postgres: "$standby"

create_incrementor
q <<'SQL' >/dev/null
CREATE FUNCTION public.tick_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_build_object('total', coalesce((state->>'total')::bigint, 0) + 1))
$$;
CREATE FUNCTION public.ledger_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(payload->'id', jsonb_build_object('ids', coalesce(state->'ids', '[]') || (payload->'id')))
$$;
SELECT spawn.register_actor('ledger', actions => '{"add": "public.ledger_add"}', kind => 'unnamed');
SELECT spawn.register_actor('ticker', actions => '{"tick": "public.tick_add"}',
  kind => 'unnamed', timers => '[{"action": "tick", "every_ms": 200}]');
SELECT spawn.spawn_actor('ticker-1', 'ticker');
SELECT spawn.register_actor('cron', actions => '{"tick": "public.tick_add"}');
SELECT spawn.schedule('cron', 'tick', '* * * * * *');
SQL

as_pg pg_basebackup -h "$primary_dir" -p "$primary_port" -U postgres -D "$standby/data" -R -X stream >/dev/null
as_pg sed -i -e "s/^port = .*/port = $standby_port/" -e "s|^unix_socket_directories = .*|unix_socket_directories = '$standby'|" \
  "$standby/data/postgresql.conf"
as_pg tee -a "$standby/data/postgresql.auto.conf" >/dev/null <<CONF
primary_conninfo = 'host=$primary_dir port=$primary_port user=postgres application_name=standby1'
CONF
cluster_start "$standby"
trap 'cluster_stop "$standby" immediate; cluster_stop "$primary_dir" immediate' EXIT
# Synchronous from now on: a commit returns once the standby has flushed it.
q -c "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" -c "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 100); do
  [ "$(q -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby1' AND sync_state = 'sync'")" = 1 ] && break
  sleep 0.1
done
check "the standby is synchronous" sync "$(q -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")"

work=$SPAWN_TEST_DIR/failover_run
mkdir -p "$work"
dsn="host=$primary_dir,$standby port=$primary_port,$standby_port user=postgres dbname=postgres target_session_attrs=read-write"
/usr/bin/python3 "$(dirname "$0")/failover_clients.py" "$dsn" 8 "$work" &
clients=$!
sleep 3
pm=$(as_pg head -n 1 "$primary_dir/data/postmaster.pid")
# The whole primary dies at once, as with a machine crash: postmaster and every child.
kill -KILL "$pm" $(pgrep -P "$pm") 2>/dev/null || true
while kill -0 "$pm" 2>/dev/null; do sleep 0.05; done
echo "primary killed; promoting the standby"
as_pg pg_ctl -D "$standby/data" promote -w >/dev/null
DIR=$standby
PORT=$standby_port
# The new primary has no standby yet: stop waiting for one (docs/high-availability.md).
q -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c "SELECT pg_reload_conf()" >/dev/null
wait "$clients"

cat "$work"/*.acked | sort -n > "$work/acked"
cat "$work"/*.unknown | sort -n > "$work/unknown"
cat "$work"/cast-*.acked | sort -n > "$work/acked_casts"
echo "acknowledged: $(wc -l < "$work/acked") ($(wc -l < "$work/acked_casts") casts); outcome unknown: $(wc -l < "$work/unknown")"
after=$(cat "$work"/*.after | paste -sd+ | bc)
check_true "every client lost its connection and went on on the new primary ($after calls)" \
  test "$(cat "$work"/*.unknown | wc -l)" -ge 4 -a "$(grep -c '^0$' "$work"/*.after | awk -F: '{s += $2} END {print s}')" = 0
wait_mailbox_empty 60
check "the new primary drained the mailbox" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"
q -c "SELECT (jsonb_array_elements(spawn.state(name)->'ids'))::bigint FROM spawn.actors WHERE parent = 'ledger'" |
  sort -n > "$work/applied"
check "no call was applied twice" "" "$(uniq -d "$work/applied" | head -n 5 | tr '\n' ' ')"
check "every acknowledged call is applied" "" "$(comm -23 "$work/acked" "$work/applied" | head -n 5 | tr '\n' ' ')"
check "nothing was applied that no client sent" "" \
  "$(comm -23 "$work/applied" <(sort -n "$work/acked" "$work/unknown") | head -n 5 | tr '\n' ' ')"
check "no dead letters" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"

ticks() { q -c "SELECT coalesce((spawn.state('ticker-1')->>'total')::int, 0)"; }
crons() { q -c "SELECT coalesce((spawn.state('cron')->>'total')::int, 0)"; }
t0=$(ticks)
c0=$(crons)
sleep 2.5
check_true "the timer keeps firing on the new primary ($t0 -> $(ticks))" test "$(ticks)" -gt "$t0"
check_true "the schedule keeps firing on the new primary ($c0 -> $(crons))" test "$(crons)" -gt "$c0"
finish
