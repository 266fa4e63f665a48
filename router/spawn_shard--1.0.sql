-- spawn_shard 1.0: makes a spawn installation one shard behind a spawn_router
-- (docs/scale-out.md). It keeps this shard's identity (which hash partitions it holds, written
-- by the router's spawn.sync_shards), the outbox through which messages for actors of other
-- shards leave (a pooled actor `outbox` in system `spawn-shard`, drained by this shard's
-- scheduler), and the delivery keys it has accepted, so every message arrives once.
\echo Use "CREATE EXTENSION spawn_shard" to load this file. \quit

CREATE FUNCTION spawn.shard_hash(system text, actor text) RETURNS integer
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ('x' || left(md5(system || chr(31) || actor), 8))::bit(32)::integer;
COMMENT ON FUNCTION spawn.shard_hash(text, text) IS 'The partition hash of an actor, as the router computes it: the first 32 bits of md5(system || chr(31) || actor) as a signed integer';

-- One row once the router has run spawn.sync_shards(). spawn's C++ reads it (src/shard_route.cpp).
CREATE TABLE spawn._shard_identity (
  partition_count integer NOT NULL
    CHECK (partition_count BETWEEN 1 AND 1024 AND partition_count & (partition_count - 1) = 0),
  partitions integer[] NOT NULL CHECK (cardinality(partitions) > 0),
  configured_at timestamptz NOT NULL DEFAULT now(),
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row)
);
COMMENT ON TABLE spawn._shard_identity IS 'The hash partitions this shard holds, written by the router''s spawn.sync_shards()';
GRANT SELECT ON spawn._shard_identity TO PUBLIC;

-- Delivery keys accepted here, per sending role: a role can only use up keys of its own.
CREATE TABLE spawn._shard_deliveries (
  sender name NOT NULL,
  key text NOT NULL,
  delivered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (sender, key)
);
COMMENT ON TABLE spawn._shard_deliveries IS 'Delivery keys of messages from other shards accepted here (a retried delivery finds its key and is not queued again)';
CREATE INDEX ON spawn._shard_deliveries (sender, delivered_at);

