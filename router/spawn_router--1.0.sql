-- spawn_router 1.0: the router database of a sharded spawn (docs/scale-out.md). It holds no
-- actor, no state and no message: every verb is a PL/Proxy function that runs spawn's own verb
-- on the shard that owns the actor, or on every shard. The shard map is PL/Proxy's SQL/MED
-- cluster `spawn_shards` (partitions a power of two, at most 1024); nothing here copies it.
-- The router connects to the shards as the calling role (PL/Proxy's default: current_user, one
-- connection per role), so spawn checks that role's privileges on the shard.
\echo Use "CREATE EXTENSION spawn_router" to load this file. \quit

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'spawn') THEN
    RAISE EXCEPTION 'spawn_router cannot be created in a database that holds spawn'
      USING ERRCODE = 'object_in_use',
            HINT = 'Create the router in a database of its own; the shards hold spawn.';
  END IF;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Routing
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn.shard_hash(system text, actor text) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ('x' || left(md5(system || chr(31) || actor), 8))::bit(32)::integer;
COMMENT ON FUNCTION spawn.shard_hash(text, text) IS 'The partition hash of an actor: the first 32 bits of md5(system || chr(31) || actor) as a signed integer; PL/Proxy takes it modulo the partition count (a bit mask)';

CREATE FUNCTION spawn._route(system text, actor text) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF actor IS NULL THEN
    RAISE EXCEPTION 'actor must not be null' USING ERRCODE = 'null_value_not_allowed';
  ELSIF system IS NULL THEN
    RAISE EXCEPTION 'system must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  RETURN spawn.shard_hash(system, actor);
END
$$;
COMMENT ON FUNCTION spawn._route(text, text) IS 'The partition hash of an actor, with spawn''s error for a NULL name (PL/Proxy''s RUN ON)';

-- Ids a shard hands out (messages, requests, schedules, dead letters) are routed ids on the
-- router: local id * 1024 + the shard's first partition (spawn._shard_self() there).
CREATE FUNCTION spawn._id_partition(id bigint) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF id IS NULL THEN
    RAISE EXCEPTION 'id must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  RETURN (id & 1023)::integer;
END
$$;
COMMENT ON FUNCTION spawn._id_partition(bigint) IS 'The partition a routed id names (its 10 low bits)';

-- ---------------------------------------------------------------------------------------------
-- Verbs routed to the actor's shard
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn.invoke(actor text, action text, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system', metadata jsonb DEFAULT NULL,
    register_ref text DEFAULT NULL)
  RETURNS jsonb LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
$$;
COMMENT ON FUNCTION spawn.invoke(text, text, jsonb, text, jsonb, text) IS 'spawn.invoke on the actor''s shard, committed there when it returns';

CREATE FUNCTION spawn.state(actor text, system text DEFAULT 'spawn-system') RETURNS jsonb
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
$$;
COMMENT ON FUNCTION spawn.state(text, text) IS 'spawn.state on the actor''s shard';

CREATE FUNCTION spawn.spawn_actor(name text, parent text, system text DEFAULT 'spawn-system')
  RETURNS boolean LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, name);
$$;
COMMENT ON FUNCTION spawn.spawn_actor(text, text, text) IS 'spawn.spawn_actor on the shard the new instance''s name hashes to';

CREATE FUNCTION spawn.state_history(actor text, system text DEFAULT 'spawn-system',
    OUT revision bigint, OUT recorded_at timestamptz, OUT state jsonb)
  RETURNS SETOF record LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
$$;
COMMENT ON FUNCTION spawn.state_history(text, text) IS 'spawn.state_history on the actor''s shard';

CREATE FUNCTION spawn.journal(actor text, system text DEFAULT 'spawn-system',
    from_revision bigint DEFAULT 1,
    OUT revision bigint, OUT action text, OUT payload jsonb, OUT response jsonb,
    OUT metadata jsonb, OUT restored_from bigint, OUT recorded_at timestamptz)
  RETURNS SETOF record LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
$$;
COMMENT ON FUNCTION spawn.journal(text, text, bigint) IS 'spawn.journal on the actor''s shard';
REVOKE ALL ON FUNCTION spawn.journal(text, text, bigint) FROM PUBLIC;

CREATE FUNCTION spawn.restore(actor text, revision bigint, system text DEFAULT 'spawn-system')
  RETURNS jsonb LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
