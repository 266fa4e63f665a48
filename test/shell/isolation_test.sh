#!/usr/bin/env bash
# Broken handlers belong to their actor: bob breaks his own handlers, read model and schedules
# in every way a user can (private schema, dropped table, renamed column, dropped or replaced
# function, dropped read model), and alice, the superuser and the scheduler never notice. Each
# case runs in new sessions, which rebuild their catalog cache.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster isolation 54480 "spawn.retry_base_ms = 100
spawn.max_attempts = 2
spawn.housekeeping_interval = 200"

create_alice_and_bob

create_alice_counter
as alice <<'SQL' >/dev/null
SELECT spawn.register_actor('alice-counter', actions => '{"add": "alice.add"}');
SELECT spawn.register_actor('alice-ticker', actions => '{"tick": "alice.add"}',
  timers => '[{"action": "tick", "every_ms": 200}]');
SQL

# bob's actors: a price lookup in his private schema, a timer and a schedule on it, and a strict
# projection of it into a read model of his.
as bob <<'SQL' >/dev/null
CREATE SCHEMA bob;
CREATE TABLE bob.prices (item text, price int);
INSERT INTO bob.prices VALUES ('tea', 3);
CREATE FUNCTION bob.price(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(to_jsonb(p.price), jsonb_build_object('seen', p.price))
  FROM bob.prices p WHERE p.item = 'tea'
$$;
CREATE TABLE bob.shop_view (actor text PRIMARY KEY, seen int);
CREATE FUNCTION bob.project(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO bob.shop_view VALUES (actor, (state->>'seen')::int)
  ON CONFLICT (actor) DO UPDATE SET seen = excluded.seen
$$;
SELECT spawn.register_actor('bob-shop', actions => '{"price": "bob.price"}');
SELECT spawn.register_actor('bob-projected', actions => '{"price": "bob.price"}');
SELECT spawn.register_actor('bob-ticker', actions => '{"tick": "bob.price"}',
  timers => '[{"action": "tick", "every_ms": 200}]');
SELECT spawn.create_projection('bob-view', ARRAY['bob-projected'], 'bob.project', 'bob.shop_view');
SELECT spawn.invoke('bob-shop', 'price');
SELECT spawn.invoke('bob-projected', 'price');
SELECT spawn.invoke('bob-ticker', 'tick');
SELECT spawn.schedule('bob-shop', 'price', '* * * * * *');
SQL
as alice -c "SELECT spawn.invoke('alice-ticker', 'tick')" >/dev/null

# alice_unaffected CASE: alice, the superuser and the scheduler work as before.
total=0
alice_unaffected() {
  total=$((total + 1))
  check "$1: alice invokes her actor" "{\"total\": $total}" \
    "$(as alice -c "SELECT spawn.invoke('alice-counter', 'add')")"
  check "$1: alice casts to her actor" "ok" \
    "$(as alice -c "SELECT spawn.cast('alice-counter', 'add', delay_ms => 100)" >/dev/null && echo ok)"
  total=$((total + 1))
  wait_mailbox_for alice-counter 15
  check "$1: the scheduler delivered alice's cast" "$total" \
    "$(q -c "SELECT spawn.state('alice-counter')->>'total'")"
  check "$1: the superuser reads and invokes" "ok" \
    "$(q -c "SELECT spawn.state('alice-counter'); SELECT spawn.invoke('alice-counter', 'get')" >/dev/null && echo ok)"
  total=$(q -c "SELECT spawn.state('alice-counter')->>'total'")
}

# wait_mailbox_for ACTOR SECONDS: waits until the actor has no queued message.
wait_mailbox_for() {
  local deadline=$(($(date +%s) + $2))
  while [ "$(q -c "SELECT count(*) FROM spawn._mailbox WHERE actor = '$1'")" != 0 ] &&
    [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
}

# bob_fails CASE SQLSTATE: bob's own actor fails with that SQLSTATE, naming the actor.
bob_fails() {
  check "$1: bob's actor fails with $2" "$2" "$(sqlstate bob "SELECT spawn.invoke('bob-shop', 'price')")"
  check "$1: the error names the actor" "1" \
    "$(as bob -v ON_ERROR_STOP=0 -c "SELECT spawn.invoke('bob-shop', 'price')" 2>&1 | grep -c 'spawn actor "bob-shop", action "price"' || true)"
}

alice_unaffected "private schema of bob's"

as bob -c "DROP TABLE bob.prices" >/dev/null
alice_unaffected "dropped table"
bob_fails "dropped table" 42P01

as bob -c "CREATE TABLE bob.prices (item text, cost int); INSERT INTO bob.prices VALUES ('tea', 4)" >/dev/null
alice_unaffected "renamed column"
bob_fails "renamed column" 42703

as bob <<'SQL' >/dev/null
SET check_function_bodies = off;
CREATE OR REPLACE FUNCTION bob.price(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(to_jsonb(n.x), state) FROM bob.nowhere n $$;
SQL
alice_unaffected "replaced function"
bob_fails "replaced function" 42P01

as bob -c "DROP TABLE bob.shop_view" >/dev/null
as bob -c "CREATE OR REPLACE FUNCTION bob.price(state jsonb, payload jsonb) RETURNS spawn.value
  LANGUAGE sql AS \$\$ SELECT spawn.reply('1', jsonb_build_object('seen', random())) \$\$" >/dev/null
alice_unaffected "dropped read model"
check "dropped read model: bob's projected actor fails with 42P01" "42P01" \
  "$(sqlstate bob "SELECT spawn.invoke('bob-projected', 'price')")"

as bob -c "DROP FUNCTION bob.price(jsonb, jsonb)" >/dev/null
alice_unaffected "dropped function"
bob_fails "dropped function" 42883

check "alice's timer kept ticking" "t" \
  "$(q -c "SELECT (spawn.state('alice-ticker')->>'total')::int > 3")"
check "bob's failing messages became dead letters" "t" \
  "$(q -c "SELECT count(*) > 0 FROM spawn.dead_letters WHERE actor IN ('bob-shop', 'bob-ticker')")"
check "the scheduler never failed as a whole" "0" \
  "$(grep -cE 'draining the mailbox failed|firing timers failed|firing schedules failed|taking snapshots failed' "$DIR/server.log" || true)"
finish
