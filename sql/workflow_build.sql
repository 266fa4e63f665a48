-- Workflow constructors refuse what the workflow would reject later, when the value is built:
-- an effect's delay out of range, a second pipe or forward on one value.
\set SHOW_CONTEXT never

-- delay_ms: 0 up to 10 years, checked by spawn.effect itself.
SELECT spawn.effect('a', 'b', delay_ms => -5);
SELECT spawn.effect('a', 'b', delay_ms => 315360000001);
SELECT spawn.effect('a', 'b', delay_ms => NULL);
SELECT spawn.effect('a', 'b', '{"x": 1}', delay_ms => 315360000000);
SELECT spawn.effect('a', 'b');

-- One pipe or one forward per value: adding another is refused, never a silent replacement.
SELECT spawn.forward(spawn.pipe(spawn.reply('1', '{}'), 'p', 'go'), 'f', 'go');
SELECT spawn.pipe(spawn.forward(spawn.reply('1', '{}'), 'f', 'go'), 'p', 'go');
SELECT spawn.pipe(spawn.pipe(spawn.reply('1', '{}'), 'p', 'go'), 'q', 'go');
SELECT spawn.forward(spawn.forward(spawn.noreply('{}'), 'f', 'go'), 'g', 'go');
-- Effects and broadcasts combine with a pipe or forward in any order.
SELECT (spawn.forward(spawn.with_effects(spawn.reply('1', '{}'), spawn.effect('e', 'go')), 'f', 'go')).workflow;
SELECT (spawn.with_broadcast(spawn.pipe(spawn.noreply(NULL), 'p', 'go', register_ref => 'tpl'), 'news')).workflow;
-- A pipe or forward may name the target's system (NULL: the emitting actor's).
SELECT (spawn.pipe(spawn.noreply(NULL), 'p', 'go', system => 'elsewhere')).workflow;
SELECT (spawn.forward(spawn.noreply(NULL), 'f', 'go', 'tpl', 'elsewhere')).workflow;

-- The same errors inside a handler fail the invocation with 22023.
CREATE FUNCTION wb_twice(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.forward(spawn.pipe(spawn.reply('1', state), 'wb', 'x'), 'wb', 'x') $$;
CREATE FUNCTION wb_late(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.with_effects(spawn.reply('1', state), spawn.effect('wb', 'x', delay_ms => -5)) $$;
SELECT spawn.register_actor('wb', actions => '{"twice": "wb_twice", "late": "wb_late", "x": "wb_late"}');
\set VERBOSITY sqlstate
SELECT spawn.invoke('wb', 'twice');
SELECT spawn.invoke('wb', 'late');
\set VERBOSITY default
SELECT spawn.unregister_actor('wb');

-- The unknown-action hint names the built-in actions too, once.
CREATE FUNCTION wb_get(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(state, state) $$;
SELECT spawn.register_actor('wb_plain', actions => '{"late": "wb_late"}');
SELECT spawn.invoke('wb_plain', 'nope');
SELECT spawn.register_actor('wb_own_get', actions => '{"get": "wb_get"}');
SELECT spawn.invoke('wb_own_get', 'nope');
SELECT spawn.unregister_actor('wb_plain');
SELECT spawn.unregister_actor('wb_own_get');

-- A handler run by a worker (a cast) sends side effects and casts of its own, as its sender.
CREATE FUNCTION wb_count(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.noreply(jsonb_build_object('n', coalesce((state->>'n')::int, 0) + 1)) $$;
CREATE FUNCTION wb_relay(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM spawn.cast('wb_sink', 'count');
  RETURN spawn.with_effects(spawn.noreply(state), spawn.effect('wb_sink', 'count'));
END $$;
SELECT spawn.register_actor('wb_sink', actions => '{"count": "wb_count"}');
SELECT spawn.register_actor('wb_relay', actions => '{"relay": "wb_relay"}');
SELECT spawn.cast('wb_relay', 'relay') > 0 AS queued;
SELECT spawn.invoke_async('wb_relay', 'get') AS request \gset
SELECT spawn.wait(:request, 10000);
SELECT spawn.invoke_async('wb_sink', 'get') AS request \gset
SELECT spawn.wait(:request, 10000);
SELECT count(*) AS dead_letters FROM spawn.dead_letters WHERE actor LIKE 'wb_%';
SELECT spawn.unregister_actor('wb_relay');
SELECT spawn.unregister_actor('wb_sink');
