-- Order processing: a purchase actor reserves stock from an inventory actor and charges a
-- payment actor, synchronously, inside one transaction: if the charge fails, the reservation
-- is rolled back with it. A placed purchase tells the shipping actor through a side effect.
-- Run from the top of the checkout, in the database the scheduler serves (spawn.database;
-- PGHOST, PGPORT, PGUSER and PGDATABASE select the server, e.g. those ./scripts/run.sh prints):
-- Run: psql -X -v ON_ERROR_STOP=1 -f docs/examples/order_processing.sql
-- It stops at the first failed check. Every example runs on its own, in any order with the
-- others, in one database (their actors and functions have distinct names).
CREATE EXTENSION IF NOT EXISTS spawn;

-- Stops the example (psql runs it with ON_ERROR_STOP) when a check fails.
CREATE FUNCTION spawn_example_fail(what text) RETURNS text
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'check failed: %', what; END $$;

CREATE FUNCTION inventory_restock(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(s, s) FROM (SELECT state || jsonb_build_object('stock',
    coalesce(state->'stock', '{}') || jsonb_build_object(payload->>'sku',
      coalesce((state #>> ARRAY['stock', payload->>'sku'])::int, 0) + (payload->>'qty')::int)) AS s) x
$$;

CREATE FUNCTION inventory_reserve(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
DECLARE
  have int := coalesce((state #>> ARRAY['stock', payload->>'sku'])::int, 0);
  want int := (payload->>'qty')::int;
BEGIN
  IF want > have THEN
    RAISE EXCEPTION 'only % of % in stock', have, payload->>'sku' USING ERRCODE = 'P0001';
  END IF;
  RETURN spawn.reply(jsonb_build_object('reserved', want),
                     jsonb_set(state, ARRAY['stock', payload->>'sku'], to_jsonb(have - want)));
END $$;

CREATE FUNCTION payment_charge(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF (payload->>'amount')::numeric > 1000 THEN
    RAISE EXCEPTION 'card declined for %', payload->>'amount' USING ERRCODE = 'P0002';
  END IF;
  RETURN spawn.reply(jsonb_build_object('charged', payload->'amount'),
    state || jsonb_build_object('charged', coalesce((state->>'charged')::numeric, 0) + (payload->>'amount')::numeric));
END $$;

CREATE FUNCTION shipping_ship(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_build_object('shipped', coalesce(state->'shipped', '[]') || to_jsonb(payload->>'order')))
$$;

-- Places a purchase: reserve, charge, remember, and ask shipping to ship when this commits.
CREATE FUNCTION purchase_place(state jsonb, payload jsonb, ctx spawn.context) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF state ? 'status' THEN
    RAISE EXCEPTION 'purchase % was already placed', ctx.actor USING ERRCODE = '55000';
  END IF;
  PERFORM spawn.invoke('inventory', 'reserve', payload);
  PERFORM spawn.invoke('payment', 'charge', payload);
  RETURN spawn.with_effects(
    spawn.reply(jsonb_build_object('order', ctx.actor, 'status', 'placed'),
                payload || jsonb_build_object('status', 'placed')),
    spawn.effect('shipping', 'ship', jsonb_build_object('order', ctx.actor)));
END $$;

SELECT spawn.register_actor('inventory', actions => '{"restock": "inventory_restock", "reserve": "inventory_reserve"}');
SELECT spawn.register_actor('payment', actions => '{"charge": "payment_charge"}');
SELECT spawn.register_actor('shipping', actions => '{"ship": "shipping_ship"}');
SELECT spawn.register_actor('purchase', actions => '{"place": "purchase_place"}', kind => 'unnamed');

SELECT spawn.invoke('inventory', 'restock', '{"sku": "book", "qty": 3}');

-- A good purchase.
SELECT spawn.invoke('purchase-1', 'place', '{"sku": "book", "qty": 2, "amount": 40}', register_ref => 'purchase');

-- Not enough stock: the whole invocation fails, nothing changes.
DO $$
BEGIN
  PERFORM spawn.invoke('purchase-2', 'place', '{"sku": "book", "qty": 5, "amount": 100}', register_ref => 'purchase');
  RAISE EXCEPTION 'the purchase should have failed';
EXCEPTION WHEN SQLSTATE 'P0001' THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;

-- The charge is declined: the stock reserved just before is rolled back with it.
DO $$
BEGIN
  PERFORM spawn.invoke('purchase-3', 'place', '{"sku": "book", "qty": 1, "amount": 5000}', register_ref => 'purchase');
  RAISE EXCEPTION 'the purchase should have failed';
EXCEPTION WHEN SQLSTATE 'P0002' THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;

DO $$
BEGIN
  ASSERT spawn.invoke('inventory', 'get') #>> '{stock,book}' = '1', 'one book left';
  ASSERT spawn.invoke('payment', 'get') ->> 'charged' = '40', 'only the good purchase was charged';
  ASSERT NOT EXISTS (SELECT 1 FROM spawn.actors WHERE name IN ('purchase-2', 'purchase-3')), 'failed purchases left nothing';
END $$;

-- Shipping got its message when purchase-1 committed; a request queued after it sees the result
-- (an actor's messages run in order).
SELECT spawn.invoke_async('shipping', 'get') AS request \gset
SELECT spawn.wait(:request, 10000) -> 'shipped' AS shipped \gset
SELECT CASE WHEN :'shipped'::jsonb = '["purchase-1"]' THEN 'purchase-1 shipped'
       ELSE spawn_example_fail('purchase-1 was not shipped') END AS check;