$$;
COMMENT ON FUNCTION spawn.restore(text, bigint, text) IS 'spawn.restore on the actor''s shard';
REVOKE ALL ON FUNCTION spawn.restore(text, bigint, text) FROM PUBLIC;

CREATE FUNCTION spawn.replay(actor text, to_revision bigint DEFAULT NULL,
    system text DEFAULT 'spawn-system',
    OUT revision bigint, OUT state jsonb, OUT matches boolean, OUT first_mismatch bigint,
    OUT from_snapshot bigint, OUT replayed integer)
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
$$;
COMMENT ON FUNCTION spawn.replay(text, bigint, text) IS 'spawn.replay on the actor''s shard';
REVOKE ALL ON FUNCTION spawn.replay(text, bigint, text) FROM PUBLIC;

-- Casts, requests and schedules return routed ids, made on the shard.

CREATE FUNCTION spawn.cast(actor text, action text, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system', delay_ms bigint DEFAULT 0,
    scheduled_to timestamptz DEFAULT NULL, metadata jsonb DEFAULT NULL,
    register_ref text DEFAULT NULL)
  RETURNS bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
  SELECT spawn.cast(actor, action, payload, system, delay_ms, scheduled_to, metadata,
                    register_ref) * 1024 + spawn._shard_self();
$$;
COMMENT ON FUNCTION spawn.cast(text, text, jsonb, text, bigint, timestamptz, jsonb, text) IS 'spawn.cast on the actor''s shard; returns a routed message id';

CREATE FUNCTION spawn.invoke_async(actor text, action text, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system', reply_channel text DEFAULT 'spawn_reply',
    metadata jsonb DEFAULT NULL, register_ref text DEFAULT NULL)
  RETURNS bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
  SELECT spawn.invoke_async(actor, action, payload, system, reply_channel, metadata,
                            register_ref) * 1024 + spawn._shard_self();
$$;
COMMENT ON FUNCTION spawn.invoke_async(text, text, jsonb, text, text, jsonb, text) IS 'spawn.invoke_async on the actor''s shard; returns a routed request id for spawn.result and spawn.wait (the NOTIFY comes from that shard, with its local id)';

CREATE FUNCTION spawn._result_on(partition integer, local_id bigint,
    OUT status text, OUT response jsonb, OUT error text, OUT sqlstate text, OUT detail text,
    OUT hint text)
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON partition;
  SELECT r.status, r.response, r.error, r.sqlstate, r.detail, r.hint FROM spawn.result(local_id) r;
$$;
COMMENT ON FUNCTION spawn._result_on(integer, bigint) IS 'spawn.result on one partition''s shard';

CREATE FUNCTION spawn.result(id bigint, OUT status text, OUT response jsonb, OUT error text,
    OUT sqlstate text, OUT detail text, OUT hint text)
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT r.status, r.response, r.error, r.sqlstate, r.detail, r.hint
      FROM spawn._result_on(spawn._id_partition(id), id >> 10) r;
  END;
COMMENT ON FUNCTION spawn.result(bigint) IS 'spawn.result of a routed request id, on the shard that holds it';

CREATE FUNCTION spawn._wait_on(partition integer, local_id bigint, timeout_ms integer)
  RETURNS jsonb LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON partition;
  SELECT spawn.wait(local_id, timeout_ms);
$$;
COMMENT ON FUNCTION spawn._wait_on(integer, bigint, integer) IS 'spawn.wait on one partition''s shard';

CREATE FUNCTION spawn.wait(id bigint, timeout_ms integer DEFAULT 5000) RETURNS jsonb
  LANGUAGE sql VOLATILE
  RETURN spawn._wait_on(spawn._id_partition(id), id >> 10, timeout_ms);
COMMENT ON FUNCTION spawn.wait(bigint, integer) IS 'spawn.wait for a routed request id, on the shard that holds it';

CREATE FUNCTION spawn.schedule(actor text, action text, cron_expression text,
    payload jsonb DEFAULT NULL, system text DEFAULT 'spawn-system')
  RETURNS bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
  SELECT spawn.schedule(actor, action, cron_expression, payload, system) * 1024
         + spawn._shard_self();
$$;
COMMENT ON FUNCTION spawn.schedule(text, text, text, jsonb, text) IS 'spawn.schedule on the actor''s shard (only there, so it fires once); returns a routed schedule id';

CREATE FUNCTION spawn._unschedule_on(partition integer, local_id bigint) RETURNS integer
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON partition;
  SELECT 1 FROM spawn.unschedule(local_id);
