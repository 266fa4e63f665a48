-- Invocation behaviour: state, revisions, transactions, errors and their SQLSTATEs.
BEGIN;
SELECT plan(35);

CREATE FUNCTION tap_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s
$$;
CREATE FUNCTION tap_fail(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0042'; END $$;

SELECT lives_ok($$ SELECT spawn.register_actor('tap', actions => '{"add": "tap_add", "fail": "tap_fail"}') $$,
  'register a named actor');
SELECT is(spawn.invoke('tap', 'add', '{"value": 1}'), '{"total": 1}', 'first add');
SELECT is(spawn.invoke('tap', 'add', '{"value": 2}'), '{"total": 3}', 'second add');
SELECT is((SELECT revision FROM spawn.actors WHERE name = 'tap'), 2::bigint, 'one revision per change');
SELECT is((SELECT status FROM spawn.actors WHERE name = 'tap'), 'active', 'active after use');

-- A failing handler leaves everything as it was (savepoint so the test goes on).
SAVEPOINT s1;
SELECT throws_ok($$ SELECT spawn.invoke('tap', 'fail') $$, 'P0042', 'boom', 'handler error reaches the caller');
ROLLBACK TO s1;
SELECT is(spawn.invoke('tap', 'get'), '{"total": 3}', 'state unchanged after a failed handler');
SELECT is((SELECT revision FROM spawn.actors WHERE name = 'tap'), 2::bigint, 'revision unchanged after a failed handler');

-- Rollback of a subtransaction undoes the invocation.
SAVEPOINT s2;
SELECT is(spawn.invoke('tap', 'add', '{"value": 100}'), '{"total": 103}', 'invoke inside a savepoint');
ROLLBACK TO s2;
SELECT is(spawn.invoke('tap', 'get'), '{"total": 3}', 'rolled back with the savepoint');

SELECT throws_ok($$ SELECT spawn.invoke('missing', 'add') $$, '42704', NULL, 'unknown actor');
SELECT throws_ok($$ SELECT spawn.invoke('tap', 'missing') $$, '42883', NULL, 'unknown action');
SELECT throws_ok($$ SELECT spawn.invoke('tap', 'add', system => 'missing') $$, '42704',
  'actor system "missing" does not exist', 'unknown system');
SELECT throws_ok($$ SELECT spawn.invoke('', 'add') $$, '42602', 'invalid actor name', 'empty name');
SELECT throws_ok($$ SELECT spawn.invoke('tap', 'add', '{oops') $$, '22P02', NULL, 'invalid JSON');
SELECT throws_ok($$ SELECT spawn.register_actor('tap2', actions => '{"add": "no_such_fn"}') $$,
  '42883', NULL, 'missing handler function');
SELECT throws_ok($$ SELECT spawn.register_actor('tap2', actions => '{"add": "abs"}') $$,
  '42P13', NULL, 'handler with the wrong signature');
SELECT is((SELECT count(*)::int FROM spawn.actors WHERE name = 'tap2'), 0, 'no instance for tap2');
SELECT is((SELECT count(*)::int FROM spawn.definitions WHERE name = 'tap2'), 0, 'no definition for tap2');

-- Unnamed instances are independent.
SELECT lives_ok($$ SELECT spawn.register_actor('tapc', actions => '{"add": "tap_add"}', kind => 'unnamed') $$,
  'register a template');
SELECT is(spawn.invoke('tc-1', 'add', '{"value": 5}', register_ref => 'tapc'), '{"total": 5}', 'instance one');
SELECT is(spawn.invoke('tc-2', 'add', '{"value": 7}', register_ref => 'tapc'), '{"total": 7}', 'instance two');
SELECT is(spawn.invoke('tc-1', 'get'), '{"total": 5}', 'instance one kept its own state');
SELECT throws_ok($$ SELECT spawn.invoke('tapc', 'add', '{"value": 1}') $$, '42809', NULL, 'a template is not invocable');

-- Growing states fill their pages, so some updates cannot be HOT and add index entries;
-- every instance must still be found through the index afterwards.
CREATE FUNCTION tap_grow(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(to_jsonb(jsonb_array_length(coalesce(state->'items', '[]'))),
                     jsonb_build_object('items', coalesce(state->'items', '[]') || payload))
$$;
SELECT lives_ok($$ SELECT spawn.register_actor('tapg', actions => '{"grow": "tap_grow"}', kind => 'unnamed') $$,
  'register a growing template');
SELECT is((SELECT count(*)::int FROM (
  SELECT spawn.invoke('g-' || (i % 20), 'grow', to_jsonb(repeat('x', 300)), register_ref => 'tapg')
  FROM generate_series(1, 400) i) s), 400, '400 growing invocations');
SELECT ok(pg_stat_get_xact_tuples_updated('spawn._instances'::regclass)
          > pg_stat_get_xact_tuples_hot_updated('spawn._instances'::regclass),
  'some updates were not HOT (index entries were added)');
SELECT is((SELECT array_agg((spawn.invoke('g-' || i, 'get')->'items')::text IS NOT NULL
                            AND jsonb_array_length(spawn.invoke('g-' || i, 'get')->'items') = 20)
           FROM generate_series(0, 19) i), array_fill(true, ARRAY[20]),
  'every instance is found with all 20 items');
-- last_activity and state_updated_at are kept to within a second (src/state_store.cpp): a
-- write leaves them alone while they are younger, so a busy actor's HOT update does not log
-- them; older ones, and activations, are rewritten. now() is this transaction's start, the
-- time an invoke records.
SELECT is((SELECT array[last_activity, state_updated_at] FROM spawn.actors WHERE name = 'tap'),
  array[now(), now()], 'an invoke records the transaction''s start');
UPDATE spawn._instances SET last_activity = now() - interval '500 ms',
  state_updated_at = now() - interval '500 ms' WHERE name = 'tap';
SELECT is(spawn.invoke('tap', 'add', '{"value": 1}') IS NOT NULL, true, 'add within the second');
SELECT is((SELECT array[last_activity, state_updated_at] FROM spawn.actors WHERE name = 'tap'),
  array[now() - interval '500 ms', now() - interval '500 ms'],
  'times younger than a second are left as they are');
UPDATE spawn._instances SET last_activity = now() - interval '1 s',
  state_updated_at = now() - interval '3 s' WHERE name = 'tap';
SELECT ok(spawn.invoke('tap', 'get') IS NOT NULL AND spawn.invoke('tap', 'add', '{"value": 0}') IS NOT NULL,
  'a read and an add that keeps the state');
SELECT is((SELECT array[last_activity, state_updated_at] FROM spawn.actors WHERE name = 'tap'),
  array[now(), now() - interval '3 s'], 'a second old activity is rewritten, an unchanged state''s time is not');
UPDATE spawn._instances SET last_activity = now() + interval '10 s',
  state_updated_at = now() - interval '3 s' WHERE name = 'tap';
SELECT is(spawn.invoke('tap', 'add', '{"value": 1}') IS NOT NULL, true, 'add after a later writer');
SELECT is((SELECT array[last_activity, state_updated_at] FROM spawn.actors WHERE name = 'tap'),
  array[now() + interval '10 s', now()], 'a later activity is kept (never goes back), a changed state''s old time is rewritten');
SELECT * FROM finish();
ROLLBACK;
