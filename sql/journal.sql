-- Event journal and replay: entries per state change, replays that match or report where they
-- stop matching, and the errors of each.
\set SHOW_CONTEXT never

CREATE TABLE jr_log (n int);
CREATE FUNCTION jr_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO jr_log VALUES (1);  -- a side effect that a replay must not leave behind
  IF payload->>'fail' = 'yes' THEN
    RAISE EXCEPTION 'refused';
  END IF;
  RETURN spawn.reply(jsonb_build_object('total', coalesce((state->>'total')::int, 0) + (payload->>'value')::int),
                     jsonb_build_object('total', coalesce((state->>'total')::int, 0) + (payload->>'value')::int));
END
$$;
CREATE FUNCTION jr_init(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.noreply(state || '{"opened": true}') $$;
CREATE FUNCTION jr_same(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, state) $$;

-- snapshot_timeout keeps the scheduler's snapshots out of this test's replays.
SELECT spawn.register_actor('jr', '{"init": "jr_init", "add": "jr_add", "same": "jr_same"}',
                            journal => true, snapshot_timeout => 3600000);
SELECT journal FROM spawn.definitions WHERE name = 'jr';
SELECT spawn.invoke('jr', 'add', '{"value": 1}');
SELECT spawn.invoke('jr', 'add', '{"value": 5}', metadata => '{"trace": "t-1"}');
SELECT spawn.invoke('jr', 'same', '"unchanged"');  -- no state change: no entry
SELECT spawn.invoke('jr', 'add', '{"value": 10}');
SELECT spawn.invoke('jr', 'add', '{"value": 1, "fail": "yes"}');  -- fails: no entry
SELECT revision, action, payload, response, metadata, restored_from FROM spawn.journal('jr');
SELECT revision, action FROM spawn.journal('jr', from_revision => 3);
SELECT revision FROM spawn.actors WHERE name = 'jr';

-- The journal is sealed like state: no plaintext in the table.
SELECT count(*) FROM spawn._journal WHERE actor = 'jr' AND position(convert_to('value', 'UTF8') IN entry) > 0;

-- Replays: to the current revision, to earlier ones, to the empty state.
SELECT count(*) AS log_before FROM jr_log \gset
SELECT * FROM spawn.replay('jr');
SELECT * FROM spawn.replay('jr', 2);
SELECT * FROM spawn.replay('jr', 0);
-- Handlers ran again, but what they wrote besides their result was rolled back.
SELECT count(*) = :log_before AS side_effects_undone FROM jr_log;
SELECT revision, spawn.state('jr') FROM spawn.actors WHERE name = 'jr';

-- A handler that no longer computes the same states: the replay says where it diverges.
CREATE OR REPLACE FUNCTION jr_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(NULL, jsonb_build_object('total', coalesce((state->>'total')::int, 0) + 2 * (payload->>'value')::int))
$$;
SELECT * FROM spawn.replay('jr');
SELECT * FROM spawn.replay('jr', 1);  -- init only: still matches

-- An action the actor no longer handles cannot be replayed.
SELECT spawn.register_actor('jr', '{"init": "jr_init", "same": "jr_same"}', journal => true, snapshot_timeout => 3600000);
SELECT * FROM spawn.replay('jr');
\echo :LAST_ERROR_SQLSTATE

-- Bad input.
SELECT * FROM spawn.replay('jr', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.replay('jr', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.replay('ghost');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.replay(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.journal('jr', system => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('jr_plain', '{"init": "jr_init", "same": "jr_same"}');
SELECT * FROM spawn.journal('jr_plain');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.replay('jr_plain');  -- revision 0: nothing to replay
SELECT spawn.invoke('jr_plain', 'same', '1');  -- init makes revision 1, unjournaled
SELECT * FROM spawn.replay('jr_plain');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('jr_pool', '{"same": "jr_same"}', kind => 'pooled', journal => true);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('jr_stateless', '{"same": "jr_same"}', stateful => false, journal => true);
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('jr_null', '{"same": "jr_same"}', journal => NULL);
\echo :LAST_ERROR_SQLSTATE

-- Reading the journal is privileged, like reading state.
CREATE ROLE jr_reader;
SET ROLE jr_reader;
SELECT * FROM spawn.journal('jr');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM spawn.replay('jr');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE jr_reader;

-- Unregistering removes the journal with the instance.
SELECT spawn.unregister_actor('jr');
SELECT count(*) FROM spawn._journal WHERE actor = 'jr';
