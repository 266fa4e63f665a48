#!/usr/bin/env bash
# The trust model, tried as the attacker: bob, an ordinary role, tries every door against
# alice's actors (sync, through a worker, through a timer, through a projection) and must get
# 42501 with alice's state unchanged; what bob's own code does runs as bob, never as the
# worker's superuser.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster trust 54481 "spawn.retry_base_ms = 100
spawn.max_attempts = 2
spawn.housekeeping_interval = 200"

create_alice_and_bob

as alice <<'SQL' >/dev/null
CREATE SCHEMA alice;
GRANT USAGE ON SCHEMA alice TO PUBLIC;
CREATE FUNCTION alice.add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t, 'secret', 's3cret'))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + 1 AS t) s
$$;
CREATE FUNCTION alice.fail(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'alice fails'; END $$;
CREATE TABLE alice.view (actor text PRIMARY KEY, label text);
-- A projection handler written the usual way: unqualified names.
CREATE FUNCTION alice.project(who text, state jsonb, revision bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO alice.view VALUES (who, lower('TOTAL ' || (state->>'total')))
  ON CONFLICT (actor) DO UPDATE SET label = excluded.label;
END $$;
SELECT spawn.register_actor('alice-counter', actions => '{"add": "alice.add", "fail": "alice.fail"}',
  journal => true, channels => '[{"topic": "news", "action": "add"}]');
SELECT spawn.register_actor('alice-template', actions => '{"add": "alice.add"}', kind => 'unnamed');
SELECT spawn.register_actor('alice-projected', actions => '{"add": "alice.add"}');
SELECT spawn.create_projection('alice-view', ARRAY['alice-projected'], 'alice.project', 'alice.view');
SELECT spawn.invoke('alice-counter', 'add');
SELECT spawn.schedule('alice-counter', 'add', '0 0 1 1 *');
SQL
alice_request=$(as alice -c "SELECT spawn.invoke_async('alice-counter', 'get')")
alice_failure=$(as alice -c "SELECT spawn.cast('alice-counter', 'fail')")
alice_schedule=$(q -c "SELECT id FROM spawn._schedules WHERE actor = 'alice-counter'")
wait_mailbox_empty 15

state_before=$(q -c "SELECT spawn.state('alice-counter')")
denied() { check "$1" "42501" "$(sqlstate bob "$2")"; }

# wait_mailbox_for_actor ACTOR: waits up to 10 s until the actor has no queued message.
wait_mailbox_for_actor() {
  for _ in $(seq 1 50); do
    [ "$(q -c "SELECT count(*) FROM spawn._mailbox WHERE actor = '$1'")" == 0 ] && return 0
    sleep 0.2
  done
  return 1
}

# Reading alice's state, journal, history and replies.
denied "bob cannot get alice's state synchronously" "SELECT spawn.invoke('alice-counter', 'get')"
denied "bob cannot get_state either" "SELECT spawn.invoke('alice-counter', 'get_state')"
denied "bob cannot ask for it asynchronously" "SELECT spawn.invoke_async('alice-counter', 'get')"
denied "bob cannot call spawn.state" "SELECT spawn.state('alice-counter')"
denied "bob cannot read the journal" "SELECT * FROM spawn.journal('alice-counter')"
denied "bob cannot read the history" "SELECT * FROM spawn.state_history('alice-counter')"
denied "bob cannot replay" "SELECT * FROM spawn.replay('alice-counter')"
denied "bob cannot wait for alice's reply" "SELECT spawn.wait($alice_request)"
denied "bob cannot poll alice's reply" "SELECT * FROM spawn.result($alice_request)"
check "alice reads her own reply" "ok" "$(as alice -c "SELECT status FROM spawn.result($alice_request)")"

# Acting on alice's actors.
denied "bob cannot invoke alice's actor" "SELECT spawn.invoke('alice-counter', 'add')"
denied "bob cannot cast to it" "SELECT spawn.cast('alice-counter', 'add')"
denied "bob cannot schedule it" "SELECT spawn.schedule('alice-counter', 'add', '* * * * *')"
denied "bob cannot spawn instances of alice's template" "SELECT spawn.spawn_actor('mine', 'alice-template')"
denied "bob cannot spawn them on the fly" "SELECT spawn.invoke('mine', 'add', register_ref => 'alice-template')"
denied "bob cannot re-register alice's actor" \
  "SELECT spawn.register_actor('alice-counter', actions => '{\"add\": \"alice.add\"}')"
denied "bob cannot unregister it" "SELECT spawn.unregister_actor('alice-counter')"
denied "bob cannot restore it" "SELECT spawn.restore('alice-counter', 1)"
denied "bob cannot grant himself" "SELECT spawn.grant('invoke', 'alice-counter', 'bob')"
denied "bob cannot drop alice's projection" "SELECT spawn.drop_projection('alice-view')"
denied "bob cannot retry alice's dead letter" "SELECT spawn.retry_dead_letter($alice_failure)"
denied "bob cannot discard it" "SELECT spawn.discard_dead_letter($alice_failure)"
denied "bob cannot unschedule alice's schedule" "SELECT spawn.unschedule($alice_schedule)"
check "bob's broadcast reaches none of alice's actors" "0" "$(as bob -c "SELECT spawn.broadcast('news')")"
q -c "REVOKE CREATE ON DATABASE postgres FROM bob" >/dev/null
denied "bob cannot create systems without CREATE on the database" "SELECT spawn.create_system('bobs')"
q -c "GRANT CREATE ON DATABASE postgres TO bob" >/dev/null
as alice -c "SELECT spawn.create_system('alices')" >/dev/null
denied "bob cannot re-seal values under another key" "SELECT spawn.rotate_key()"
denied "bob cannot retire a key" "SELECT spawn.retire_key(1)"
denied "bob cannot read the key status" "SELECT * FROM spawn.key_status"
denied "bob cannot add actors to alice's system" \
  "SELECT spawn.register_actor('x', actions => '{\"add\": \"alice.add\"}', system => 'alices')"

# Views show bob nothing of alice's.
check "bob sees none of alice's actors, definitions, dead letters, schedules or stats" "0|0|0|0|0|0" \
  "$(as bob -c "SELECT (SELECT count(*) FROM spawn.actors) || '|' || (SELECT count(*) FROM spawn.definitions)
    || '|' || (SELECT count(*) FROM spawn.dead_letters) || '|' || (SELECT count(*) FROM spawn.schedules)
    || '|' || (SELECT count(*) FROM spawn.mailbox_stats) || '|' || (SELECT count(*) FROM spawn.projections)")"
check "alice sees her own" "t" \
  "$(as alice -c "SELECT (SELECT count(*) FROM spawn.actors) > 0 AND (SELECT count(*) FROM spawn.dead_letters) = 1
    AND (SELECT count(*) FROM spawn.schedules) = 1")"

# Grants: alice lets bob invoke, but not read; EXECUTE on the handler is checked when casting.
as alice -c "SELECT spawn.grant('invoke', 'alice-counter', 'bob')" >/dev/null
check "with the invoke grant bob invokes" "2" "$(as bob -c "SELECT spawn.invoke('alice-counter', 'add')->>'total'")"
denied "but still cannot read the state" "SELECT spawn.invoke('alice-counter', 'get')"
check "the grant shows in spawn.grants for both" "invoke|invoke" \
  "$(as bob -c "SELECT privilege FROM spawn.grants")|$(as alice -c "SELECT privilege FROM spawn.grants")"
as alice -c "REVOKE EXECUTE ON FUNCTION alice.add(jsonb, jsonb) FROM PUBLIC" >/dev/null
denied "a cast is refused when it is made, without EXECUTE on the handler" \
  "SELECT spawn.cast('alice-counter', 'add')"
as alice -c "GRANT EXECUTE ON FUNCTION alice.add(jsonb, jsonb) TO PUBLIC" >/dev/null
as alice -c "SELECT spawn.revoke('invoke', 'alice-counter', 'bob')" >/dev/null
denied "after the revoke bob is refused again" "SELECT spawn.invoke('alice-counter', 'add')"

# Identity in workers: bob's handler, run by a worker, registers and escalates as bob only.
as bob <<'SQL' >/dev/null
CREATE SCHEMA bob;
CREATE FUNCTION bob.sneak(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
DECLARE who text := session_user || '/' || current_user;
BEGIN
  PERFORM spawn.register_actor('bob-made', actions => '{"go": "bob.sneak"}');
  BEGIN
    EXECUTE 'ALTER ROLE bob SUPERUSER';
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  BEGIN
    PERFORM spawn.unregister_actor('alice-counter');
  EXCEPTION WHEN insufficient_privilege THEN who := who || '/denied';
  END;
  RETURN spawn.noreply(jsonb_build_object('who', who));
END $$;
SELECT spawn.register_actor('bob-sneak', actions => '{"go": "bob.sneak"}');
SELECT spawn.cast('bob-sneak', 'go');
SQL
wait_mailbox_empty 15
check "bob's handler in a worker runs as bob, session_user included, and is refused alice's actor" \
  "bob/bob/denied" "$(q -c "SELECT spawn.state('bob-sneak')->>'who'")"
check "what it registered belongs to bob" "bob" \
  "$(q -c "SELECT owner FROM spawn.definitions WHERE name = 'bob-made'")"
check "bob did not become superuser" "f" "$(q -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'bob'")"

# A projection runs as its owner with a fixed search_path: bob's lower() is never called.
as bob <<'SQL' >/dev/null
GRANT USAGE ON SCHEMA bob TO PUBLIC;
CREATE TABLE bob.pwned (who text);
GRANT INSERT ON bob.pwned TO PUBLIC;
CREATE FUNCTION bob.lower(text) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO bob.pwned VALUES (current_user) RETURNING 'pwned' $$;
GRANT EXECUTE ON FUNCTION bob.lower(text) TO PUBLIC;
SQL
as alice -c "SELECT spawn.grant('invoke', 'alice-projected', 'bob')" >/dev/null
as bob -c "SET search_path = bob, pg_catalog; SELECT spawn.invoke('alice-projected', 'add')" >/dev/null
check "the projection ran with alice's fixed search_path" "0|total 1" \
  "$(q -c "SELECT (SELECT count(*) FROM bob.pwned) || '|' || (SELECT label FROM alice.view)")"

# Doors found by review: schedules, broadcasts, settings, deferred triggers and temporary
# objects in workers, definer functions, admin grantees, the owner's search_path.
as bob <<'SQL' >/dev/null
CREATE TABLE bob.log (what text, who text, sess text);
GRANT INSERT ON bob.log TO PUBLIC;
CREATE FUNCTION bob.note(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bob.log VALUES (payload->>'what', current_user, session_user);
  PERFORM pg_catalog.set_config('search_path', 'bob, pg_catalog', false);
  PERFORM pg_catalog.set_config('default_transaction_read_only', 'on', false);
  RETURN spawn.noreply(state);
END $$;
GRANT EXECUTE ON FUNCTION bob.note(jsonb, jsonb) TO PUBLIC;
CREATE FUNCTION bob.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO bob.log VALUES ('deferred', current_user, session_user); RETURN NULL; END $$;
CREATE TABLE bob.t (x int);
CREATE CONSTRAINT TRIGGER d AFTER INSERT ON bob.t DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION bob.trg();
CREATE FUNCTION bob.defer(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bob.t VALUES (1); RETURN spawn.noreply(state); END $$;
CREATE FUNCTION bob.plant(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN CREATE TEMP TABLE planted (x int); RETURN spawn.noreply(state); END $$;
SELECT spawn.register_actor('bob-note', actions => '{"go": "bob.note", "receive": "bob.note"}',
  channels => '[{"topic": "bobnews"}]');
SELECT spawn.grant('invoke', 'bob-note', 'public');
SELECT spawn.register_actor('bob-defer', actions => '{"go": "bob.defer"}');
SELECT spawn.register_actor('bob-plant', actions => '{"go": "bob.plant"}');
SELECT spawn.schedule('bob-note', 'go', '* * * * * *', '{"what": "schedule"}');
SELECT spawn.cast('bob-note', 'go', '{"what": "cast"}');
SELECT spawn.cast('bob-defer', 'go');
SELECT spawn.cast('bob-plant', 'go');
-- A definer function that tries to use its callers' spawn privileges.
CREATE FUNCTION bob.helpful() RETURNS text LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog AS $$
BEGIN PERFORM spawn.grant('all', 'alice-counter', 'bob'); RETURN 'granted'; END $$;
GRANT EXECUTE ON FUNCTION bob.helpful() TO PUBLIC;
SQL
as alice -c "SELECT spawn.broadcast('bobnews', payload => '{\"what\": \"broadcast\"}')" >/dev/null
for _ in $(seq 1 50); do
  [ "$(q -c "SELECT count(DISTINCT what) FROM bob.log WHERE what IN ('schedule', 'broadcast', 'cast')")" == 3 ] &&
    [ "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE actor IN ('bob-defer', 'bob-plant')")" == 2 ] && break
  sleep 0.2
done
check "schedules, broadcasts and casts of bob's run as bob only" "bob|bob" \
  "$(q -c "SELECT string_agg(DISTINCT who, ',') || '|' || string_agg(DISTINCT sess, ',') FROM bob.log")"
check "each of them ran" "3" \
  "$(q -c "SELECT count(DISTINCT what) FROM bob.log WHERE what IN ('schedule', 'broadcast', 'cast')")"
check "a deferred trigger is refused in a worker, never fired later as the worker" "1|0" \
  "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE actor = 'bob-defer' AND last_error LIKE '%deferred trigger%'")|$(q -c "SELECT count(*) FROM bob.log WHERE what = 'deferred'")"
check "a handler's settings end with its message: alice's casts still run" "ok" \
  "$(as alice -c "SELECT spawn.cast('alice-counter', 'get')" >/dev/null && wait_mailbox_for_actor alice-counter && echo ok)"
check "a handler cannot leave temporary tables in a worker" "1" \
  "$(q -c "SELECT count(*) FROM spawn.dead_letters WHERE actor = 'bob-plant' AND last_error LIKE '%security-restricted%'")"
check "alice calling bob's definer function lends it no spawn privilege" "42501" "$(sqlstate alice "SELECT bob.helpful()")"
q -c "SELECT spawn.unschedule(id) FROM spawn._schedules WHERE actor = 'bob-note'" >/dev/null
as alice -c "SELECT spawn.grant('admin', 'alice-counter', 'bob')" >/dev/null
denied "an admin grantee cannot change the owner's handlers or timers" \
  "SELECT spawn.register_actor('alice-counter', actions => '{\"add\": \"bob.note\"}', timers => '[{\"action\": \"add\", \"every_ms\": 1000}]')"
as alice -c "SELECT spawn.revoke('admin', 'alice-counter', 'bob')" >/dev/null
denied "bob cannot ask spawn._may about alice's privileges" \
  "SELECT spawn._may('admin', 'spawn-system', 'alice-counter', 'alice'::regrole)"

# Second review: projections run restricted, even in a worker; temporary tables cannot capture
# an owner's names; nothing queued outlives an unregistered actor; a broadcast picks no action.
as bob <<'SQL' >/dev/null
CREATE FUNCTION bob.keep(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, payload) $$;
SELECT spawn.register_actor('esc', actions => '{"set": "bob.keep"}');
CREATE TABLE bob.rm2 (a text, rev bigint);
CREATE FUNCTION bob.fire() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('is_superuser') = 'on' THEN EXECUTE 'ALTER ROLE bob SUPERUSER'; END IF;
  RETURN NULL;
END $$;
GRANT EXECUTE ON FUNCTION bob.fire() TO PUBLIC;
CREATE CONSTRAINT TRIGGER later AFTER INSERT ON bob.rm2 DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION bob.fire();
CREATE FUNCTION bob.proj2(a text, state jsonb, rev bigint) RETURNS void
LANGUAGE sql AS $$ INSERT INTO bob.rm2 VALUES (a, rev) $$;
SELECT spawn.create_projection('esc_proj', ARRAY['esc'], 'bob.proj2', 'bob.rm2');
SELECT spawn.cast('esc', 'set', '{"x": 1}');
SQL
wait_mailbox_for_actor esc || true
check "a strict projection run by a worker queues no deferred trigger that fires as the worker" "f" \
  "$(q -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'bob'")"
as bob -c "CREATE TEMP TABLE view (actor text, label text)" -c "SELECT 1" >/dev/null
check "a session with temporary tables cannot run another owner's projection" "42501" \
  "$(as bob -v ON_ERROR_STOP=0 -c '\set VERBOSITY sqlstate' -c "CREATE TEMP TABLE x (a int)" \
     -c "SELECT spawn.invoke('alice-projected', 'add')" 2>&1 | grep -oE '[0-9A-Z]{5}$' | tail -n 1 || true)"
as alice -c "SELECT spawn.register_actor('svc', actions => '{\"add\": \"alice.add\"}')" \
  -c "SELECT spawn.cast('svc', 'add', delay_ms => 2000)" -c "SELECT spawn.unregister_actor('svc')" >/dev/null
check "what was queued for an unregistered actor is gone with it" "0" \
  "$(q -c "SELECT count(*) FROM spawn._mailbox WHERE actor = 'svc'")"
as alice <<'SQL' >/dev/null
CREATE TABLE alice.audit (by text);
CREATE FUNCTION alice.purge(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ INSERT INTO alice.audit VALUES (payload->>'by') RETURNING spawn.noreply(state) $$;
SELECT spawn.register_actor('listener', actions => '{"receive": "alice.add", "purge": "alice.purge"}',
  channels => '[{"topic": "alicenews"}]');
SELECT spawn.grant('invoke', 'listener', 'bob');
SQL
check "a broadcast reaches only the subscribed action, not one the broadcaster picks" "0" \
  "$(as bob -c "SELECT spawn.broadcast('alicenews', 'purge', '{\"by\": \"bob\"}')")"

# A schema named after an owner (any role with CREATE on the database can make one) is not on
# the owner's path: carol's projection never writes into bob's look-alike table.
q -c "CREATE ROLE carol LOGIN; GRANT CREATE ON DATABASE postgres TO carol" >/dev/null
as bob <<'SQL' >/dev/null
CREATE SCHEMA carol;
GRANT USAGE ON SCHEMA carol TO PUBLIC;
CREATE TABLE carol.carol_view (who text, total int);
GRANT ALL ON carol.carol_view TO PUBLIC;
CREATE FUNCTION bob.squat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO bob.log VALUES ('squat', current_user, session_user); RETURN NEW; END $$;
GRANT EXECUTE ON FUNCTION bob.squat() TO PUBLIC;
CREATE TRIGGER squat BEFORE INSERT ON carol.carol_view FOR EACH ROW EXECUTE FUNCTION bob.squat();
SQL
as carol <<'SQL' >/dev/null
CREATE SCHEMA carol_own;
CREATE TABLE carol_own.carol_view (who text PRIMARY KEY, total int);
CREATE FUNCTION carol_own.project(who text, state jsonb, revision bigint) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN INSERT INTO carol_view VALUES (who, 1); END $$;
CREATE FUNCTION carol_own.add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.noreply(jsonb_build_object('n', 1)) $$;
SELECT spawn.register_actor('carol-counter', actions => '{"add": "carol_own.add"}');
SELECT spawn.create_projection('carol-view', ARRAY['carol-counter'], 'carol_own.project',
  'carol_own.carol_view', populate => false);
SQL
check "an unqualified name in the owner's projection does not resolve to a squatter's table" "42P01|0" \
  "$(as carol -v ON_ERROR_STOP=0 -c '\set VERBOSITY sqlstate' -c "SELECT spawn.invoke('carol-counter', 'add')" 2>&1 | grep -oE '[0-9A-Z]{5}$' | tail -n 1 || true)|$(q -c "SELECT count(*) FROM bob.log WHERE what = 'squat'")"

# A registration left open in a transaction holds up that name only.
as bob -c "BEGIN" -c "SELECT spawn.register_actor('bob-lock', actions => '{}')" -c "SELECT pg_sleep(4)" \
  -c "COMMIT" >/dev/null &
sleep 1
check "an open registration of bob's holds up no other name" "ok" \
  "$(as alice -c "SET statement_timeout = '2s'" -c "SELECT spawn.register_actor('alice-other', actions => '{}')" >/dev/null && echo ok)"
wait

check "alice's state is as she left it, but for the invoke she granted" \
  "$(echo "$state_before" | sed 's/"total": 1/"total": 2/')" "$(q -c "SELECT spawn.state('alice-counter')")"
finish
