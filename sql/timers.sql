-- Timers declared at registration: a named actor's tick from its registration on, an unnamed
-- template's from each instance's spawning on, without any invocation. The scheduler runs in
-- this database (spawn.database = 'regression' in the test configuration).
\set SHOW_CONTEXT never

CREATE FUNCTION tm_tick(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.noreply(jsonb_build_object('ticks', coalesce((state->>'ticks')::int, 0) + 1))
$$;

-- Waits (10 s at the most) until the actor has ticked, and says whether it did.
CREATE FUNCTION tm_ticked(actor text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..200 LOOP
    IF (spawn.state(actor)->>'ticks')::int > 0 THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN false;
END $$;

-- A named actor: its timer exists as soon as it is registered, and ticks with no invocation.
SELECT spawn.register_actor('tm_clock', actions => '{"tick": "tm_tick"}',
                            timers => '[{"action": "tick", "every_ms": 100}]');
SELECT actor, action, every_ms FROM spawn._timers WHERE actor LIKE 'tm_%' ORDER BY actor;
-- (Its status right after registering is not shown: on a loaded machine the first tick may
-- already have activated it.)
SELECT tm_ticked('tm_clock') AS ticked;
SELECT status FROM spawn.actors WHERE name = 'tm_clock';

-- An unnamed template: no timer for the template itself; each instance's starts when it is
-- spawned (explicitly or by register_ref), before any invocation of its own.
SELECT spawn.register_actor('tm_meter', actions => '{"tick": "tm_tick"}', kind => 'unnamed',
                            timers => '[{"action": "tick", "every_ms": 100}]');
SELECT count(*) AS template_timers FROM spawn._timers WHERE actor = 'tm_meter';
SELECT spawn.spawn_actor('tm_meter-1', 'tm_meter');
SELECT actor, action, every_ms FROM spawn._timers WHERE actor LIKE 'tm_meter%' ORDER BY actor;
SELECT tm_ticked('tm_meter-1') AS ticked;

-- Re-registering without timers stops them; with other timers, replaces them.
SELECT spawn.register_actor('tm_meter', actions => '{"tick": "tm_tick"}', kind => 'unnamed',
                            timers => '[{"action": "tick", "every_ms": 60000}]');
SELECT actor, every_ms FROM spawn._timers WHERE actor LIKE 'tm_%' ORDER BY actor;
SELECT spawn.register_actor('tm_clock', actions => '{"tick": "tm_tick"}');
SELECT actor, every_ms FROM spawn._timers WHERE actor LIKE 'tm_%' ORDER BY actor;

-- Rolled back registrations leave no timer behind.
BEGIN;
SELECT spawn.register_actor('tm_gone', actions => '{"tick": "tm_tick"}',
                            timers => '[{"action": "tick", "every_ms": 100}]');
ROLLBACK;
SELECT count(*) AS gone_timers FROM spawn._timers WHERE actor = 'tm_gone';

SELECT spawn.unregister_actor('tm_clock');
SELECT spawn.unregister_actor('tm_meter');
SELECT count(*) AS left_timers FROM spawn._timers WHERE actor LIKE 'tm_%';
