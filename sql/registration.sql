-- Registration: systems, definitions, handler resolution and their errors.
\set SHOW_CONTEXT never

CREATE FUNCTION reg_ok(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, state) $$;
CREATE FUNCTION reg_ctx(state jsonb, payload jsonb, ctx spawn.context) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(to_jsonb(ctx.actor), state) $$;
CREATE FUNCTION reg_wrong_args(state text, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, '{}') $$;
CREATE FUNCTION reg_wrong_return(state jsonb, payload jsonb) RETURNS text
LANGUAGE sql AS $$ SELECT 'nope' $$;
CREATE FUNCTION reg_set(state jsonb, payload jsonb) RETURNS SETOF spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, state) $$;

-- Systems.
SELECT spawn.create_system('billing', '{"region": "eu"}');
SELECT name, options FROM spawn.systems ORDER BY name;
SELECT spawn.create_system('billing');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_system('');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_system('x', '[]');
\echo :LAST_ERROR_SQLSTATE

-- Handlers by name, by full signature, with context.
SELECT spawn.register_actor('r1', actions => '{"a": "reg_ok", "b": "public.reg_ok(jsonb, jsonb)", "c": "reg_ctx"}');
SELECT action, function, takes_context, returns_jsonb
  FROM spawn._handlers h JOIN spawn._definitions d ON d.id = h.definition_id
  WHERE d.name = 'r1' ORDER BY action;
SELECT spawn.invoke('r1', 'c');

-- Bad definitions are rejected and change nothing.
SELECT spawn.register_actor('r2', actions => '{"a": "no_such_function"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_wrong_args"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_wrong_return"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_set"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": 42}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '["reg_ok"]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"": "reg_ok"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', kind => 'singleton');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', system => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', state_type => 'protobuf');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', deactivate_timeout => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', timers => '[{"action": "tick", "every_ms": 10}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', timers => '[{"action": "a", "every_ms": -1}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', channels => '[{"topic": "news"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', channels => '{"topic": "news"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok"}', tags => '"x"');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor(repeat('r', 64), actions => '{"a": "reg_ok"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM spawn.definitions WHERE name = 'r2';

-- A valid definition with timers, channels and tags.
SELECT spawn.register_actor('r2', actions => '{"a": "reg_ok", "receive": "reg_ok"}',
  timers => '[{"action": "a", "every_ms": 1000}]', channels => '[{"topic": "news"}]',
  tags => '{"owner": "team-a"}', deactivate_timeout => 60000, snapshot_timeout => 5000);
SELECT name, kind, stateful, timers, channels, tags, deactivate_timeout, snapshot_timeout
  FROM spawn.definitions WHERE name = 'r2';

-- Changing the kind of an actor with instances is refused.
SELECT spawn.register_actor('r3', actions => '{"a": "reg_ok"}', kind => 'unnamed');
SELECT spawn.spawn_actor('r3-1', 'r3');
SELECT spawn.register_actor('r3', actions => '{"a": "reg_ok"}', kind => 'named');
\echo :LAST_ERROR_SQLSTATE

-- Pooled actors are never stateful.
SELECT spawn.register_actor('r4', actions => '{"a": "reg_ok"}', kind => 'pooled');
SELECT kind, stateful FROM spawn.definitions WHERE name = 'r4';

-- Unregister.
SELECT spawn.unregister_actor('r3');
SELECT count(*) FROM spawn.actors WHERE parent = 'r3';
SELECT spawn.unregister_actor('r3');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.spawn_actor('x-1', 'r3');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.spawn_actor('x-1', 'r1');
\echo :LAST_ERROR_SQLSTATE

-- Only the role that registered an actor may change or remove it.
CREATE ROLE reg_other;
SELECT spawn.register_actor('r5', actions => '{"a": "reg_ok"}');
SET ROLE reg_other;
SELECT spawn.unregister_actor('r5');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r5', actions => '{"a": "reg_ctx"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('r6', actions => '{"a": "reg_ok"}');
SELECT spawn.unregister_actor('r6');
RESET ROLE;
SELECT count(*) FROM spawn.definitions WHERE name = 'r5';
DROP ROLE reg_other;
