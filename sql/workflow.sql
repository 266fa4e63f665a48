-- Workflows: side effects, broadcasts, pipe and forward, and their errors.
\set SHOW_CONTEXT never

CREATE FUNCTION wf_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + coalesce((payload->>'value')::bigint, 1) AS t) s
$$;
-- Doubles the payload's value and pipes the result into the adder.
CREATE FUNCTION wf_double(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.pipe(spawn.reply(jsonb_build_object('value', (payload->>'value')::int * 2), state),
                    'wf_sum', 'add')
$$;
CREATE FUNCTION wf_pass(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.forward(spawn.noreply(state), 'wf_sum', 'add') $$;
-- Replies and tells two other actors about it when the invocation commits.
CREATE FUNCTION wf_notify(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.with_effects(spawn.reply('"noted"', state),
           spawn.effect('wf_sum', 'add', '{"value": 100}'),
           spawn.effect('wf_sum', 'add', '{"value": 1000}', delay_ms => 60000))
$$;
CREATE FUNCTION wf_announce(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.with_broadcast(spawn.reply('"announced"', state), 'wf_news', NULL, payload) $$;
CREATE FUNCTION wf_bad(state jsonb, payload jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT jsonb_build_object('state', state, 'workflow', payload) $$;

SELECT spawn.register_actor('wf_sum', actions => '{"add": "wf_add", "receive": "wf_add"}', channels => '[{"topic": "wf_news"}]');
SELECT spawn.register_actor('wf_listener', actions => '{"receive": "wf_add"}', kind => 'unnamed', channels => '[{"topic": "wf_news"}]');
SELECT spawn.spawn_actor('wf_l' || i, 'wf_listener') FROM generate_series(1, 3) i;
SELECT spawn.register_actor('wf', actions => '{"double": "wf_double", "pass": "wf_pass", "notify": "wf_notify", "announce": "wf_announce", "bad": "wf_bad"}');

-- Pipe: the doubled value goes to wf_sum, whose reply is the caller's reply.
SELECT spawn.invoke('wf', 'double', '{"value": 21}');
-- Forward: the original payload goes to wf_sum.
SELECT spawn.invoke('wf', 'pass', '{"value": 8}');

-- Side effects are casts written in the invocation's transaction.
BEGIN;
SELECT spawn.invoke('wf', 'notify');
SELECT action, source, deliver_at > now() + interval '30 seconds' AS delayed
  FROM spawn._mailbox WHERE actor = 'wf_sum' ORDER BY id;
ROLLBACK;
SELECT count(*) FROM spawn._mailbox WHERE actor = 'wf_sum';

-- Broadcasts reach named subscribers and every instance of subscribed unnamed actors.
BEGIN;
SELECT spawn.invoke('wf', 'announce', '{"value": 5}');
SELECT actor, action, source FROM spawn._mailbox WHERE source = 'broadcast' ORDER BY actor;
ROLLBACK;
BEGIN;
SELECT spawn.broadcast('wf_news', payload => '{"value": 1}') AS deliveries;
SELECT spawn.broadcast('nobody-listens', payload => '{"value": 1}') AS deliveries;
SELECT spawn.broadcast('wf_news', 'add', '{"value": 1}') AS deliveries_with_add;
ROLLBACK;

-- Errors: malformed workflows, unknown targets, cycles.
SELECT spawn.invoke('wf', 'bad', '[1]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"effect": []}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"effects": [{"actor": "wf_sum"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"effects": [{"actor": "ghost", "action": "add"}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"effects": [{"actor": "wf_sum", "action": "add", "delay_ms": -5}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"pipe": {"actor": "ghost", "action": "add"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"pipe": {"actor": "wf_sum", "action": "nope"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"pipe": {"actor": "wf_sum", "action": "add"}, "forward": {"actor": "wf_sum", "action": "add"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"forward": {"actor": "wf", "action": "double"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('wf', 'bad', '{"broadcast": {"channel": ""}}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.broadcast('wf_news', system => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.broadcast('');
\echo :LAST_ERROR_SQLSTATE

-- None of the failures changed anything.
SELECT spawn.state('wf_sum');
SELECT count(*) FROM spawn._mailbox WHERE actor LIKE 'wf%';

-- Pipe and forward to an actor of another system, named with their system parameter.
SELECT spawn.create_system('wf-far');
SELECT spawn.register_actor('wf_far_sum', actions => '{"add": "wf_add"}', system => 'wf-far');
CREATE FUNCTION wf_far_pipe(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.pipe(spawn.reply(payload, state), 'wf_far_sum', 'add', system => 'wf-far') $$;
CREATE FUNCTION wf_far_pass(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.forward(spawn.noreply(state), 'wf_far_sum', 'add', NULL, 'wf-far') $$;
SELECT spawn.register_actor('wf_far', actions => '{"pipe": "wf_far_pipe", "pass": "wf_far_pass"}');
SELECT spawn.invoke('wf_far', 'pipe', '{"value": 5}');
SELECT spawn.invoke('wf_far', 'pass', '{"value": 7}');
SELECT spawn.state('wf_far_sum', 'wf-far');
