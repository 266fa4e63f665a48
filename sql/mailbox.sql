-- Asynchronous invocations: casts, replies, failures and their errors. The scheduler runs in
-- this database (spawn.database = 'regression' in the test configuration).
\set SHOW_CONTEXT never

CREATE FUNCTION mb_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s
$$;
CREATE FUNCTION mb_fail(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'refused: %', payload->>'why' USING ERRCODE = 'P0042',
    DETAIL = format('The payload was %s.', payload), HINT = 'Send a payload without "why".';
END $$;
SELECT spawn.register_actor('mb', actions => '{"add": "mb_add", "fail": "mb_fail"}');

-- Casts run after commit, in order; an async invoke's reply can be awaited.
SELECT spawn.cast('mb', 'add', '{"value": 1}') > 0 AS queued;
SELECT spawn.cast('mb', 'add', '{"value": 2}') > 0 AS queued;
SELECT spawn.invoke_async('mb', 'add', '{"value": 3}') AS request \gset
SELECT spawn.wait(:request, 10000);
SELECT status, response, error FROM spawn.result(:request);

-- A cast in a rolled-back transaction never runs.
BEGIN;
SELECT spawn.cast('mb', 'add', '{"value": 1000}') > 0 AS queued;
ROLLBACK;
SELECT spawn.invoke_async('mb', 'get') AS request \gset
SELECT spawn.wait(:request, 10000);

-- A delayed cast waits for its time.
SELECT spawn.cast('mb', 'add', '{"value": 10}', delay_ms => 60000) > 0 AS queued;
SELECT pending, scheduled FROM spawn.mailbox_stats WHERE actor = 'mb';

-- A failing request: its error is the reply (the retry budget here is 2 attempts), with the
-- SQLSTATE, detail and hint the handler raised it with: spawn.wait raises it so, spawn.result
-- and the dead letter show them.
SELECT spawn.invoke_async('mb', 'fail', '{"why": "no"}') AS failing \gset
SELECT spawn.wait(:failing, 20000);
\echo :LAST_ERROR_SQLSTATE
-- Its context line names the request.
\set SHOW_CONTEXT errors
SELECT spawn.wait(:failing);
\set SHOW_CONTEXT never
SELECT status, response, error, sqlstate, detail, hint FROM spawn.result(:failing);
SELECT actor, action, attempts, last_error, last_detail, last_hint
  FROM spawn.dead_letters WHERE id = :failing;
SELECT spawn.discard_dead_letter(:failing);
SELECT count(*) FROM spawn.dead_letters WHERE id = :failing;
-- An error without detail or hint keeps none.
SELECT spawn.invoke_async('mb', 'add', '{"value": "x"}') AS bad_value \gset
SELECT spawn.wait(:bad_value, 20000);
\echo :LAST_ERROR_SQLSTATE
SELECT status, error, sqlstate, detail IS NULL AS no_detail, hint IS NULL AS no_hint
  FROM spawn.result(:bad_value);
SELECT last_error, last_detail IS NULL AS no_detail, last_hint IS NULL AS no_hint
  FROM spawn.dead_letters WHERE id = :bad_value;
SELECT spawn.discard_dead_letter(:bad_value);

-- Bad input.
SELECT spawn.cast('nobody', 'add', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'subtract', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'add', '{}', system => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'add', '{}', delay_ms => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'add', '{}', delay_ms => 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'add', '{}', scheduled_to => 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'add', '{}', scheduled_to => '-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('mb', 'add', '{}', delay_ms => 5, scheduled_to => now());
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.cast('', 'add');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke_async('mb', 'add', '{}', reply_channel => 'not a channel');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke_async('mb', 'add', '{}', reply_channel => '1abc');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.wait(-42);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.wait(spawn.invoke_async('mb', 'get'));
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.wait(1, -5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.result(-42);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.retry_dead_letter(-42);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.discard_dead_letter(-42);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.schedule('mb', 'add', 'every minute');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.schedule('mb', 'add', '61 * * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.schedule('mb', 'add', '0 0 31 2 *');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.schedule('mb', 'nope', '* * * * *');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.unschedule(-1);
\echo :LAST_ERROR_SQLSTATE

-- Schedules are listed without their payloads and can be removed.
SELECT spawn.schedule('mb', 'add', '0 3 * * *', '{"value": 1}') AS schedule \gset
SELECT actor, action, cron FROM spawn.schedules WHERE id = :schedule;
SELECT spawn.unschedule(:schedule);

-- History and restore (this actor never changed, so it has no snapshots).
SELECT spawn.register_actor('fresh', actions => '{"add": "mb_add"}');
SELECT spawn.restore('fresh', 999);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.restore('nobody', 1);
\echo :LAST_ERROR_SQLSTATE