$$;
COMMENT ON FUNCTION spawn._unschedule_on(integer, bigint) IS 'spawn.unschedule of a local id on one partition''s shard';

CREATE FUNCTION spawn.unschedule(id bigint) RETURNS void LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT spawn._unschedule_on(spawn._id_partition(id), id >> 10);
  END;
COMMENT ON FUNCTION spawn.unschedule(bigint) IS 'spawn.unschedule of a routed schedule id, on the shard that holds it';

CREATE FUNCTION spawn._retry_dead_letter_on(partition integer, local_id bigint) RETURNS integer
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON partition;
  SELECT 1 FROM spawn.retry_dead_letter(local_id);
$$;
COMMENT ON FUNCTION spawn._retry_dead_letter_on(integer, bigint) IS 'spawn.retry_dead_letter of a local id on one partition''s shard';

CREATE FUNCTION spawn.retry_dead_letter(id bigint) RETURNS void LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT spawn._retry_dead_letter_on(spawn._id_partition(id), id >> 10);
  END;
COMMENT ON FUNCTION spawn.retry_dead_letter(bigint) IS 'spawn.retry_dead_letter of a routed dead letter id, on the shard that holds it';

CREATE FUNCTION spawn._discard_dead_letter_on(partition integer, local_id bigint) RETURNS integer
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON partition;
  SELECT 1 FROM spawn.discard_dead_letter(local_id);
$$;
COMMENT ON FUNCTION spawn._discard_dead_letter_on(integer, bigint) IS 'spawn.discard_dead_letter of a local id on one partition''s shard';

CREATE FUNCTION spawn.discard_dead_letter(id bigint) RETURNS void LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT spawn._discard_dead_letter_on(spawn._id_partition(id), id >> 10);
  END;
COMMENT ON FUNCTION spawn.discard_dead_letter(bigint) IS 'spawn.discard_dead_letter of a routed dead letter id, on the shard that holds it';

-- ---------------------------------------------------------------------------------------------
-- Definitions and broadcasts: every shard
-- ---------------------------------------------------------------------------------------------

-- Each runs in its own transaction per shard (PL/Proxy is autocommit): when one shard fails the
-- others keep the change; re-running the call converges, since re-registering updates.

CREATE FUNCTION spawn._create_system_all(name text, options jsonb) RETURNS SETOF integer
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT 1 FROM spawn.create_system(name, options);
$$;
COMMENT ON FUNCTION spawn._create_system_all(text, jsonb) IS 'spawn.create_system on every shard';

CREATE FUNCTION spawn.create_system(name text, options jsonb DEFAULT '{}') RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT count(*) FROM spawn._create_system_all(name, options);
  END;
COMMENT ON FUNCTION spawn.create_system(text, jsonb) IS 'spawn.create_system on every shard';

CREATE FUNCTION spawn._register_actor_all(name text, actions jsonb, system text, kind text,
    state_type text, stateful boolean, deactivate_timeout bigint, snapshot_timeout bigint,
    timers jsonb, channels jsonb, tags jsonb, journal boolean)
  RETURNS SETOF integer LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT 1 FROM spawn.register_actor(name, actions, system, kind, state_type, stateful,
    deactivate_timeout, snapshot_timeout, timers, channels, tags, journal);
$$;
COMMENT ON FUNCTION spawn._register_actor_all(text, jsonb, text, text, text, boolean, bigint, bigint, jsonb, jsonb, jsonb, boolean) IS 'spawn.register_actor on every shard';

CREATE FUNCTION spawn.register_actor(
    name text,
    actions jsonb DEFAULT '{}',
    system text DEFAULT 'spawn-system',
    kind text DEFAULT 'named',
    state_type text DEFAULT 'json',
    stateful boolean DEFAULT true,
    deactivate_timeout bigint DEFAULT 30000,
    snapshot_timeout bigint DEFAULT 10000,
    timers jsonb DEFAULT '[]',
    channels jsonb DEFAULT '[]',
    tags jsonb DEFAULT '{}',
    journal boolean DEFAULT false)
  RETURNS void LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT count(*) FROM spawn._register_actor_all(name, actions, system, kind, state_type,
      stateful, deactivate_timeout, snapshot_timeout, timers, channels, tags, journal);
  END;
COMMENT ON FUNCTION spawn.register_actor(text, jsonb, text, text, text, boolean, bigint, bigint, jsonb, jsonb, jsonb, boolean) IS 'spawn.register_actor on every shard (the handler functions must exist on every shard)';