CREATE FUNCTION spawn._shard_owns(system text, actor text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN (SELECT spawn.shard_hash(system, actor) & (i.partition_count - 1) = ANY (i.partitions)
          FROM spawn._shard_identity i);
COMMENT ON FUNCTION spawn._shard_owns(text, text) IS 'True when this shard holds the actor''s partition (NULL before spawn.sync_shards)';

CREATE FUNCTION spawn._shard_self() RETURNS integer
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN (SELECT i.partitions[1] FROM spawn._shard_identity i);
COMMENT ON FUNCTION spawn._shard_self() IS 'This shard''s first partition: how routed ids and broadcasts name it';

-- ---------------------------------------------------------------------------------------------
-- Configuration (called by the router's spawn.sync_shards, as a superuser)
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn._shard_configure(partition_count integer, partitions integer[], router text)
  RETURNS integer LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'permission denied to configure a shard'
      USING ERRCODE = 'insufficient_privilege', HINT = 'Run spawn.sync_shards() on the router as a superuser.';
  END IF;
  INSERT INTO spawn._shard_identity AS i (partition_count, partitions)
    VALUES (partition_count, partitions)
    ON CONFLICT (only_row) DO UPDATE
      SET partition_count = excluded.partition_count, partitions = excluded.partitions,
          configured_at = now();
  IF EXISTS (SELECT FROM pg_foreign_server WHERE srvname = 'spawn_router') THEN
    EXECUTE format('ALTER SERVER spawn_router OPTIONS (SET p0 %L)', router);
  ELSE
    EXECUTE format('CREATE SERVER spawn_router FOREIGN DATA WRAPPER plproxy OPTIONS (p0 %L)', router);
    CREATE USER MAPPING FOR PUBLIC SERVER spawn_router;
    GRANT USAGE ON FOREIGN SERVER spawn_router TO PUBLIC;
  END IF;
  IF NOT EXISTS (SELECT FROM spawn.systems s WHERE s.name = 'spawn-shard') THEN
    PERFORM spawn.create_system('spawn-shard');
  END IF;
  PERFORM spawn.register_actor('outbox', '{"deliver": "spawn._outbox_deliver(jsonb, jsonb)"}',
                               system => 'spawn-shard', kind => 'pooled');
  PERFORM spawn.grant('invoke', 'outbox', 'public', 'spawn-shard');
  -- Timers of actors that live on other shards (named actors registered before this shard was
  -- configured) would tick their copies here: they tick on the actor's own shard only.
  DELETE FROM spawn._timers t
    WHERE t.system <> 'spawn-shard' AND NOT spawn._shard_owns(t.system, t.actor);
  PERFORM spawn._catalog_changed();  -- every backend rereads the identity
  RETURN cardinality(partitions);
END
$$;
COMMENT ON FUNCTION spawn._shard_configure(integer, integer[], text) IS 'Records this shard''s partitions, the router''s address (server spawn_router) and the outbox actor; superusers only';
REVOKE ALL ON FUNCTION spawn._shard_configure(integer, integer[], text) FROM PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Sending: spawn's C++ queues a message for another shard through these, in the sender's
-- transaction, as the sender; this shard's scheduler runs outbox.deliver as the sender.
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn._shard_relay_cast(system text, actor text, action text, payload jsonb,
    metadata jsonb, register_ref text, deliver_at timestamptz)
  RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
  RETURN spawn.cast('outbox', 'deliver',
    jsonb_build_object('kind', 'cast', 'key', gen_random_uuid(), 'system', system,
                       'actor', actor, 'action', action, 'payload', payload,
                       'metadata', metadata, 'register_ref', register_ref,
                       'deliver_at', deliver_at),
    'spawn-shard');
COMMENT ON FUNCTION spawn._shard_relay_cast(text, text, text, jsonb, jsonb, text, timestamptz) IS 'Queues a cast for an actor of another shard in this shard''s outbox, with a fresh delivery key';

CREATE FUNCTION spawn._shard_relay_broadcast(system text, channel text, action text, payload jsonb)
  RETURNS bigint LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
  RETURN spawn.cast('outbox', 'deliver',
    jsonb_build_object('kind', 'broadcast', 'key', gen_random_uuid(), 'system', system,
                       'channel', channel, 'action', action, 'payload', payload),
    'spawn-shard');
COMMENT ON FUNCTION spawn._shard_relay_broadcast(text, text, text, jsonb) IS 'Queues a broadcast for the other shards'' subscribers in this shard''s outbox';

CREATE FUNCTION spawn._relay_cast_out(key text, system text, actor text, action text,
    payload jsonb, metadata jsonb, register_ref text, deliver_at timestamptz)
  RETURNS boolean LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_router';
  RUN ON 0;
  TARGET spawn._relay;
$$;
COMMENT ON FUNCTION spawn._relay_cast_out(text, text, text, text, jsonb, jsonb, text, timestamptz) IS 'Hands an outbox cast to the router, which routes it to the actor''s shard';

CREATE FUNCTION spawn._relay_broadcast_out(key text, origin integer, system text, channel text,
    action text, payload jsonb)
  RETURNS SETOF bigint LANGUAGE plproxy VOLATILE AS $$
  CLUSTER 'spawn_router';
  RUN ON 0;
  TARGET spawn._relay_broadcast;
$$;
COMMENT ON FUNCTION spawn._relay_broadcast_out(text, integer, text, text, text, jsonb) IS 'Hands an outbox broadcast to the router, which sends it to every shard';

CREATE FUNCTION spawn._outbox_deliver(state jsonb, payload jsonb) RETURNS spawn.value
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- Each call commits on the receiving shard before this message is deleted here: a crash in
  -- between makes the scheduler run it again, and the receiver finds the key.
  IF payload->>'kind' = 'broadcast' THEN
    PERFORM spawn._relay_broadcast_out(payload->>'key', spawn._shard_self(),
      payload->>'system', payload->>'channel', payload->>'action', payload->'payload');
  ELSE
    PERFORM spawn._relay_cast_out(payload->>'key', payload->>'system', payload->>'actor',
      payload->>'action', payload->'payload', payload->'metadata', payload->>'register_ref',
      (payload->>'deliver_at')::timestamptz);
  END IF;
  RETURN ROW(NULL, NULL, NULL)::spawn.value;
END
$$;
COMMENT ON FUNCTION spawn._outbox_deliver(jsonb, jsonb) IS 'The outbox actor''s deliver action: hands one message to the router (run by this shard''s scheduler as the message''s sender)';

-- ---------------------------------------------------------------------------------------------
-- Receiving (called through the router, as the sending role)
-- ---------------------------------------------------------------------------------------------

-- How long accepted delivery keys are kept: the setting spawn_shard.delivery_retention (an
-- interval, default 7 days). A sender retries a delivery only while its outbox message or dead
-- letter exists, so a retry later than this could be queued twice (docs/scale-out.md).
CREATE FUNCTION spawn._shard_delivery_retention() RETURNS interval
  LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  RETURN coalesce(nullif(current_setting('spawn_shard.delivery_retention', true), ''),
                  '7 days')::interval;
COMMENT ON FUNCTION spawn._shard_delivery_retention() IS 'How long delivery keys are kept (setting spawn_shard.delivery_retention, default 7 days)';

-- Each claim also removes up to two of the same role's keys older than the retention, oldest
-- first through the (sender, delivered_at) index, so the table stays bounded by one retention
-- window of keys without a sweep of its own. Only the caller's own keys: the retention is a
-- setting any session may change, and it must not let one role shorten another's window.
-- SKIP LOCKED: two claims never wait on, or deadlock over, the same old key.
CREATE FUNCTION spawn._shard_claim(key text) RETURNS boolean
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
  BEGIN ATOMIC
    DELETE FROM spawn._shard_deliveries d
      WHERE (d.sender, d.key) IN (
        SELECT o.sender, o.key FROM spawn._shard_deliveries o
        WHERE o.sender = session_user
          AND o.delivered_at < now() - spawn._shard_delivery_retention()
        ORDER BY o.delivered_at LIMIT 2 FOR UPDATE SKIP LOCKED);
    WITH claimed AS (
      INSERT INTO spawn._shard_deliveries (sender, key) VALUES (session_user, key)
      ON CONFLICT DO NOTHING RETURNING 1)
    SELECT count(*) = 1 FROM claimed;
  END;
COMMENT ON FUNCTION spawn._shard_claim(text) IS 'Records a delivery key for the connected role (false when it was delivered before) and prunes keys past the retention';

CREATE FUNCTION spawn._relay_in(key text, system text, actor text, action text, payload jsonb,
    metadata jsonb, register_ref text, deliver_at timestamptz)
  RETURNS boolean LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF key IS NULL THEN
    RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT spawn._shard_owns(system, actor) THEN
    RAISE EXCEPTION 'actor "%" of system "%" does not live on this shard', actor, system
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Run spawn.sync_shards() on the router after changing the cluster.';
  END IF;
  IF NOT spawn._shard_claim(key) THEN
    RETURN false;
  END IF;
  PERFORM spawn.cast(actor, action, payload, system, scheduled_to => deliver_at,
                     metadata => metadata, register_ref => register_ref);
  RETURN true;
END
$$;
COMMENT ON FUNCTION spawn._relay_in(text, text, text, text, jsonb, jsonb, text, timestamptz) IS 'Queues a cast from another shard once per delivery key, as the sending role';

CREATE FUNCTION spawn._relay_broadcast_in(key text, origin integer, system text, channel text,
    action text, payload jsonb)
  RETURNS SETOF bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF key IS NULL THEN
    RAISE EXCEPTION 'key must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF origin IS NOT DISTINCT FROM spawn._shard_self() OR NOT spawn._shard_claim(key) THEN
    RETURN NEXT 0;  -- the origin reached its own subscribers; or delivered before
    RETURN;
  END IF;
  RETURN NEXT spawn.broadcast(channel, action, payload, system);
END
$$;
COMMENT ON FUNCTION spawn._relay_broadcast_in(text, integer, text, text, text, jsonb) IS 'Broadcasts a message from another shard to this shard''s subscribers once per delivery key, as the sending role';
