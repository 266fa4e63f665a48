-- A saga: a money transfer between account actors, asynchronous, with a compensation step.
-- The transfer debits the source, then asks the target for the credit. A closed target
-- answers "credit_failed" and the transfer refunds the source. Money is never created or
-- lost: at every commit, balances plus money held by open transfers add up to the same total.
-- Run from the top of the checkout, in the database the scheduler serves (spawn.database;
-- PGHOST, PGPORT, PGUSER and PGDATABASE select the server, e.g. those ./scripts/run.sh prints):
-- Run: psql -X -v ON_ERROR_STOP=1 -f docs/examples/saga.sql
-- It stops at the first failed check. Every example runs on its own, in any order with the
-- others, in one database (their actors and functions have distinct names).
CREATE EXTENSION IF NOT EXISTS spawn;

CREATE FUNCTION account_open(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, payload || '{"open": true}') $$;

CREATE FUNCTION account_close(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"closed"', state || '{"open": false}') $$;

CREATE FUNCTION account_debit(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF (state->>'balance')::numeric < (payload->>'amount')::numeric THEN
    RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'P0001';
  END IF;
  RETURN spawn.reply('"debited"', jsonb_set(state, '{balance}',
    to_jsonb((state->>'balance')::numeric - (payload->>'amount')::numeric)));
END $$;

-- A credit never raises: it answers the transfer either way, so the saga can compensate. A
-- successful credit marks the transfer done in its own transaction (a synchronous invoke), so
-- no commit ever counts the money both in the account and in the transfer.
CREATE FUNCTION account_credit(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT (state->>'open')::boolean THEN
    RETURN spawn.with_effects(spawn.noreply(state), spawn.effect(payload->>'transfer', 'credit_failed'));
  END IF;
  PERFORM spawn.invoke(payload->>'transfer', 'credited');
  RETURN spawn.noreply(jsonb_set(state, '{balance}',
    to_jsonb((state->>'balance')::numeric + (payload->>'amount')::numeric)));
END $$;

CREATE FUNCTION account_refund(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_set(state, '{balance}',
    to_jsonb((state->>'balance')::numeric + (payload->>'amount')::numeric)))
$$;

-- Debits the source now (the money is then held by the transfer) and asks for the credit.
CREATE FUNCTION transfer_start(state jsonb, payload jsonb, ctx spawn.context) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM spawn.invoke(payload->>'from', 'debit', payload);
  RETURN spawn.with_effects(
    spawn.reply('"started"', payload || '{"status": "in_flight"}'),
    spawn.effect(payload->>'to', 'credit', payload || jsonb_build_object('transfer', ctx.actor)));
END $$;

CREATE FUNCTION transfer_credited(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.noreply(state || '{"status": "done"}') $$;

-- Compensation: the credit failed, so the held money goes back to the source, in the same
-- transaction that marks the transfer compensated.
CREATE FUNCTION transfer_credit_failed(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM spawn.invoke(state->>'from', 'refund', state);
  RETURN spawn.noreply(state || '{"status": "compensated"}');
END $$;

SELECT spawn.register_actor('account', kind => 'unnamed', actions => '{"open": "account_open",
  "close": "account_close", "debit": "account_debit", "credit": "account_credit", "refund": "account_refund"}');
SELECT spawn.register_actor('transfer', kind => 'unnamed', actions => '{"start": "transfer_start",
  "credited": "transfer_credited", "credit_failed": "transfer_credit_failed"}');

SELECT spawn.invoke('alice', 'open', '{"balance": 100}', register_ref => 'account');
SELECT spawn.invoke('bob', 'open', '{"balance": 50}', register_ref => 'account');
SELECT spawn.invoke('carol', 'open', '{"balance": 0}', register_ref => 'account');
SELECT spawn.invoke('carol', 'close');

-- Money in accounts plus money held by transfers still in flight.
CREATE FUNCTION saga_total() RETURNS numeric LANGUAGE sql AS $$
  SELECT (SELECT sum((spawn.state(name)->>'balance')::numeric) FROM spawn.actors WHERE parent = 'account')
       + (SELECT coalesce(sum((spawn.state(name)->>'amount')::numeric), 0) FROM spawn.actors
          WHERE parent = 'transfer' AND spawn.state(name)->>'status' = 'in_flight')
$$;

SELECT spawn.invoke('t-1', 'start', '{"from": "alice", "to": "bob", "amount": 30}', register_ref => 'transfer');
SELECT spawn.invoke('t-2', 'start', '{"from": "alice", "to": "carol", "amount": 20}', register_ref => 'transfer');
DO $$ BEGIN ASSERT saga_total() = 150, 'no money created or lost while transfers are in flight'; END $$;

-- Overdraft: refused before anything moves.
DO $$
BEGIN
  PERFORM spawn.invoke('t-3', 'start', '{"from": "bob", "to": "alice", "amount": 999}', register_ref => 'transfer');
  RAISE EXCEPTION 'the transfer should have been refused';
EXCEPTION WHEN SQLSTATE 'P0001' THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;

-- Wait until the mailbox is empty (every step and compensation has run), 10 s at the most.
DO $$
BEGIN
  FOR i IN 1..200 LOOP
    IF NOT EXISTS (SELECT 1 FROM spawn.mailbox_stats WHERE pending + scheduled + retrying > 0) THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RAISE EXCEPTION 'the scheduler did not process the transfers within 10 s'
    USING HINT = format('It runs in database %L (spawn.database); this is %L. See spawn.worker_stats.',
                        current_setting('spawn.database'), current_database());
END $$;

SELECT name, spawn.state(name)->>'balance' AS balance FROM spawn.actors WHERE parent = 'account' ORDER BY name;
SELECT name, spawn.state(name)->>'status' AS status FROM spawn.actors WHERE parent = 'transfer' ORDER BY name;
DO $$
BEGIN
  ASSERT spawn.state('alice')->>'balance' = '70', 'alice paid 30 and got 20 back';
  ASSERT spawn.state('bob')->>'balance' = '80', 'bob received 30';
  ASSERT spawn.state('carol')->>'balance' = '0', 'the closed account received nothing';
  ASSERT spawn.state('t-1')->>'status' = 'done', 't-1 completed';
  ASSERT spawn.state('t-2')->>'status' = 'compensated', 't-2 was compensated';
  ASSERT saga_total() = 150, 'no money created or lost';
END $$;
