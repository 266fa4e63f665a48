-- Projections: read models kept up to date from actor states, strict (same transaction) or
-- async (through the mailbox), rebuilt with one call; and their errors.
\set SHOW_CONTEXT never

CREATE FUNCTION pj_place(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"placed"', jsonb_build_object('status', 'placed', 'total', payload->'total')) $$;
CREATE FUNCTION pj_ship(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF state->>'status' IS DISTINCT FROM 'placed' THEN
    RAISE EXCEPTION 'order is %, not placed', coalesce(state->>'status', 'new');
  END IF;
  RETURN spawn.reply('"shipped"', state || '{"status": "shipped"}');
END
$$;
SELECT spawn.register_actor('pj_order', '{"place": "pj_place", "ship": "pj_ship"}', kind => 'unnamed');
SELECT spawn.register_actor('pj_vip', '{"place": "pj_place", "ship": "pj_ship"}');
SELECT spawn.invoke('pj-1', 'place', '{"total": 10}', register_ref => 'pj_order');
SELECT spawn.spawn_actor('pj-empty', 'pj_order');  -- no state yet: not projected

CREATE TABLE pj_orders (order_id text PRIMARY KEY, status text NOT NULL, total numeric, revision bigint NOT NULL);
CREATE FUNCTION pj_project(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO public.pj_orders VALUES (actor, state->>'status', (state->>'total')::numeric, revision)
  ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, total = excluded.total, revision = excluded.revision
$$;

-- Strict: created and populated from current states at once.
SELECT spawn.create_projection('pj_by_status', '{pj_order, pj_vip}', 'pj_project', 'pj_orders');
SELECT * FROM pj_orders ORDER BY order_id;
SELECT name, mode, read_model, handler, actors, owner FROM spawn.projections;
SELECT spawn.invoke('pj-2', 'place', '{"total": 20}', register_ref => 'pj_order');
SELECT spawn.invoke('pj-1', 'ship');
SELECT spawn.invoke('pj_vip', 'place', '{"total": 99}');
SELECT status, count(*), sum(total) FROM pj_orders GROUP BY status ORDER BY status;
-- The read model commits or rolls back with the invocation.
BEGIN;
SELECT spawn.invoke('pj-2', 'ship');
SELECT status FROM pj_orders WHERE order_id = 'pj-2';
ROLLBACK;
SELECT status FROM pj_orders WHERE order_id = 'pj-2';
-- A failed invocation changes neither the state nor the read model.
SELECT spawn.invoke('pj-1', 'ship');
SELECT order_id, status, revision FROM pj_orders WHERE order_id = 'pj-1';

-- Rebuild: the read model is emptied and refilled from the current states.
UPDATE pj_orders SET status = 'corrupt';
INSERT INTO pj_orders VALUES ('stray', 'placed', 1, 1);
SELECT spawn.rebuild_projection('pj_by_status');
SELECT * FROM pj_orders ORDER BY order_id;

-- A projection handler that fails makes the invocation fail: strict means strict.
CREATE FUNCTION pj_reject(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'read model refuses %', actor; END $$;
CREATE TABLE pj_strict_fail (id text);
SELECT spawn.create_projection('pj_fails', '{pj_vip}', 'pj_reject', 'pj_strict_fail', populate => false);
SELECT spawn.invoke('pj_vip', 'ship');
SELECT revision FROM spawn.actors WHERE name = 'pj_vip';
SELECT spawn.drop_projection('pj_fails');
SELECT spawn.invoke('pj_vip', 'ship');

-- A dropped handler is reported by name with what to do.
CREATE FUNCTION pj_gone(actor text, state jsonb, revision bigint) RETURNS void LANGUAGE sql AS $$ SELECT $$;
SELECT spawn.create_projection('pj_dangling', '{pj_order}', 'pj_gone', 'pj_strict_fail', populate => false);
DROP FUNCTION pj_gone(text, jsonb, bigint);
SELECT spawn.invoke('pj-3', 'place', '{"total": 1}', register_ref => 'pj_order');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.drop_projection('pj_dangling');
-- So is a dropped read-model table, when the projection is rebuilt.
CREATE TABLE pj_doomed (id text);
SELECT spawn.create_projection('pj_doomed', '{pj_vip}', 'pj_project', 'pj_doomed', populate => false);
DROP TABLE pj_doomed;
SELECT spawn.rebuild_projection('pj_doomed');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.drop_projection('pj_doomed');

-- Async: the worker updates the read model after commit.
CREATE TABLE pj_async (order_id text PRIMARY KEY, status text, revision bigint);
CREATE FUNCTION pj_project_async(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO public.pj_async VALUES (actor, state->>'status', revision)
  ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, revision = excluded.revision
$$;
SELECT spawn.create_projection('pj_async', '{pj_order}', 'pj_project_async', 'pj_async', mode => 'async', populate => false);
BEGIN;
SELECT spawn.invoke('pj-2', 'ship');
SELECT count(*) FROM pj_async;  -- not yet: the update is a message sent at commit
COMMIT;
CREATE FUNCTION pj_wait(expected bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  FOR i IN 1..100 LOOP
    SELECT count(*) INTO n FROM pj_async;
    EXIT WHEN n >= expected;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN n;
END
$$;
SELECT pj_wait(1);
SELECT * FROM pj_async;
SELECT spawn.drop_projection('pj_async');

-- Bad input.
SELECT spawn.create_projection('pj_x', '{ghost}', 'pj_project', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{pj-1}', 'pj_project', 'pj_orders');  -- an instance, not a template
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.register_actor('pj_pool', '{"place": "pj_place"}', kind => 'pooled');
SELECT spawn.create_projection('pj_x', '{pj_pool}', 'pj_project', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{}', 'pj_project', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{pj_vip, NULL}', 'pj_project', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{pj_vip}', 'pj_place', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{pj_vip}', 'pj_project', 'pj_orders', mode => 'eventually');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW pj_view AS SELECT * FROM pj_orders;
SELECT spawn.create_projection('pj_x', '{pj_vip}', 'pj_project', 'pj_view');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{pj_vip}', 'pj_project', 'no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_by_status', '{pj_vip}', 'pj_project', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.create_projection('pj_x', '{pj_vip}', 'pj_project', 'pj_orders', system => 'nowhere');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.rebuild_projection('ghost');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.drop_projection('ghost');
\echo :LAST_ERROR_SQLSTATE
SELECT name FROM spawn.projections;

-- Only the registrant of the actors may project them, and only the creator may rebuild or drop.
CREATE ROLE pj_other;
GRANT INSERT, DELETE ON pj_orders TO pj_other;
SET ROLE pj_other;
SELECT spawn.create_projection('pj_x', '{pj_vip}', 'pj_project', 'pj_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.rebuild_projection('pj_by_status');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.drop_projection('pj_by_status');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE ALL ON pj_orders FROM pj_other;
DROP ROLE pj_other;

-- Unregistering a followed actor removes it from the projection.
SELECT spawn.unregister_actor('pj_vip');
SELECT actors FROM spawn.projections WHERE name = 'pj_by_status';
SELECT spawn.drop_projection('pj_by_status');
SELECT count(*) FROM spawn.projections;