CREATE FUNCTION spawn._unregister_actor_all(name text, system text) RETURNS SETOF integer
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT 1 FROM spawn.unregister_actor(name, system);
$$;
COMMENT ON FUNCTION spawn._unregister_actor_all(text, text) IS 'spawn.unregister_actor on every shard';

CREATE FUNCTION spawn.unregister_actor(name text, system text DEFAULT 'spawn-system') RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT count(*) FROM spawn._unregister_actor_all(name, system);
  END;
COMMENT ON FUNCTION spawn.unregister_actor(text, text) IS 'spawn.unregister_actor on every shard';

CREATE FUNCTION spawn._grant_all(privilege text, actor text, grantee text, system text)
  RETURNS SETOF integer LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT 1 FROM spawn.grant(privilege, actor, grantee, system);
$$;
COMMENT ON FUNCTION spawn._grant_all(text, text, text, text) IS 'spawn.grant on every shard';

CREATE FUNCTION spawn.grant(privilege text, actor text, grantee text,
    system text DEFAULT 'spawn-system')
  RETURNS void LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT count(*) FROM spawn._grant_all(privilege, actor, grantee, system);
  END;
COMMENT ON FUNCTION spawn.grant(text, text, text, text) IS 'spawn.grant on every shard';

CREATE FUNCTION spawn._revoke_all(privilege text, actor text, grantee text, system text)
  RETURNS SETOF integer LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT 1 FROM spawn.revoke(privilege, actor, grantee, system);
$$;
COMMENT ON FUNCTION spawn._revoke_all(text, text, text, text) IS 'spawn.revoke on every shard';

CREATE FUNCTION spawn.revoke(privilege text, actor text, grantee text,
    system text DEFAULT 'spawn-system')
  RETURNS void LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT count(*) FROM spawn._revoke_all(privilege, actor, grantee, system);
  END;
COMMENT ON FUNCTION spawn.revoke(text, text, text, text) IS 'spawn.revoke on every shard';

CREATE FUNCTION spawn._create_projection_all(name text, actors text[], handler text,
    read_model text, mode text, system text, populate boolean)
  RETURNS SETOF bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT spawn.create_projection(name, actors, handler, read_model::regclass, mode, system,
                                 populate);
$$;
COMMENT ON FUNCTION spawn._create_projection_all(text, text[], text, text, text, text, boolean) IS 'spawn.create_projection on every shard';

CREATE FUNCTION spawn.create_projection(name text, actors text[], handler text,
    read_model text, mode text DEFAULT 'strict', system text DEFAULT 'spawn-system',
    populate boolean DEFAULT true)
  RETURNS bigint LANGUAGE sql VOLATILE
  RETURN (SELECT coalesce(sum(n), 0)::bigint
          FROM spawn._create_projection_all(name, actors, handler, read_model, mode, system,
                                            populate) n);
COMMENT ON FUNCTION spawn.create_projection(text, text[], text, text, text, text, boolean) IS 'spawn.create_projection on every shard (each shard projects its own actors into its own read model, named here as text); returns how many actors were projected in all';

CREATE FUNCTION spawn._rebuild_projection_all(name text, system text) RETURNS SETOF bigint
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT spawn.rebuild_projection(name, system);
$$;
COMMENT ON FUNCTION spawn._rebuild_projection_all(text, text) IS 'spawn.rebuild_projection on every shard';

CREATE FUNCTION spawn.rebuild_projection(name text, system text DEFAULT 'spawn-system')
  RETURNS bigint LANGUAGE sql VOLATILE
  RETURN (SELECT coalesce(sum(n), 0)::bigint FROM spawn._rebuild_projection_all(name, system) n);
COMMENT ON FUNCTION spawn.rebuild_projection(text, text) IS 'spawn.rebuild_projection on every shard; returns how many actors were projected in all';

CREATE FUNCTION spawn._drop_projection_all(name text, system text) RETURNS SETOF integer
  LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT 1 FROM spawn.drop_projection(name, system);
$$;
COMMENT ON FUNCTION spawn._drop_projection_all(text, text) IS 'spawn.drop_projection on every shard';

CREATE FUNCTION spawn.drop_projection(name text, system text DEFAULT 'spawn-system') RETURNS void
  LANGUAGE sql VOLATILE
  BEGIN ATOMIC
    SELECT count(*) FROM spawn._drop_projection_all(name, system);
  END;
