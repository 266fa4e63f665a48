-- Option documents (actions, timers, channels, tags, system options) checked by the C++
-- validator: hostile and malformed documents get clear errors, and nothing is registered.
\set SHOW_CONTEXT never

CREATE FUNCTION opt_ok(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, state) $$;

-- A period is a whole number of milliseconds written as one (1.0 would not cast to bigint when
-- the timer is armed), at most one year.
SELECT spawn.register_actor('o1', actions => '{"a": "opt_ok"}',
  timers => '[{"action": "a", "every_ms": 1e3}, {"action": "a", "every_ms": 31536000000}]');
SELECT timers FROM spawn.definitions WHERE name = 'o1';
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  timers => '[{"action": "a", "every_ms": 1.0}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  timers => '[{"action": "a", "every_ms": 31536000001}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  timers => '[{"action": "a", "every_ms": 1.50}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  timers => '[{"action": "a", "every_ms": 1e400}]');
\echo :LAST_ERROR_SQLSTATE

-- Timers and subscriptions missing a field are malformed.
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}', timers => '[{"every_ms": 10}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}', timers => '[{"action": "a"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}', channels => '[{"action": "a"}]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}', timers => NULL);
\echo :LAST_ERROR_SQLSTATE

-- Names inside documents follow the name rules.
SELECT spawn.register_actor('o2', actions => '{"a\u0007": "opt_ok"}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => jsonb_build_object(repeat('a', 64), 'opt_ok'));
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  channels => '[{"topic": "new\ts", "action": "a"}]');
\echo :LAST_ERROR_SQLSTATE

-- Deep nesting is refused before it can exhaust the stack.
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  tags => ('{"x": ' || repeat('[', 5000) || repeat(']', 5000) || '}')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_system('o-deep', ('{"x": ' || repeat('{"y": ', 2000) || '1' || repeat('}', 2000) || '}')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  timers => ('[' || repeat('[', 3000) || repeat(']', 3000) || ']')::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_system('o-null', NULL);
\echo :LAST_ERROR_SQLSTATE

-- Long items are quoted cut short.
SELECT spawn.register_actor('o2', actions => '{"a": "opt_ok"}',
  timers => jsonb_build_array(jsonb_build_object('action', repeat('x', 500))));
\echo :LAST_ERROR_SQLSTATE

-- The helpers themselves.
SELECT spawn._check_options('timers', '[]');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn._check_options(NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn._check_schedules(NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn._check_schedules('{"t": "f"}', '[{"action": "t", "every_ms": 5}]', '[]');

SELECT name FROM spawn.definitions WHERE name LIKE 'o%' ORDER BY name;
SELECT name FROM spawn.systems WHERE name LIKE 'o-%';
SELECT spawn.unregister_actor('o1');
