#!/usr/bin/env bash
# Sharding through spawn_router, with a router and two shards on loopback: the incrementor
# through the router, 16 clients over 1,000 actors ending with exact totals, broadcasts reaching
# every shard's subscribers once, the calling role passed through to the shards, routed ids,
# and the refusals (a synchronous call to another shard, bad arguments, ordinary roles).
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
source "$(dirname "$0")/shards.sh"
shards_start 54560

for s in router 0 1; do
  sql="CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN"
  if [ "$s" = router ]; then router_q -c "$sql"; else shard_q "$s" -c "$sql"; fi
done
{ incrementor_sql; cat <<'SQL'; } | on_all_shards
CREATE FUNCTION public.listener_receive(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_build_object('heard', coalesce(state->'heard', '[]') || (payload->'headline')))
$$;
CREATE FUNCTION public.announce(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.with_broadcast(spawn.reply('"sent"', state), 'news', payload => payload)
$$;
CREATE FUNCTION public.relay(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.pipe(spawn.reply(jsonb_build_object('value', 1), state), payload->>'to', 'add')
$$;
GRANT CREATE ON DATABASE postgres TO alice;
SQL

echo "# the incrementor through the router"
router_q -c "SELECT spawn.register_actor('incrementor', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
check "first invoke through the router" '{"total": 1}' "$(router_q -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
check "second invoke through the router" '{"total": 2}' "$(router_q -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
home=$(shard_of spawn-system incrementor)
check "the state changes on the incrementor's shard only (revisions 2 and 0)" "2 0" \
  "$(shard_q "$home" -c "SELECT revision FROM spawn.actors WHERE name = 'incrementor'") $(shard_q $((1 - home)) -c "SELECT revision FROM spawn.actors WHERE name = 'incrementor'")"
check "spawn.actors on the router lists it once" 1 "$(router_q -c "SELECT count(*) FROM spawn.actors WHERE name = 'incrementor'")"

echo "# a named actor's timer ticks on its own shard only"
router_q -c "SELECT spawn.register_actor('ticker', actions => '{\"add\": \"public.incrementor_add\"}',
                                         timers => '[{\"action\": \"add\", \"every_ms\": 100}]')" >/dev/null
home=$(shard_of spawn-system ticker)
timer_rows() { shard_q "$1" -c "SELECT count(*) FROM spawn._timers WHERE actor = 'ticker'"; }
check "its timer is on its own shard only" "1 0" "$(timer_rows "$home") $(timer_rows $((1 - home)))"
sleep 1
check "the copy on the other shard never ran (revision 0)" 0 \
  "$(shard_q $((1 - home)) -c "SELECT revision FROM spawn.actors WHERE name = 'ticker'")"
check_true "it ticked on its own shard" test \
  "$(shard_q "$home" -c "SELECT revision FROM spawn.actors WHERE name = 'ticker'")" -gt 0
router_q -c "SELECT spawn.unregister_actor('ticker')" >/dev/null

echo "# 16 clients over 1,000 actors"
router_q -c "SELECT spawn.register_actor('counter', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed');
             CREATE TABLE sent (actor int NOT NULL)" >/dev/null
work=$SPAWN_TEST_DIR/router_run
mkdir -p "$work"
cat > "$work/invoke.sql" <<'SQL'
\set a random(1, 1000)
BEGIN;
INSERT INTO sent VALUES (:a);
SELECT spawn.invoke('k-' || :a, 'add', '{"value": 1}', register_ref => 'counter');
COMMIT;
SQL
chmod -R a+rwx "$work"
as_pg pgbench -n -h "$ROUTER_DIR" -p "$ROUTER_PORT" -U postgres -c 16 -j 2 -t 250 -f "$work/invoke.sql" \
  postgres >"$work/pgbench.out" 2>&1 || true
check "4,000 invocations, none failed" "4000 0" \
  "$(awk '/processed:/ {split($NF, a, "/"); p = a[1]} /failed:/ {f = $2} END {print p, f + 0}' "$work/pgbench.out")"
check "every actor's total equals the invocations it was sent" 0 "$(router_q -c "
  SELECT count(*) FROM (SELECT actor, count(*) AS n FROM sent GROUP BY actor) s
  WHERE (spawn.state('k-' || s.actor)->>'total')::bigint IS DISTINCT FROM s.n")"
check "the totals add up to 4,000" 4000 "$(router_q -c "SELECT sum((spawn.state(name)->>'total')::bigint) FROM spawn.actors WHERE parent = 'counter'")"
counts="$(shard_q 0 -c "SELECT count(*) FROM spawn.actors WHERE parent = 'counter'") $(shard_q 1 -c "SELECT count(*) FROM spawn.actors WHERE parent = 'counter'")"
check_true "both shards hold counters ($counts)" test "${counts% *}" -gt 300 -a "${counts#* }" -gt 300
check "no actor is on the wrong shard" 0 "$(for i in 0 1; do shard_q $i -c "SELECT count(*) FROM spawn.actors WHERE parent = 'counter' AND NOT spawn._shard_owns(system, name)"; done | paste -sd+ | bc)"

echo "# broadcasts reach every shard's subscribers once"
router_q <<'SQL' >/dev/null
SELECT spawn.register_actor('listener', kind => 'unnamed', actions => '{"receive": "public.listener_receive"}',
  channels => '[{"topic": "news"}]');
SELECT spawn.register_actor('announcer', actions => '{"announce": "public.announce"}');
SELECT spawn.spawn_actor('l-' || i, 'listener') FROM generate_series(1, 20) i;
SQL
check "listeners on both shards" "t t" "$(shard_q 0 -c "SELECT count(*) > 0 FROM spawn.actors WHERE parent = 'listener'") $(shard_q 1 -c "SELECT count(*) > 0 FROM spawn.actors WHERE parent = 'listener'")"
check "spawn.broadcast through the router reaches 20 subscribers" 20 \
  "$(router_q -c "SELECT spawn.broadcast('news', payload => '{\"headline\": \"one\"}')")"
check "a handler's broadcast on one shard" '"sent"' "$(router_q -c "SELECT spawn.invoke('announcer', 'announce', '{\"headline\": \"two\"}')")"
heard() { router_q -c "SELECT count(*) FROM spawn.actors a WHERE a.parent = 'listener' AND spawn.state(a.name)->'heard' = '[\"one\", \"two\"]'"; }
for _ in $(seq 1 100); do [ "$(heard)" = 20 ] && break; sleep 0.2; done
sleep 1
check "every listener heard both broadcasts once" 20 "$(heard)"

echo "# routed ids: requests, replies, schedules"
# k-7 and k-8 exist whichever counters the random pgbench run above reached.
for k in 7 8; do
  router_q -c "SELECT spawn.invoke('k-$k', 'add', '{\"value\": 0}', register_ref => 'counter')" >/dev/null
done
before=$(router_q -c "SELECT (spawn.state('k-7')->>'total')::int")
req=$(router_q -c "SELECT spawn.invoke_async('k-7', 'add', '{\"value\": 10}')")
check "spawn.wait through the router" "$((before + 10))" "$(router_q -c "SELECT spawn.wait($req, 20000)->>'total'")"
check "spawn.result through the router" ok "$(router_q -c "SELECT status FROM spawn.result($req)")"
sid=$(router_q -c "SELECT spawn.schedule('k-8', 'add', '0 0 1 1 *', '{\"value\": 1}')")
check "the schedule is on the actor's shard only, listed with its routed id" "1 $sid" \
  "$(router_q -c "SELECT count(*), max(id) FROM spawn.schedules WHERE actor = 'k-8'" | tr '|' ' ')"
router_q -c "SELECT spawn.unschedule($sid)" >/dev/null
check "unschedule through the router" 0 "$(router_q -c "SELECT count(*) FROM spawn.schedules")"

echo "# a synchronous call cannot cross shards"
router_q -c "SELECT spawn.register_actor('relay', actions => '{\"pass\": \"public.relay\"}', kind => 'unnamed')" >/dev/null
router_q -c "SELECT spawn.spawn_actor('r-1', 'relay')" >/dev/null
src_shard=$(shard_of spawn-system r-1)
# Counters that exist: the ones the pgbench run above invoked.
near=$(router_q -c "SELECT min('k-' || actor) FROM sent WHERE (spawn.shard_hash('spawn-system', 'k-' || actor) & 3) % 2 = $src_shard")
far=$(router_q -c "SELECT min('k-' || actor) FROM sent WHERE (spawn.shard_hash('spawn-system', 'k-' || actor) & 3) % 2 <> $src_shard")
far_before=$(router_q -c "SELECT spawn.state('$far')")
check "a pipe to an actor on the same shard runs" t \
  "$(router_q -c "SELECT (spawn.invoke('r-1', 'pass', '{\"to\": \"$near\"}')->>'total')::int > 0")"
check "a pipe to an actor on another shard is refused (0A000)" 0A000 \
  "$(router_sqlstate postgres "SELECT spawn.invoke('r-1', 'pass', '{\"to\": \"$far\"}')")"
check "a direct invoke of another shard's actor is refused (0A000)" 0A000 \
  "$(psql -X -q -h "${SHARD_DIR[$src_shard]}" -p "${SHARD_PORT[$src_shard]}" -U postgres -d postgres \
      -c '\set VERBOSITY sqlstate' -c "SELECT spawn.invoke('$far', 'add', '{\"value\": 1}')" 2>&1 | grep -oE '[0-9A-Z]{5}$' || true)"
check "the refused calls changed nothing" "$far_before" "$(router_q -c "SELECT spawn.state('$far')")"

echo "# the calling role reaches the shards"
as_alice() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$ROUTER_DIR" -p "$ROUTER_PORT" -U alice -d postgres "$@"; }
for i in 0 1; do shard_q $i -c "CREATE SCHEMA alice AUTHORIZATION alice" ; done
for i in 0 1; do psql -X -q -h "${SHARD_DIR[$i]}" -p "${SHARD_PORT[$i]}" -U alice -d postgres -c "
  CREATE FUNCTION alice.add(state jsonb, payload jsonb) RETURNS spawn.value LANGUAGE sql AS
  \$\$ SELECT spawn.reply(to_jsonb(current_user::text), state) \$\$" >/dev/null; done
as_alice -c "SELECT spawn.register_actor('alices', actions => '{\"add\": \"alice.add\"}')" >/dev/null
check "alice's actor is alice's on both shards" "alice alice" \
  "$(shard_q 0 -c "SELECT owner FROM spawn.definitions WHERE name = 'alices'") $(shard_q 1 -c "SELECT owner FROM spawn.definitions WHERE name = 'alices'")"
check "her handler runs as alice through the router" '"alice"' "$(as_alice -c "SELECT spawn.invoke('alices', 'add')")"
check "bob may not invoke it through the router (42501)" 42501 "$(router_sqlstate bob "SELECT spawn.invoke('alices', 'add')")"
check "bob may not unregister it (42501)" 42501 "$(router_sqlstate bob "SELECT spawn.unregister_actor('alices')")"
check "bob sees none of alice's actors" 0 "$(psql -X -q -t -A -h "$ROUTER_DIR" -p "$ROUTER_PORT" -U bob -d postgres -c "SELECT count(*) FROM spawn.actors WHERE name = 'alices'")"
check "bob may not sync the shards (42501)" 42501 "$(router_sqlstate bob "SELECT spawn.sync_shards('host=x')")"
check "bob may not configure a shard directly (42501)" 42501 \
  "$(psql -X -q -h "${SHARD_DIR[0]}" -p "${SHARD_PORT[0]}" -U bob -d postgres -c '\set VERBOSITY sqlstate' \
      -c "SELECT spawn._shard_configure(1, '{0}', 'host=x')" 2>&1 | grep -oE '[0-9A-Z]{5}$' || true)"
check "the shards' identities are unchanged" "{0,2} {1,3}" "$(shard_q 0 -c "SELECT partitions FROM spawn._shard_identity") $(shard_q 1 -c "SELECT partitions FROM spawn._shard_identity")"

echo "# bad arguments"
check "a NULL actor (22004)" 22004 "$(router_sqlstate postgres "SELECT spawn.invoke(NULL, 'add')")"
check "a NULL request id (22004)" 22004 "$(router_sqlstate postgres "SELECT spawn.wait(NULL)")"
check "an unknown actor keeps its SQLSTATE across the router (42704)" 42704 "$(router_sqlstate postgres "SELECT spawn.invoke('nobody', 'add')")"
check "an unknown request id (42704)" 42704 "$(router_sqlstate postgres "SELECT spawn.result(999999)")"
check "sync_shards without a router address (22023)" 22023 "$(router_sqlstate postgres "SELECT spawn.sync_shards('')")"
check "spawn_router refuses a database that holds spawn (55006)" 55006 \
  "$(psql -X -q -h "${SHARD_DIR[0]}" -p "${SHARD_PORT[0]}" -U postgres -d postgres -c '\set VERBOSITY sqlstate' \
      -c "CREATE EXTENSION spawn_router" 2>&1 | grep -oE '[0-9A-Z]{5}$' || true)"
router_q -c "ALTER SERVER spawn_shards RENAME TO elsewhere" >/dev/null
check "sync_shards without the cluster spawn_shards (42704)" 42704 \
  "$(router_sqlstate postgres "SELECT spawn.sync_shards('host=$ROUTER_DIR port=$ROUTER_PORT dbname=postgres')")"
router_q -c "ALTER SERVER elsewhere RENAME TO spawn_shards" >/dev/null
check "the shards work again" '{"total": 3}' "$(router_q -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"
finish