COMMENT ON FUNCTION spawn.drop_projection(text, text) IS 'spawn.drop_projection on every shard';

CREATE FUNCTION spawn._broadcast_all(channel text, action text, payload jsonb, system text)
  RETURNS SETOF bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  TARGET spawn.broadcast;
$$;
COMMENT ON FUNCTION spawn._broadcast_all(text, text, jsonb, text) IS 'spawn.broadcast on every shard (each reaches its own subscribers)';

CREATE FUNCTION spawn.broadcast(channel text, action text DEFAULT NULL, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system')
  RETURNS bigint LANGUAGE sql VOLATILE
  RETURN (SELECT coalesce(sum(n), 0)::bigint
          FROM spawn._broadcast_all(channel, action, payload, system) n);
COMMENT ON FUNCTION spawn.broadcast(text, text, jsonb, text) IS 'spawn.broadcast on every shard; returns how many subscribers it reached in all';

-- ---------------------------------------------------------------------------------------------
-- Views gathered from every shard
-- ---------------------------------------------------------------------------------------------

-- Named actors are registered on every shard; each shard reports only the actors it owns.

CREATE FUNCTION spawn._actors_on_shards(OUT system text, OUT name text, OUT kind text,
    OUT parent text, OUT revision bigint, OUT status text, OUT created_at timestamptz,
    OUT activated_at timestamptz, OUT last_activity timestamptz,
    OUT state_updated_at timestamptz)
  RETURNS SETOF record LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT a.system, a.name, a.kind, a.parent, a.revision, a.status, a.created_at,
         a.activated_at, a.last_activity, a.state_updated_at
  FROM spawn.actors a WHERE a.system <> 'spawn-shard' AND spawn._shard_owns(a.system, a.name);
$$;
COMMENT ON FUNCTION spawn._actors_on_shards() IS 'spawn.actors of every shard, each shard''s own actors';

CREATE VIEW spawn.actors AS SELECT * FROM spawn._actors_on_shards();
COMMENT ON VIEW spawn.actors IS 'spawn.actors gathered from every shard (each role sees what the shards show it)';

CREATE FUNCTION spawn._mailbox_stats_on_shards(OUT system text, OUT actor text,
    OUT pending bigint, OUT scheduled bigint, OUT retrying bigint, OUT dead_letters bigint,
    OUT oldest_pending_age interval)
  RETURNS SETOF record LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT m.system, m.actor, m.pending, m.scheduled, m.retrying, m.dead_letters,
         m.oldest_pending_age
  FROM spawn.mailbox_stats m;
$$;
COMMENT ON FUNCTION spawn._mailbox_stats_on_shards() IS 'spawn.mailbox_stats of every shard';

CREATE VIEW spawn.mailbox_stats AS SELECT * FROM spawn._mailbox_stats_on_shards();
COMMENT ON VIEW spawn.mailbox_stats IS 'spawn.mailbox_stats gathered from every shard (a shard''s outbox shows as actor outbox of system spawn-shard)';

CREATE FUNCTION spawn._dead_letters_on_shards(OUT id bigint, OUT system text, OUT actor text,
    OUT action text, OUT source text, OUT attempts integer, OUT last_error text,
    OUT sender text, OUT created_at timestamptz, OUT failed_at timestamptz)
  RETURNS SETOF record LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT d.id * 1024 + spawn._shard_self() AS id, d.system, d.actor, d.action, d.source,
         d.attempts, d.last_error, d.sender::text AS sender, d.created_at, d.failed_at
  FROM spawn.dead_letters d;
$$;
COMMENT ON FUNCTION spawn._dead_letters_on_shards() IS 'spawn.dead_letters of every shard, with routed ids';

CREATE VIEW spawn.dead_letters AS SELECT * FROM spawn._dead_letters_on_shards();
COMMENT ON VIEW spawn.dead_letters IS 'spawn.dead_letters gathered from every shard; ids are routed ids for retry_dead_letter and discard_dead_letter, the sender a role name';

CREATE FUNCTION spawn._schedules_on_shards(OUT id bigint, OUT system text, OUT actor text,
    OUT action text, OUT cron text, OUT next_fire_at timestamptz, OUT scheduled_by text,
    OUT created_at timestamptz)
  RETURNS SETOF record LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  SELECT s.id * 1024 + spawn._shard_self() AS id, s.system, s.actor, s.action, s.cron,
         s.next_fire_at, s.scheduled_by::text AS scheduled_by, s.created_at
  FROM spawn.schedules s;
$$;
COMMENT ON FUNCTION spawn._schedules_on_shards() IS 'spawn.schedules of every shard, with routed ids';

CREATE VIEW spawn.schedules AS SELECT * FROM spawn._schedules_on_shards();
COMMENT ON VIEW spawn.schedules IS 'spawn.schedules gathered from every shard, with routed ids for spawn.unschedule';

GRANT USAGE ON SCHEMA spawn TO PUBLIC;
GRANT SELECT ON spawn.actors, spawn.mailbox_stats, spawn.dead_letters, spawn.schedules TO PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Cross-shard delivery: a shard's outbox calls these (as the message's sender), they call the
-- target shard's spawn_shard functions, which deduplicate by delivery key.
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn._relay(key text, system text, actor text, action text, payload jsonb,
    metadata jsonb, register_ref text, deliver_at timestamptz)
  RETURNS boolean LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON spawn._route(system, actor);
  TARGET spawn._relay_in;
