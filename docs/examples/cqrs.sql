-- CQRS with event sourcing: orders are actors (the command side, with a journal of every
-- change); queries read a projection table of orders by status (the query side), kept up to
-- date in the same transaction as each command. A second, async projection sums revenue per
-- customer through the mailbox.
-- Run from the top of the checkout, in the database the scheduler serves (spawn.database;
-- PGHOST, PGPORT, PGUSER and PGDATABASE select the server, e.g. those ./scripts/run.sh prints):
-- Run: psql -X -v ON_ERROR_STOP=1 -f docs/examples/cqrs.sql
-- It stops at the first failed check. Every example runs on its own, in any order with the
-- others, in one database (their actors and functions have distinct names).
CREATE EXTENSION IF NOT EXISTS spawn;

-- Command side: one actor per order. Each command checks the order's status first.
CREATE FUNCTION order_command(state jsonb, command text, allowed text[], next text, changes jsonb)
RETURNS spawn.value LANGUAGE plpgsql AS $$
DECLARE
  current text := coalesce(state->>'status', 'new');
BEGIN
  IF NOT current = ANY (allowed) THEN
    RAISE EXCEPTION 'cannot % an order that is %', command, current
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  RETURN spawn.reply(to_jsonb(next), state || changes || jsonb_build_object('status', next));
END $$;

CREATE FUNCTION order_place(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT order_command(state, 'place', '{new}', 'placed',
  jsonb_build_object('customer', payload->'customer', 'amount', payload->'amount')) $$;
CREATE FUNCTION order_pay(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT order_command(state, 'pay', '{placed}', 'paid', '{}') $$;
CREATE FUNCTION order_ship(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT order_command(state, 'ship', '{paid}', 'shipped', '{}') $$;
CREATE FUNCTION order_cancel(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT order_command(state, 'cancel', '{placed,paid}', 'cancelled', '{}') $$;

SELECT spawn.register_actor('order', kind => 'unnamed', journal => true, actions =>
  '{"place": "order_place", "pay": "order_pay", "ship": "order_ship", "cancel": "order_cancel"}');

-- Query side: a plain table, indexed for the queries it serves.
CREATE TABLE orders_by_status (
  order_id text PRIMARY KEY,
  customer text NOT NULL,
  status text NOT NULL,
  amount numeric NOT NULL,
  revision bigint NOT NULL
);
CREATE INDEX ON orders_by_status (status);

CREATE FUNCTION project_order(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO public.orders_by_status
    VALUES (actor, state->>'customer', state->>'status', (state->>'amount')::numeric, revision)
  ON CONFLICT (order_id) DO UPDATE
    SET status = excluded.status, amount = excluded.amount, revision = excluded.revision
$$;
SELECT spawn.create_projection('orders_by_status', '{order}', 'project_order', 'orders_by_status');

-- An async read model: revenue of paid and shipped orders per customer.
CREATE TABLE order_revenue (order_id text PRIMARY KEY, customer text NOT NULL, amount numeric NOT NULL, revision bigint NOT NULL);
CREATE FUNCTION project_revenue(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF state->>'status' IN ('paid', 'shipped') THEN
    INSERT INTO public.order_revenue VALUES (actor, state->>'customer', (state->>'amount')::numeric, revision)
    ON CONFLICT (order_id) DO UPDATE SET amount = excluded.amount, revision = excluded.revision
      WHERE order_revenue.revision < excluded.revision;
  ELSE
    DELETE FROM public.order_revenue WHERE order_id = actor;
  END IF;
END $$;
SELECT spawn.create_projection('order_revenue', '{order}', 'project_revenue', 'order_revenue', mode => 'async');

-- Commands.
SELECT spawn.invoke('order-1', 'place', '{"customer": "ada", "amount": 30}', register_ref => 'order');
SELECT spawn.invoke('order-2', 'place', '{"customer": "ada", "amount": 12}', register_ref => 'order');
SELECT spawn.invoke('order-3', 'place', '{"customer": "bob", "amount": 99}', register_ref => 'order');
SELECT spawn.invoke('order-4', 'place', '{"customer": "bob", "amount": 5}', register_ref => 'order');
SELECT spawn.invoke('order-1', 'pay');
SELECT spawn.invoke('order-1', 'ship');
SELECT spawn.invoke('order-3', 'pay');
SELECT spawn.invoke('order-4', 'cancel');

-- A rejected command changes neither the order nor the read model.
DO $$
BEGIN
  PERFORM spawn.invoke('order-4', 'ship');
  RAISE EXCEPTION 'shipping a cancelled order should have been rejected';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  RAISE NOTICE 'rejected: %', SQLERRM;
END $$;

-- Queries read the table directly, with its index, and never decrypt a state.
SELECT status, count(*) AS orders, sum(amount) AS amount
FROM orders_by_status GROUP BY status ORDER BY status;

DO $$
BEGIN
  ASSERT (SELECT count(*) FROM orders_by_status WHERE status = 'placed') = 1, 'one placed';
  ASSERT (SELECT order_id FROM orders_by_status WHERE status = 'shipped') = 'order-1', 'order-1 shipped';
  ASSERT (SELECT status FROM orders_by_status WHERE order_id = 'order-4') = 'cancelled', 'order-4 cancelled';
  ASSERT NOT EXISTS (SELECT 1 FROM orders_by_status o JOIN spawn.actors a ON a.name = o.order_id
                     WHERE a.revision <> o.revision), 'the read model is at every order''s revision';
END $$;

-- The async read model catches up once the workers have drained the mailbox.
DO $$
BEGIN
  FOR i IN 1..200 LOOP
    IF NOT EXISTS (SELECT 1 FROM spawn.mailbox_stats WHERE pending > 0 OR retrying > 0) THEN
      RETURN;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RAISE EXCEPTION 'the scheduler did not process the async projection within 10 s'
    USING HINT = format('It runs in database %L (spawn.database); this is %L. See spawn.worker_stats.',
                        current_setting('spawn.database'), current_database());
END $$;
SELECT customer, sum(amount) AS revenue FROM order_revenue GROUP BY customer ORDER BY customer;
DO $$
BEGIN
  ASSERT (SELECT sum(amount) FROM order_revenue WHERE customer = 'ada') = 30, 'ada paid 30';
  ASSERT (SELECT sum(amount) FROM order_revenue WHERE customer = 'bob') = 99, 'bob paid 99';
END $$;

-- Event sourcing: the journal holds every change of an order, and replaying it rebuilds the
-- same state.
SELECT revision, action, payload FROM spawn.journal('order-1');
SELECT revision, state, matches FROM spawn.replay('order-1');
DO $$
BEGIN
  ASSERT (SELECT count(*) FROM spawn.journal('order-1')) = 3, 'place, pay, ship';
  ASSERT (SELECT matches FROM spawn.replay('order-1')), 'the replay matches';
END $$;

-- A lost or corrupted read model is rebuilt from the current states in one call.
TRUNCATE orders_by_status;
SELECT spawn.rebuild_projection('orders_by_status');
DO $$
BEGIN
  ASSERT (SELECT count(*) FROM orders_by_status) = 4, 'all four orders are back';
END $$;
