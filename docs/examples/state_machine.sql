-- A state machine: user registration New -> EmailSent -> Verified -> Active. Each action is
-- a transition; any other order is rejected with a clear error and changes nothing.
-- Run from the top of the checkout, in the database the scheduler serves (spawn.database;
-- PGHOST, PGPORT, PGUSER and PGDATABASE select the server, e.g. those ./scripts/run.sh prints):
-- Run: psql -X -v ON_ERROR_STOP=1 -f docs/examples/state_machine.sql
-- It stops at the first failed check. Every example runs on its own, in any order with the
-- others, in one database (their actors and functions have distinct names).
CREATE EXTENSION IF NOT EXISTS spawn;

-- Moves from `expected` to `next`, or raises 55000 naming the current state.
CREATE FUNCTION registration_step(state jsonb, action text, expected text, next text)
RETURNS spawn.value LANGUAGE plpgsql AS $$
DECLARE
  current text := coalesce(state->>'status', 'New');
BEGIN
  IF current <> expected THEN
    RAISE EXCEPTION 'cannot % a registration in state %', action, current
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('%s is only allowed in state %s.', action, expected);
  END IF;
  RETURN spawn.reply(to_jsonb(next), state || jsonb_build_object('status', next,
    'history', coalesce(state->'history', '[]') || to_jsonb(next)));
END $$;

CREATE FUNCTION registration_send_email(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT registration_step(state || jsonb_build_object('email', payload->>'email'), 'send_email', 'New', 'EmailSent') $$;
CREATE FUNCTION registration_verify(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT registration_step(state, 'verify', 'EmailSent', 'Verified') $$;
CREATE FUNCTION registration_activate(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT registration_step(state, 'activate', 'Verified', 'Active') $$;

SELECT spawn.register_actor('registration', kind => 'unnamed', actions => '{"send_email": "registration_send_email",
  "verify": "registration_verify", "activate": "registration_activate"}');

SELECT spawn.invoke('reg-ada', 'send_email', '{"email": "ada@example.com"}', register_ref => 'registration');

-- Activating before verifying is rejected, and the state stays EmailSent.
DO $$
BEGIN
  PERFORM spawn.invoke('reg-ada', 'activate');
  RAISE EXCEPTION 'the transition should have been rejected';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  RAISE NOTICE 'rejected: %', SQLERRM;
END $$;

SELECT spawn.invoke('reg-ada', 'verify');
SELECT spawn.invoke('reg-ada', 'activate');

-- Nothing happens twice.
DO $$
BEGIN
  PERFORM spawn.invoke('reg-ada', 'verify');
  RAISE EXCEPTION 'the transition should have been rejected';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  RAISE NOTICE 'rejected: %', SQLERRM;
END $$;

SELECT spawn.invoke('reg-ada', 'get');
DO $$
BEGIN
  ASSERT spawn.invoke('reg-ada', 'get') -> 'history' = '["EmailSent", "Verified", "Active"]', 'the path';
  ASSERT (SELECT revision FROM spawn.actors WHERE name = 'reg-ada') = 3, 'one revision per transition';
END $$;