$$;
COMMENT ON FUNCTION spawn._relay(text, text, text, text, jsonb, jsonb, text, timestamptz) IS 'Delivers an outbox cast to the actor''s shard (true: queued there, false: delivered before)';

CREATE FUNCTION spawn._relay_broadcast(key text, origin integer, system text, channel text,
    action text, payload jsonb)
  RETURNS SETOF bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON ALL;
  TARGET spawn._relay_broadcast_in;
$$;
COMMENT ON FUNCTION spawn._relay_broadcast(text, integer, text, text, text, jsonb) IS 'Delivers an outbox broadcast to every shard but its origin; returns the subscribers reached per shard';

-- ---------------------------------------------------------------------------------------------
-- Administration
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn._shard_configure_on(shard integer, partition_count integer,
    partitions integer[], router text)
  RETURNS SETOF integer LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_shards';
  RUN ON shard;
  SELECT spawn._shard_configure(partition_count, partitions, router);
$$;
COMMENT ON FUNCTION spawn._shard_configure_on(integer, integer, integer[], text) IS 'Tells one shard which partitions it holds and how to reach the router';
REVOKE ALL ON FUNCTION spawn._shard_configure_on(integer, integer, integer[], text) FROM PUBLIC;

CREATE FUNCTION spawn.sync_shards(router text, OUT shard integer, OUT partitions integer[])
  RETURNS SETOF record LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  options text[];
  total integer;
  numbered integer;
  one record;
BEGIN
  IF router IS NULL OR btrim(router) = '' THEN
    RAISE EXCEPTION 'router must be a connection string'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass how the shards reach this database, e.g. ''host=10.0.0.1 dbname=router''.';
  END IF;
  SELECT s.srvoptions INTO options FROM pg_foreign_server s WHERE s.srvname = 'spawn_shards';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the cluster spawn_shards is not defined'
      USING ERRCODE = 'undefined_object',
            HINT = 'CREATE SERVER spawn_shards FOREIGN DATA WRAPPER plproxy OPTIONS (p0 ''...'', p1 ''...'').';
  END IF;
  SELECT count(*), count(DISTINCT substring(o FROM '^(?:p|partition_)([0-9]+)='))
    INTO total, numbered
    FROM unnest(options) o WHERE o ~ '^(p|partition_)[0-9]+=';
  IF total = 0 OR total > 1024 OR (total & (total - 1)) <> 0 OR numbered <> total THEN
    RAISE EXCEPTION 'the cluster spawn_shards has % partitions', total
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Define p0 to pN-1 with N a power of two from 1 to 1024.';
  END IF;
  FOR one IN
    SELECT array_agg(part ORDER BY part) AS parts
    FROM (SELECT substring(o FROM '^(?:p|partition_)([0-9]+)=')::integer AS part,
                 substring(o FROM '^[^=]*=(.*)$') AS connstr
          FROM unnest(options) o WHERE o ~ '^(p|partition_)[0-9]+=') p
    GROUP BY connstr ORDER BY 1
  LOOP
    PERFORM spawn._shard_configure_on(one.parts[1], total, one.parts, router);
    shard := one.parts[1];
    partitions := one.parts;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION spawn.sync_shards(text) IS 'Tells every shard which partitions of spawn_shards it holds and how to reach this router (run after every change of the cluster); one row per shard';
REVOKE ALL ON FUNCTION spawn.sync_shards(text) FROM PUBLIC;
