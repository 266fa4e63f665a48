-- Synchronous invocation: named, unnamed and pooled actors, init, get, context, transactions.
\set SHOW_CONTEXT never

CREATE FUNCTION incrementor_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s
$$;

-- The seed's example.
SELECT spawn.register_actor('incrementor', actions => '{"add": "public.incrementor_add"}');
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}');
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}');
SELECT spawn.invoke('incrementor', 'get');
SELECT spawn.invoke('incrementor', 'get_state');
SELECT name, kind, parent, revision, status FROM spawn.actors WHERE name = 'incrementor';

-- A rolled-back invocation leaves the state as it was.
BEGIN;
SELECT spawn.invoke('incrementor', 'add', '{"value": 100}');
ROLLBACK;
SELECT spawn.invoke('incrementor', 'get');
SELECT revision FROM spawn.actors WHERE name = 'incrementor';

-- Several invocations in one transaction see each other's state.
BEGIN;
SELECT spawn.invoke('incrementor', 'add', '{"value": 10}');
SELECT spawn.invoke('incrementor', 'add', '{"value": 10}');
COMMIT;
SELECT spawn.state('incrementor');

-- A reply that leaves the state unchanged does not bump the revision.
SELECT spawn.invoke('incrementor', 'add', '{"value": 0}');
SELECT revision FROM spawn.actors WHERE name = 'incrementor';

-- Unnamed actors: instances are spawned explicitly or on invoke with register_ref.
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.spawn_actor('c-1', 'counter');
SELECT spawn.spawn_actor('c-1', 'counter');
SELECT spawn.invoke('c-1', 'add', '{"value": 5}');
SELECT spawn.invoke('c-2', 'add', '{"value": 7}', register_ref => 'counter');
SELECT spawn.invoke('c-2', 'add', '{"value": 7}', register_ref => 'counter');
SELECT name, kind, parent, revision, status FROM spawn.actors WHERE parent = 'counter' ORDER BY name;

-- init runs once on activation; its state is kept and its reply ignored.
CREATE FUNCTION greeter_init(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"ignored"', state || '{"greeting": "hello", "inits": 1}') $$;
CREATE FUNCTION greeter_greet(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(to_jsonb((state->>'greeting') || ', ' || (payload->>'name')), state)
$$;
SELECT spawn.register_actor('greeter', actions => '{"init": "greeter_init", "greet": "greeter_greet"}');
SELECT status FROM spawn.actors WHERE name = 'greeter';
SELECT spawn.invoke('greeter', 'greet', '{"name": "ada"}');
SELECT spawn.invoke('greeter', 'greet', '{"name": "bob"}');
SELECT spawn.state('greeter');
SELECT status, revision FROM spawn.actors WHERE name = 'greeter';

-- get on an inactive actor activates it (init runs).
SELECT spawn.register_actor('greeter2', actions => '{"init": "greeter_init", "greet": "greeter_greet"}');
SELECT spawn.invoke('greeter2', 'get');

-- The context argument, and a PL/pgSQL handler that returns jsonb.
CREATE FUNCTION whoami(state jsonb, payload jsonb, ctx spawn.context) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  RETURN jsonb_build_object('response', to_jsonb(ctx), 'state', state || jsonb_build_object('seen', true));
END $$;
SELECT spawn.register_actor('who', actions => '{"ask": "whoami"}', kind => 'unnamed', tags => '{"team": "core"}');
SELECT spawn.invoke('who-1', 'ask', '{}', metadata => '{"trace": "t-1"}', register_ref => 'who');
SELECT spawn.invoke('who-1', 'ask') - 'metadata';

-- A handler may call other actors; ctx.caller names the calling actor.
CREATE FUNCTION relay(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(spawn.invoke('who-1', 'ask')->'caller', state) $$;
SELECT spawn.register_actor('relay', actions => '{"go": "relay"}');
SELECT spawn.invoke('relay', 'go');

-- noreply keeps the state and returns NULL.
CREATE FUNCTION remember(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.noreply(payload) $$;
SELECT spawn.register_actor('memo', actions => '{"set": "remember"}');
SELECT spawn.invoke('memo', 'set', '{"note": "milk"}') IS NULL AS no_reply;
SELECT spawn.invoke('memo', 'get');

-- Pooled actors are stateless.
CREATE FUNCTION echo(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(jsonb_build_object('echo', payload, 'state', state), '{"x": 1}') $$;
SELECT spawn.register_actor('echo', actions => '{"say": "echo"}', kind => 'pooled');
SELECT spawn.invoke('echo', 'say', '"hi"');
SELECT spawn.invoke('echo', 'say', '"again"');
SELECT name, kind, revision FROM spawn.actors WHERE name = 'echo';

-- Other systems keep their own namespaces.
SELECT spawn.create_system('shop');
SELECT spawn.register_actor('incrementor', actions => '{"add": "incrementor_add"}', system => 'shop');
SELECT spawn.invoke('incrementor', 'add', '{"value": 40}', system => 'shop');
SELECT spawn.invoke('incrementor', 'get');

-- Re-registration updates the definition and keeps the state.
CREATE FUNCTION incrementor_double(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) * 2 AS t) s
$$;
SELECT spawn.register_actor('incrementor', actions => '{"add": "incrementor_add", "double": "incrementor_double"}');
SELECT spawn.invoke('incrementor', 'double');
SELECT actions FROM spawn.definitions WHERE name = 'incrementor' AND system = 'spawn-system';

-- The handler cache follows CREATE OR REPLACE FUNCTION.
CREATE OR REPLACE FUNCTION incrementor_double(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"replaced"', state) $$;
SELECT spawn.invoke('incrementor', 'double');

-- unregister removes the definition, its instances and their state.
SELECT spawn.unregister_actor('counter');
SELECT count(*) FROM spawn.actors WHERE parent = 'counter';
