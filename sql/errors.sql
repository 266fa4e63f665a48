-- Bad input: every failure has a clear message and SQLSTATE and leaves state unchanged.
\set SHOW_CONTEXT never

CREATE FUNCTION acc_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s
$$;
SELECT spawn.register_actor('acc', actions => '{"add": "acc_add"}');
SELECT spawn.invoke('acc', 'add', '{"value": 1}');

-- Unknown system, actor and action.
SELECT spawn.invoke('acc', 'add', '{"value": 1}', system => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('ghost', 'add', '{"value": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('acc', 'subtract', '{"value": 1}');
\echo :LAST_ERROR_SQLSTATE

-- Invalid names.
SELECT spawn.invoke('', 'add');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke(repeat('x', 64), 'add');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke(E'tab\there', 'add');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('acc', E'add\n');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('acc', 'add', system => '');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('   ', actions => '{"add": "acc_add"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor(E'acc\u200B', actions => '{"add": "acc_add"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke(NULL, 'add');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('acc', NULL);
\echo :LAST_ERROR_SQLSTATE

-- Invalid JSON payload.
SELECT spawn.invoke('acc', 'add', '{"value": ');
\echo :LAST_ERROR_SQLSTATE

-- A handler that raises: its own message and SQLSTATE reach the caller.
CREATE FUNCTION picky(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF payload->>'value' IS NULL THEN
    RAISE EXCEPTION 'value is required' USING ERRCODE = '22P02', HINT = 'send {"value": n}';
  END IF;
  RETURN spawn.reply(payload, state || payload);
END $$;
SELECT spawn.register_actor('picky', actions => '{"set": "picky"}');
SELECT spawn.invoke('picky', 'set', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('acc', 'add', '{"value": "many"}');
\echo :LAST_ERROR_SQLSTATE

-- A handler returning NULL, or a jsonb of the wrong shape.
CREATE FUNCTION returns_null(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT NULL::spawn.value $$;
CREATE FUNCTION returns_array(state jsonb, payload jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '[1, 2]'::jsonb $$;
CREATE FUNCTION returns_odd_keys(state jsonb, payload jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"state": {}, "answer": 42}'::jsonb $$;
CREATE FUNCTION strict_handler(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql STRICT AS $$ SELECT spawn.reply(payload, state) $$;
SELECT spawn.register_actor('broken', actions => '{"null": "returns_null", "array": "returns_array", "odd": "returns_odd_keys", "strict": "strict_handler"}');
SELECT spawn.invoke('broken', 'null');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('broken', 'array');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('broken', 'odd');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('broken', 'strict');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('broken', 'strict', '"ok"');
SELECT revision, status FROM spawn.actors WHERE name = 'broken';

-- Invoking an unnamed template directly, or spawning from something that is not one.
SELECT spawn.register_actor('tmpl', actions => '{"add": "acc_add"}', kind => 'unnamed');
SELECT spawn.invoke('tmpl', 'add', '{"value": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('t-1', 'add', '{"value": 1}', register_ref => 'nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('t-1', 'add', '{"value": 1}', register_ref => 'acc');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.spawn_actor('acc', 'tmpl');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.spawn_actor('t-1', 'tmpl');
SELECT spawn.register_actor('tmpl2', actions => '{"add": "acc_add"}', kind => 'unnamed');
SELECT spawn.spawn_actor('t-1', 'tmpl2');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('t-1', actions => '{"add": "acc_add"}');
\echo :LAST_ERROR_SQLSTATE

-- An actor that invokes itself in the same transaction is refused (no lost update).
CREATE FUNCTION selfish(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(spawn.invoke('selfish', 'go'), state) $$;
SELECT spawn.register_actor('selfish', actions => '{"go": "selfish"}');
SELECT spawn.invoke('selfish', 'go');
\echo :LAST_ERROR_SQLSTATE

-- A handler dropped after registration.
CREATE FUNCTION doomed(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('1', state) $$;
SELECT spawn.register_actor('doomed', actions => '{"go": "doomed"}');
DROP FUNCTION doomed(jsonb, jsonb);
SELECT spawn.invoke('doomed', 'go');
\echo :LAST_ERROR_SQLSTATE

-- None of the failures above changed the state.
SELECT spawn.invoke('acc', 'get');
SELECT name, revision FROM spawn.actors WHERE name IN ('acc', 'picky', 'selfish') ORDER BY name;
