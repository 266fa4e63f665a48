-- spawn 1.0: the catalog, encrypted state store and invocation; the mailbox, replies, dead
-- letters, timers and schedules the scheduler drains; workflows, the event journal,
-- projections, and key rotation.
\echo Use "CREATE EXTENSION spawn" to load this file. \quit

GRANT USAGE ON SCHEMA spawn TO PUBLIC;

-- The scheduler serves one database (spawn.database): elsewhere casts would wait forever.
CREATE FUNCTION spawn._require_scheduler(what text) RETURNS void
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_require_scheduler';
COMMENT ON FUNCTION spawn._require_scheduler(text) IS 'Raises 55000 unless the scheduler serves this database (spawn.database)';
SELECT spawn._require_scheduler('Casts, async replies, timers and schedules');

-- ---------------------------------------------------------------------------------------------
-- Types a handler sees and returns
-- ---------------------------------------------------------------------------------------------

CREATE TYPE spawn.value AS (
  state jsonb,     -- the new state; NULL keeps the current one
  response jsonb,  -- the reply; NULL means no reply
  workflow jsonb   -- side effects, broadcast, pipe or forward
);
COMMENT ON TYPE spawn.value IS 'What an action handler returns: new state, reply and workflow';

CREATE TYPE spawn.context AS (
  system text,
  actor text,      -- the instance's name
  parent text,     -- the template of an unnamed instance, else NULL
  action text,
  revision bigint, -- revision of the state the handler receives
  caller text,     -- the actor whose handler made this invocation, else NULL
  metadata jsonb,
  tags jsonb
);
COMMENT ON TYPE spawn.context IS 'The optional third argument of an action handler';

CREATE FUNCTION spawn.reply(response jsonb, state jsonb) RETURNS spawn.value
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ROW(state, response, NULL)::spawn.value $$;
COMMENT ON FUNCTION spawn.reply(jsonb, jsonb) IS 'Handler result: reply with response and keep state';

CREATE FUNCTION spawn.noreply(state jsonb) RETURNS spawn.value
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT ROW(state, NULL, NULL)::spawn.value $$;
COMMENT ON FUNCTION spawn.noreply(jsonb) IS 'Handler result: no reply, keep state';

-- ---------------------------------------------------------------------------------------------
-- Catalog
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn._check_name(what text, name text) RETURNS void
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_check_name';
COMMENT ON FUNCTION spawn._check_name(text, text) IS 'Raises 42602 unless name is 1-63 bytes without control characters';

CREATE FUNCTION spawn._catalog_changed() RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_catalog_changed';
COMMENT ON FUNCTION spawn._catalog_changed() IS 'Makes every backend reload actor definitions after this transaction commits';
REVOKE ALL ON FUNCTION spawn._catalog_changed() FROM PUBLIC;

CREATE FUNCTION spawn._actor_is_here(system text, actor text) RETURNS boolean
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_actor_is_here';
COMMENT ON FUNCTION spawn._actor_is_here(text, text) IS 'False only on a shard (spawn_shard) that does not hold the actor''s partition';
REVOKE ALL ON FUNCTION spawn._actor_is_here(text, text) FROM PUBLIC;

CREATE FUNCTION spawn._lock_name(system text, name text) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_lock_name';
COMMENT ON FUNCTION spawn._lock_name(text, text)
  IS 'Takes the actor lock of a name until the transaction ends: registrations of one name, and instances of that name, go one at a time';
REVOKE ALL ON FUNCTION spawn._lock_name(text, text) FROM PUBLIC;

CREATE FUNCTION spawn._caller() RETURNS oid
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_caller';
COMMENT ON FUNCTION spawn._caller() IS 'The role a request is attributed to: inside spawn''s owner-run functions, the role that called them';

CREATE FUNCTION spawn._may(privilege text, system text, actor text, role oid DEFAULT spawn._caller())
  RETURNS boolean
  LANGUAGE c STABLE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'spawn_may';
COMMENT ON FUNCTION spawn._may(text, text, text, oid)
  IS 'Whether the role (by default the caller) holds the privilege (invoke, read, spawn, admin or any) on an actor or instance';

-- Whether the caller may manage a queued item (a dead letter, a schedule) that `sender` made
-- for an actor: as its sender (or a member), or, with admin_may, as an admin of the actor.
CREATE FUNCTION spawn._may_manage(sender regrole, system text, actor text, admin_may boolean)
  RETURNS boolean
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT pg_has_role(spawn._caller(), sender, 'USAGE')
               OR (admin_may AND spawn._may('admin', system, actor)) $$;
COMMENT ON FUNCTION spawn._may_manage(regrole, text, text, boolean)
  IS 'Whether the caller sent a queued item or, with admin_may, administers its actor';

CREATE TABLE spawn.systems (
  name text PRIMARY KEY,
  options jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  owner regrole NOT NULL DEFAULT current_user::regrole  -- regrole: dumped and restored by name
);
COMMENT ON TABLE spawn.systems IS 'Actor systems: namespaces of actors, each with an owner';
GRANT SELECT ON spawn.systems TO PUBLIC;
INSERT INTO spawn.systems (name) VALUES ('spawn-system');

-- External actor hosts (docs/external-hosts.md): HTTP servers speaking Spawn's protocol that
-- serve actions. Declared only by roles allowed to run spawn.register_host, since the database
-- server connects to these addresses.
CREATE TABLE spawn._hosts (
  id serial PRIMARY KEY,
  name text COLLATE "C" NOT NULL UNIQUE,
  url text NOT NULL,                -- base address; actions are posted to <url>/api/v1/actors/actions
  options jsonb NOT NULL,           -- timeouts, headers, TLS, protocol spelling (spawn._check_host)
  users regrole[] NOT NULL,         -- roles besides the owner that may bind actions to it
  public boolean NOT NULL,          -- any role may bind actions to it
  registered_by regrole NOT NULL,   -- its owner
  registered_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE spawn._hosts IS 'Registered external actor hosts (internal; read spawn.hosts)';

CREATE TABLE spawn._definitions (
  id serial PRIMARY KEY,
  system text COLLATE "C" NOT NULL REFERENCES spawn.systems (name),
  name text COLLATE "C" NOT NULL,
  kind text NOT NULL CHECK (kind IN ('named', 'unnamed', 'pooled')),
  state_type text NOT NULL,
  stateful boolean NOT NULL,
  deactivate_timeout bigint NOT NULL,
  snapshot_timeout bigint NOT NULL,
  actions jsonb NOT NULL,
  timers jsonb NOT NULL,
  channels jsonb NOT NULL,
  tags jsonb NOT NULL,
  journal boolean NOT NULL DEFAULT false,  -- keep an event journal of state changes
  registered_by regrole NOT NULL,  -- its owner: the role that registered it; timers run as it
  host_id integer REFERENCES spawn._hosts,  -- serves every action not bound otherwise
  registered_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (system, name)
);
COMMENT ON TABLE spawn._definitions IS 'Actor definitions (internal; read spawn.definitions)';

CREATE TABLE spawn._handlers (
  definition_id integer NOT NULL REFERENCES spawn._definitions ON DELETE CASCADE,
  action text NOT NULL,
  function regprocedure,     -- the SQL or PL function, or NULL for an external host
  host_id integer REFERENCES spawn._hosts,  -- the external host serving the action
  signature text NOT NULL,  -- the function as registered (or host:<name>), for messages
  takes_context boolean NOT NULL,
  returns_jsonb boolean NOT NULL,
  PRIMARY KEY (definition_id, action),
  CHECK ((function IS NULL) <> (host_id IS NULL))
);
COMMENT ON TABLE spawn._handlers IS 'Resolved handler function of each action (internal)';

-- Layout (docs/design.md, "Instance rows"): no surrogate key (the name is the key; nothing
-- refers to instances otherwise), a boolean for the status, the columns that never or rarely
-- change first and those every write changes together at the end, so the WAL record of a HOT
-- update carries little more than the new tail (heap_update logs only what differs from the
-- old version's common prefix and suffix), and fillfactor 90: room for a few versions per page
-- so invokes stay HOT, without leaving 30% of every page empty.
CREATE TABLE spawn._instances (
  created_at timestamptz NOT NULL DEFAULT now(),
  -- No foreign key (issue 17: its trigger queried the definition per inserted row): spawners
  -- lock the template's row FOR KEY SHARE before inserting, unregistration deletes the
  -- instances and checks with spawn._instances_left that no unseen spawn slipped in.
  definition_id integer NOT NULL,
  active boolean NOT NULL DEFAULT false,  -- activated (used recently); spawn.actors shows it as status
  system text COLLATE "C" NOT NULL,  -- "C": names compare byte-wise, fast and locale-independent
  name text COLLATE "C" NOT NULL,
  -- The newest snapshotted revision (0: none). While it equals `revision`, this row is that
  -- snapshot (taken at snapshot_at) and spawn._history has no copy of it; the write that
  -- replaces it copies it there (docs/design.md, "Snapshots and history").
  snapshot_revision bigint NOT NULL DEFAULT 0,
  snapshot_at timestamptz,
  activated_at timestamptz,
  key_id bigint,          -- id of the key that sealed the ciphertext
  -- Rewritten at most once a second (src/state_store.cpp), so on a busy actor they stay in
  -- the prefix a HOT update's WAL record leaves out:
  last_activity timestamptz,
  state_updated_at timestamptz,
  -- Changed by every write:
  revision bigint NOT NULL DEFAULT 0,
  nonce bytea,            -- 24 random bytes per write
  ciphertext bytea,       -- XChaCha20-Poly1305 of the state, bound to (system, name, revision)
  CONSTRAINT _instances_system_name_key PRIMARY KEY (system, name)
) WITH (fillfactor = 90);
COMMENT ON TABLE spawn._instances IS 'Actor instances with their encrypted state (internal; read spawn.actors)';
CREATE INDEX ON spawn._instances (definition_id);
-- The launcher finds the instances to deactivate or snapshot through this index, never by
-- reading every instance: active ones are those used recently. Only activation and
-- deactivation change `active`, so an invoke of an active actor stays a HOT update. The name
-- orders a definition's active instances, so a sweep resumes each batch where the previous one
-- stopped (bgworker/sweeps.cpp) instead of reading again what it dealt with.
CREATE INDEX _instances_active ON spawn._instances (definition_id, name) WHERE active;

SELECT pg_catalog.pg_extension_config_dump('spawn.systems', $$WHERE name <> 'spawn-system'$$);
SELECT pg_catalog.pg_extension_config_dump('spawn._hosts', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._hosts_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._definitions', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._definitions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._handlers', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._instances', '');

-- The views present names in the database's default collation, so they compare and join with
-- users' own text columns; the tables keep "C" for fast lookups.
CREATE VIEW spawn.definitions AS
  SELECT system COLLATE "default" AS system, name COLLATE "default" AS name, kind, state_type, stateful, actions, timers, channels, tags,
         journal, deactivate_timeout, snapshot_timeout, registered_by AS owner, registered_at, updated_at
  FROM spawn._definitions
  WHERE spawn._may('any', system, name);
COMMENT ON VIEW spawn.definitions IS 'Registered actor definitions the viewer holds a privilege on';
GRANT SELECT ON spawn.definitions TO PUBLIC;

CREATE VIEW spawn.actors AS
  SELECT i.system COLLATE "default" AS system, i.name COLLATE "default" AS name, d.kind,
         CASE WHEN d.kind = 'unnamed' THEN d.name END COLLATE "default" AS parent,
         i.revision, CASE WHEN i.active THEN 'active' ELSE 'inactive' END AS status, i.created_at, i.activated_at, i.last_activity, i.state_updated_at
  FROM spawn._instances i JOIN spawn._definitions d ON d.id = i.definition_id
  WHERE spawn._may('any', d.system, d.name);
COMMENT ON VIEW spawn.actors IS 'Actor instances the viewer holds a privilege on, with kind, parent, revision and activation status (no state)';
GRANT SELECT ON spawn.actors TO PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- External actor hosts (docs/external-hosts.md)
-- ---------------------------------------------------------------------------------------------

-- Checks a host's address and options document (src/host_config.cpp).
CREATE FUNCTION spawn._check_host(url text, options jsonb) RETURNS void
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_check_host';
COMMENT ON FUNCTION spawn._check_host(text, jsonb) IS 'Validates an external host''s URL and options';

-- Whether a role may bind actions to a host: its owner (or a member), a role it lists in
-- "users" (or a member), anyone when it lists "public"; superusers always.
CREATE FUNCTION spawn._may_bind_host(host integer) RETURNS boolean
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
  AS $$ SELECT h.public OR pg_has_role(spawn._caller(), h.registered_by, 'USAGE')
               OR EXISTS (SELECT 1 FROM unnest(h.users) u
                          WHERE pg_has_role(spawn._caller(), u, 'USAGE'))
        FROM spawn._hosts h WHERE h.id = host $$;
COMMENT ON FUNCTION spawn._may_bind_host(integer) IS 'Whether the caller may bind actions to the host';

-- The id of a host the caller may bind actions to; raises 42704 or 42501 otherwise.
CREATE FUNCTION spawn._bindable_host(name text) RETURNS integer
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  host_id integer;
BEGIN
  SELECT h.id INTO host_id FROM spawn._hosts h WHERE h.name = _bindable_host.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'actor host "%" does not exist', name
      USING ERRCODE = 'undefined_object',
            HINT = 'A role allowed to declare hosts registers it with spawn.register_host(name, url).';
  END IF;
  IF NOT spawn._may_bind_host(host_id) THEN
    RAISE EXCEPTION 'permission denied for actor host "%"', name
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Its owner can list your role in the host''s "users" option.';
  END IF;
  RETURN host_id;
END
$$;
COMMENT ON FUNCTION spawn._bindable_host(text) IS 'Resolves a host name for binding; raises 42704 or 42501';
REVOKE ALL ON FUNCTION spawn._bindable_host(text) FROM PUBLIC;

CREATE FUNCTION spawn.register_host(name text, url text, options jsonb DEFAULT '{}') RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  caller constant oid := spawn._caller();
  owner oid;
  user_roles regrole[] := '{}';
  is_public boolean := false;
  entry text;
BEGIN
  PERFORM spawn._check_name('host', name);
  PERFORM spawn._check_host(url, options);
  FOR entry IN SELECT jsonb_array_elements_text(coalesce(options -> 'users', '[]')) LOOP
    IF entry = 'public' THEN
      is_public := true;
    ELSE
      user_roles := user_roles || spawn._role_named(entry);
    END IF;
  END LOOP;
  PERFORM spawn._lock_name('', 'host:' || name);
  SELECT h.registered_by INTO owner FROM spawn._hosts h WHERE h.name = register_host.name;
  IF FOUND AND NOT pg_has_role(caller, owner, 'USAGE') THEN
    RAISE EXCEPTION 'permission denied for actor host "%"', name
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('Only its owner, role %s, can change it.', owner::regrole);
  END IF;
  INSERT INTO spawn._hosts AS h (name, url, options, users, public, registered_by)
    VALUES (name, url, options, user_roles, is_public, caller)
    ON CONFLICT ON CONSTRAINT _hosts_name_key DO UPDATE
      SET url = EXCLUDED.url, options = EXCLUDED.options, users = EXCLUDED.users,
          public = EXCLUDED.public, updated_at = now();
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn.register_host(text, text, jsonb)
  IS 'Declares an external actor host, or updates it (its owner only); needs EXECUTE, granted by a superuser';
REVOKE ALL ON FUNCTION spawn.register_host(text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION spawn.unregister_host(name text) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  host record;
  bound text;
BEGIN
  PERFORM spawn._check_name('host', name);
  PERFORM spawn._lock_name('', 'host:' || name);
  SELECT h.id, h.registered_by INTO host FROM spawn._hosts h WHERE h.name = unregister_host.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'actor host "%" does not exist', name USING ERRCODE = 'undefined_object';
  END IF;
  IF NOT pg_has_role(spawn._caller(), host.registered_by, 'USAGE') THEN
    RAISE EXCEPTION 'permission denied for actor host "%"', name
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('Only its owner, role %s, can remove it.', host.registered_by::regrole);
  END IF;
  SELECT string_agg(format('%s/%s', d.system, d.name), ', ' ORDER BY d.system, d.name) INTO bound
    FROM spawn._definitions d
    WHERE d.host_id = host.id
       OR EXISTS (SELECT 1 FROM spawn._handlers x WHERE x.definition_id = d.id AND x.host_id = host.id);
  IF bound IS NOT NULL THEN
    RAISE EXCEPTION 'actor host "%" serves actors', name
      USING ERRCODE = 'dependent_objects_still_exist', DETAIL = 'Bound actors: ' || bound || '.',
            HINT = 'Unregister them, or re-register them without the host, first.';
  END IF;
  DELETE FROM spawn._hosts h WHERE h.id = host.id;
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn.unregister_host(text) IS 'Removes an external actor host no actor is bound to (its owner only)';
REVOKE ALL ON FUNCTION spawn.unregister_host(text) FROM PUBLIC;

-- A role by name; raises 42704 for an unknown one.
CREATE FUNCTION spawn._role_named(name text) RETURNS regrole
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  role oid;
BEGIN
  SELECT r.oid INTO role FROM pg_roles r WHERE r.rolname = name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'role "%" does not exist', name USING ERRCODE = 'undefined_object';
  END IF;
  RETURN role::regrole;
END
$$;
COMMENT ON FUNCTION spawn._role_named(text) IS 'A role by name; raises 42704 for an unknown one';

-- Call counts, failures and latency of every host since the server started (shared memory).
CREATE FUNCTION spawn._host_stats(OUT host_id integer, OUT calls bigint, OUT failures bigint,
    OUT mean_latency_ms double precision, OUT last_latency_ms double precision,
    OUT last_error text, OUT last_error_at timestamptz)
  RETURNS SETOF record
  LANGUAGE c VOLATILE PARALLEL RESTRICTED AS 'MODULE_PATHNAME', 'spawn_host_stats';
COMMENT ON FUNCTION spawn._host_stats() IS 'Per-host call statistics kept in shared memory';
REVOKE ALL ON FUNCTION spawn._host_stats() FROM PUBLIC;

-- The statistics of the hosts the caller may bind actions to.
CREATE FUNCTION spawn._visible_host_stats(OUT host_id integer, OUT calls bigint,
    OUT failures bigint, OUT mean_latency_ms double precision,
    OUT last_latency_ms double precision, OUT last_error text, OUT last_error_at timestamptz)
  RETURNS SETOF record
  LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
  AS $$ SELECT s.* FROM spawn._host_stats() s WHERE spawn._may_bind_host(s.host_id) $$;
COMMENT ON FUNCTION spawn._visible_host_stats() IS 'Call statistics of the hosts the caller may bind actions to';

CREATE VIEW spawn.hosts AS
  SELECT h.name COLLATE "default" AS name, h.url,
         CASE WHEN pg_has_role(spawn._caller(), h.registered_by, 'USAGE') THEN h.options
              ELSE h.options - 'headers' END AS options,
         h.registered_by AS owner, h.users, h.public,
         (SELECT count(*) FROM spawn._definitions d
            WHERE d.host_id = h.id
               OR EXISTS (SELECT 1 FROM spawn._handlers x
                            WHERE x.definition_id = d.id AND x.host_id = h.id)) AS actors,
         coalesce(s.calls, 0) AS calls, coalesce(s.failures, 0) AS failures,
         s.mean_latency_ms, s.last_latency_ms, s.last_error, s.last_error_at,
         h.registered_at, h.updated_at
  FROM spawn._hosts h LEFT JOIN spawn._visible_host_stats() s ON s.host_id = h.id
  WHERE spawn._may_bind_host(h.id);
COMMENT ON VIEW spawn.hosts IS 'External actor hosts the viewer may bind actions to, with call statistics (headers shown to their owner only)';
GRANT SELECT ON spawn.hosts TO PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Registration
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn.create_system(name text, options jsonb DEFAULT '{}') RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
BEGIN
  PERFORM spawn._check_name('system', name);
  PERFORM spawn._check_options('system options', options);
  IF NOT has_database_privilege(spawn._caller(), current_database(), 'CREATE') THEN
    RAISE EXCEPTION 'permission denied to create actor system "%"', create_system.name
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Creating a system needs the CREATE privilege on the database, like CREATE SCHEMA.';
  END IF;
  INSERT INTO spawn.systems (name, options, owner)
    VALUES (create_system.name, create_system.options, spawn._caller());
EXCEPTION WHEN unique_violation THEN
  RAISE EXCEPTION 'actor system "%" already exists', create_system.name
    USING ERRCODE = 'duplicate_object';
END
$$;
COMMENT ON FUNCTION spawn.create_system(text, jsonb) IS 'Creates an actor system (a namespace of actors)';

CREATE FUNCTION spawn._require_system(system text) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
BEGIN
  PERFORM spawn._check_name('system', system);
  IF NOT EXISTS (SELECT 1 FROM spawn.systems s WHERE s.name = _require_system.system) THEN
    RAISE EXCEPTION 'actor system "%" does not exist', system
      USING ERRCODE = 'undefined_object',
            HINT = format('Create it with spawn.create_system(%L).', system);
  END IF;
END
$$;
COMMENT ON FUNCTION spawn._require_system(text) IS 'Raises 42704 unless the actor system exists';

-- New actors go into spawn-system freely (a shared namespace, like the public schema); into
-- another system only for its owner and holders of admin on the whole system.
CREATE FUNCTION spawn._require_system_admin(system text, caller oid) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  system_owner regrole;
BEGIN
  SELECT s.owner INTO system_owner FROM spawn.systems s WHERE s.name = _require_system_admin.system;
  IF system = 'spawn-system' OR pg_has_role(caller, system_owner, 'USAGE')
     OR EXISTS (SELECT 1 FROM spawn._grants g
                WHERE g.system = _require_system_admin.system AND g.actor IS NULL
                  AND g.privilege = 'admin'
                  AND (g.grantee::oid = 0 OR pg_has_role(caller, g.grantee, 'USAGE'))) THEN
    RETURN;
  END IF;
  RAISE EXCEPTION 'permission denied for actor system "%"', system
    USING ERRCODE = 'insufficient_privilege',
          HINT = format('Its owner, role %s, can grant admin on it with spawn.grant(''admin'', NULL, ''<role>'', %L).',
                        system_owner, system);
END
$$;
COMMENT ON FUNCTION spawn._require_system_admin(text, oid) IS 'Raises 42501 unless the role may add actors to the system';
REVOKE ALL ON FUNCTION spawn._require_system_admin(text, oid) FROM PUBLIC;

CREATE TABLE spawn._grants (
  system text COLLATE "C" NOT NULL REFERENCES spawn.systems (name) ON DELETE CASCADE,
  actor text COLLATE "C",            -- an actor or template; NULL: every actor of the system
  privilege text NOT NULL CHECK (privilege IN ('invoke', 'read', 'spawn', 'admin')),
  grantee regrole NOT NULL,          -- 0 (shown as -) is PUBLIC
  granted_by regrole NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE NULLS NOT DISTINCT (system, actor, privilege, grantee)
);
COMMENT ON TABLE spawn._grants IS 'Privileges granted on actors and systems (internal; read spawn.grants)';
SELECT pg_catalog.pg_extension_config_dump('spawn._grants', '');

CREATE VIEW spawn.grants AS
  SELECT g.system COLLATE "default" AS system, g.actor COLLATE "default" AS actor, g.privilege,
         CASE WHEN g.grantee::oid = 0 THEN 'PUBLIC' ELSE g.grantee::text END AS grantee,
         g.granted_by, g.granted_at
  FROM spawn._grants g
  WHERE (g.grantee::oid <> 0 AND pg_has_role(g.grantee, 'USAGE'))
     OR (g.actor IS NULL AND pg_has_role((SELECT s.owner FROM spawn.systems s WHERE s.name = g.system), 'USAGE'))
     OR (g.actor IS NOT NULL AND spawn._may('admin', g.system, g.actor));
COMMENT ON VIEW spawn.grants IS 'Privileges on actors and systems, shown to their grantees and to those who administer them';
GRANT SELECT ON spawn.grants TO PUBLIC;

-- Resolves the target of a grant or revoke and checks that the caller may manage it; returns the
-- privileges named (all four for 'all') and the grantee's oid (0 for PUBLIC).
CREATE FUNCTION spawn._grant_target(privilege text, actor text, grantee text, system text,
    OUT privileges text[], OUT grantee_oid oid)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  caller constant oid := spawn._caller();
  def record;
BEGIN
  PERFORM spawn._require_system(system);
  IF privilege IS NULL OR lower(privilege) NOT IN ('invoke', 'read', 'spawn', 'admin', 'all') THEN
    RAISE EXCEPTION 'unknown actor privilege "%"', privilege
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'The privileges are invoke, read, spawn, admin, or all of them.';
  END IF;
  privileges := CASE lower(privilege) WHEN 'all' THEN ARRAY['invoke', 'read', 'spawn', 'admin']
                                      ELSE ARRAY[lower(privilege)] END;
  IF grantee IS NULL OR grantee = '' THEN
    RAISE EXCEPTION 'grantee must be a role name or PUBLIC' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF lower(grantee) = 'public' THEN
    grantee_oid := 0;
  ELSE
    SELECT r.oid INTO grantee_oid FROM pg_roles r WHERE r.rolname = grantee;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'role "%" does not exist', grantee USING ERRCODE = 'undefined_object';
    END IF;
  END IF;
  IF actor IS NULL THEN
    IF NOT pg_has_role(caller, (SELECT s.owner FROM spawn.systems s WHERE s.name = system), 'USAGE') THEN
      RAISE EXCEPTION 'permission denied for actor system "%"', system
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only the system''s owner grants privileges on all its actors.';
    END IF;
    RETURN;
  END IF;
  PERFORM spawn._check_name('actor', actor);
  SELECT d.id INTO def FROM spawn._definitions d
    WHERE d.system = _grant_target.system AND d.name = _grant_target.actor;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'actor "%" does not exist in system "%"', actor, system
      USING ERRCODE = 'undefined_object',
            HINT = 'Grant on a registered actor or template; a template''s grants cover its instances.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM spawn._definitions d JOIN spawn.systems s ON s.name = d.system COLLATE "C"
                 WHERE d.id = def.id
                   AND (pg_has_role(caller, d.registered_by, 'USAGE') OR pg_has_role(caller, s.owner, 'USAGE'))) THEN
    RAISE EXCEPTION 'permission denied for actor "%"', actor
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only the actor''s owner (or the system''s owner) grants and revokes its privileges.';
  END IF;
END
$$;
COMMENT ON FUNCTION spawn._grant_target(text, text, text, text) IS 'Checks a grant or revoke; returns its privileges and grantee';
REVOKE ALL ON FUNCTION spawn._grant_target(text, text, text, text) FROM PUBLIC;

CREATE FUNCTION spawn.grant(privilege text, actor text, grantee text, system text DEFAULT 'spawn-system')
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  target record;
BEGIN
  target := spawn._grant_target(privilege, actor, grantee, system);
  INSERT INTO spawn._grants (system, actor, privilege, grantee, granted_by)
    SELECT system, actor, p, target.grantee_oid, spawn._caller() FROM unnest(target.privileges) p
    ON CONFLICT DO NOTHING;
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn.grant(text, text, text, text)
  IS 'Grants invoke, read, spawn, admin (or all) on an actor, or with actor NULL on every actor of the system, to a role or PUBLIC';

CREATE FUNCTION spawn.revoke(privilege text, actor text, grantee text, system text DEFAULT 'spawn-system')
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  target record;
BEGIN
  target := spawn._grant_target(privilege, actor, grantee, system);
  DELETE FROM spawn._grants g
    WHERE g.system = revoke.system AND g.actor IS NOT DISTINCT FROM revoke.actor
      AND g.privilege = ANY (target.privileges) AND g.grantee::oid = target.grantee_oid;
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn.revoke(text, text, text, text) IS 'Revokes what spawn.grant granted';

-- Checks that a function has the shape of a handler: (jsonb, jsonb[, spawn.context]) returning
-- spawn.value or jsonb. Runs again inside the privileged registration, whatever the caller passed.
CREATE FUNCTION spawn._handler_shape(action text, function regprocedure,
    OUT takes_context boolean, OUT returns_jsonb boolean)
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p pg_proc;
BEGIN
  SELECT * INTO p FROM pg_proc WHERE oid = function;
  IF NOT FOUND OR p.prokind <> 'f' OR p.proretset
     OR p.prorettype NOT IN ('spawn.value'::regtype, 'jsonb'::regtype)
     OR p.pronargs NOT IN (2, 3)
     OR p.proargtypes[0] <> 'jsonb'::regtype OR p.proargtypes[1] <> 'jsonb'::regtype
     OR (p.pronargs = 3 AND p.proargtypes[2] <> 'spawn.context'::regtype) THEN
    RAISE EXCEPTION 'handler function % of action "%" has the wrong signature', function, action
      USING ERRCODE = 'invalid_function_definition', HINT = spawn._handler_hint();
  END IF;
  takes_context := p.pronargs = 3;
  returns_jsonb := p.prorettype = 'jsonb'::regtype;
END
$$;
COMMENT ON FUNCTION spawn._handler_shape(text, regprocedure) IS 'Raises 42P13 unless the function has a handler''s signature';

CREATE FUNCTION spawn._handler_hint() RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 'A handler takes (state jsonb, payload jsonb) or (state jsonb, payload jsonb, ctx spawn.context) and returns spawn.value or jsonb.' $$;
COMMENT ON FUNCTION spawn._handler_hint() IS 'The hint shown for handler signature errors';

-- Resolves a handler given as a function name (or a full signature) with the caller's
-- search_path, so it runs as the caller and qualifies everything it uses itself.
CREATE FUNCTION spawn._resolve_handler(action text, function_name text) RETURNS regprocedure
  LANGUAGE plpgsql STABLE
AS $$
DECLARE
  found_function regprocedure;
  bare_name text;
BEGIN
  IF function_name IS NULL OR function_name OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION 'handler of action "%" must be a function name', action
      USING ERRCODE = 'invalid_parameter_value', HINT = spawn._handler_hint();
  END IF;
  IF pg_catalog.strpos(function_name, '(') OPERATOR(pg_catalog.>) 0 THEN
    found_function := pg_catalog.to_regprocedure(function_name);
  ELSE
    found_function := coalesce(
      pg_catalog.to_regprocedure(function_name OPERATOR(pg_catalog.||) '(jsonb, jsonb, spawn.context)'),
      pg_catalog.to_regprocedure(function_name OPERATOR(pg_catalog.||) '(jsonb, jsonb)'));
  END IF;
  IF found_function IS NOT NULL THEN
    PERFORM spawn._handler_shape(action, found_function);
    RETURN found_function;
  END IF;
  bare_name := (SELECT n[pg_catalog.array_length(n, 1)]
                FROM pg_catalog.parse_ident(pg_catalog.split_part(function_name, '(', 1)) AS n);
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proname OPERATOR(pg_catalog.=) bare_name) THEN
    RAISE EXCEPTION 'handler function % of action "%" has the wrong signature', function_name, action
      USING ERRCODE = 'invalid_function_definition', HINT = spawn._handler_hint();
  END IF;
  RAISE EXCEPTION 'handler function % of action "%" does not exist', function_name, action
    USING ERRCODE = 'undefined_function', HINT = spawn._handler_hint();
END
$$;
COMMENT ON FUNCTION spawn._resolve_handler(text, text) IS 'Resolves a handler function name with the caller''s search_path';

-- Only the actor's owner (or a member, the system's owner, a holder of admin, a superuser) may
-- change or remove it.
CREATE FUNCTION spawn._require_registrant(definition_id integer, caller oid) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  def record;
BEGIN
  SELECT d.registered_by, d.name, d.system INTO def FROM spawn._definitions d
    WHERE d.id = definition_id;
  IF caller IS NULL OR NOT spawn._may('admin', def.system, def.name, caller) THEN
    RAISE EXCEPTION 'permission denied for actor "%"', def.name
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('Its owner, role %s, can change or remove it, or grant admin with spawn.grant.',
                          def.registered_by);
  END IF;
END
$$;
COMMENT ON FUNCTION spawn._require_registrant(integer, oid) IS 'Raises 42501 unless the caller holds admin on the actor';
REVOKE ALL ON FUNCTION spawn._require_registrant(integer, oid) FROM PUBLIC;

-- Checks an actions, tags or system options document (src/options.cpp).
CREATE FUNCTION spawn._check_options(kind text, document jsonb) RETURNS void
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_check_options';
COMMENT ON FUNCTION spawn._check_options(text, jsonb) IS 'Validates an actions, tags or system options document';

-- Checks the timers and channels options against the actor's actions (src/options.cpp).
CREATE FUNCTION spawn._check_schedules(actions jsonb, timers jsonb, channels jsonb) RETURNS void
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'spawn_check_schedules';
COMMENT ON FUNCTION spawn._check_schedules(jsonb, jsonb, jsonb) IS 'Validates timers and channel subscriptions';

-- The actions that timers and channel subscriptions name, each mapped to `handler`.
CREATE FUNCTION spawn._scheduled_actions(timers jsonb, channels jsonb, handler text) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT coalesce(jsonb_object_agg(a, handler), '{}') FROM (
      SELECT x ->> 'action' AS a
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(timers) = 'array' THEN timers END) x
      UNION
      SELECT CASE WHEN jsonb_typeof(c) = 'object' THEN coalesce(c ->> 'action', 'receive') END
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(channels) = 'array' THEN channels END) c
    ) named WHERE a IS NOT NULL $$;
COMMENT ON FUNCTION spawn._scheduled_actions(jsonb, jsonb, text) IS 'Maps every action a timer or channel names to a handler';

CREATE FUNCTION spawn._register_actor(
    name text,
    actions jsonb,
    handlers jsonb,  -- {"<action>": <function oid>}, resolved by spawn.register_actor
    system text DEFAULT 'spawn-system',
    kind text DEFAULT 'named',
    state_type text DEFAULT 'json',
    stateful boolean DEFAULT true,
    deactivate_timeout bigint DEFAULT 30000,
    snapshot_timeout bigint DEFAULT 10000,
    timers jsonb DEFAULT '[]',
    channels jsonb DEFAULT '[]',
    tags jsonb DEFAULT '{}',
    journal boolean DEFAULT false,
    host text DEFAULT NULL)  -- an external host serving every action not bound otherwise
  RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  registered_by constant oid := spawn._caller();
  def_id integer;
  old_kind text;
  action_name text;
  function_oid jsonb;
  clash record;
  default_host integer;
BEGIN
  PERFORM spawn._check_name('actor', name);
  PERFORM spawn._require_system(system);
  IF kind IS NULL OR kind NOT IN ('named', 'unnamed', 'pooled') THEN
    RAISE EXCEPTION 'invalid actor kind "%"', kind
      USING ERRCODE = 'invalid_parameter_value', HINT = 'The kind is named, unnamed or pooled.';
  END IF;
  IF state_type IS NULL OR state_type NOT IN ('json', 'jsonb') THEN
    RAISE EXCEPTION 'unsupported state type "%"', state_type
      USING ERRCODE = 'feature_not_supported', HINT = 'States are JSON: use state_type => ''json''.';
  END IF;
  IF deactivate_timeout IS NULL OR deactivate_timeout NOT BETWEEN 1 AND 315360000000
     OR snapshot_timeout IS NULL OR snapshot_timeout NOT BETWEEN 1 AND 315360000000 THEN
    RAISE EXCEPTION 'deactivate_timeout and snapshot_timeout must be between 1 and 315360000000 milliseconds (10 years)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM spawn._check_options('tags', tags);
  IF journal IS NULL THEN
    RAISE EXCEPTION 'journal must be true or false' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF stateful IS NULL THEN
    RAISE EXCEPTION 'stateful must be true or false' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF actions IS NULL OR jsonb_typeof(actions) <> 'object' OR handlers IS NULL
     OR jsonb_typeof(handlers) <> 'object' THEN
    RAISE EXCEPTION 'actions must be a jsonb object mapping action names to handler functions'
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Example: {"add": "public.incrementor_add"}.';
  END IF;
  IF journal AND (kind = 'pooled' OR NOT stateful) THEN
    RAISE EXCEPTION 'actor "%" has no state to journal', name
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Only stateful named or unnamed actors keep a journal.';
  END IF;
  IF host IS NOT NULL THEN
    default_host := spawn._bindable_host(host);
    -- The host serves every action, so timers and channels may name actions not listed.
    PERFORM spawn._check_schedules(actions || spawn._scheduled_actions(timers, channels, 'host:' || host),
                                   timers, channels);
  ELSE
    PERFORM spawn._check_schedules(actions, timers, channels);
  END IF;

  -- One registration per name at a time (spawn_actor takes the same lock for an instance name),
  -- so definitions and instance names are checked together; other names are not held up.
  PERFORM spawn._lock_name(system, name);
  -- spawn.spawn_actors holds SHARE on the definitions instead of one lock per name: taking
  -- this lock before the check below makes a registration wait for a bulk spawn's commit.
  LOCK TABLE spawn._definitions IN ROW EXCLUSIVE MODE;

  SELECT i.name, d.name AS parent INTO clash
    FROM spawn._instances i JOIN spawn._definitions d ON d.id = i.definition_id
    WHERE i.system = _register_actor.system AND i.name = _register_actor.name
      AND d.name <> _register_actor.name;
  IF FOUND THEN
    RAISE EXCEPTION 'actor name "%" is taken by an instance of "%"', name, clash.parent
      USING ERRCODE = 'duplicate_object';
  END IF;

  SELECT d.id, d.kind INTO def_id, old_kind FROM spawn._definitions d
    WHERE d.system = _register_actor.system AND d.name = _register_actor.name;
  IF FOUND THEN
    -- Handlers and timers run as the owner (timers) or as callers who trust the owner: only the
    -- owner (or a member) changes them, never a holder of admin.
    IF NOT pg_has_role(registered_by, (SELECT d.registered_by FROM spawn._definitions d WHERE d.id = def_id), 'USAGE') THEN
      RAISE EXCEPTION 'permission denied for actor "%"', name
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Only its owner can change its handlers and timers.';
    END IF;
  ELSE
    PERFORM spawn._require_system_admin(system, registered_by);
  END IF;
  IF FOUND AND old_kind <> kind
     AND EXISTS (SELECT 1 FROM spawn._instances i WHERE i.definition_id = def_id AND i.name <> _register_actor.name) THEN
    RAISE EXCEPTION 'cannot change actor "%" from % to % while it has instances', name, old_kind, kind
      USING ERRCODE = 'object_in_use', HINT = 'Unregister the actor first.';
  END IF;

  INSERT INTO spawn._definitions AS d (system, name, kind, state_type, stateful, deactivate_timeout,
                                       snapshot_timeout, actions, timers, channels, tags, journal,
                                       registered_by, host_id)
    VALUES (system, name, kind, state_type, stateful AND kind <> 'pooled', deactivate_timeout,
            snapshot_timeout, actions, timers, channels, tags, journal, registered_by, default_host)
    ON CONFLICT ON CONSTRAINT _definitions_system_name_key DO UPDATE
      SET kind = EXCLUDED.kind, state_type = EXCLUDED.state_type, stateful = EXCLUDED.stateful,
          deactivate_timeout = EXCLUDED.deactivate_timeout,
          snapshot_timeout = EXCLUDED.snapshot_timeout, actions = EXCLUDED.actions,
          timers = EXCLUDED.timers, channels = EXCLUDED.channels, tags = EXCLUDED.tags,
          journal = EXCLUDED.journal, host_id = EXCLUDED.host_id,
          updated_at = now()  -- the owner stays
    RETURNING d.id INTO def_id;

  DELETE FROM spawn._handlers h WHERE h.definition_id = def_id;
  FOR action_name, function_oid IN SELECT * FROM jsonb_each(handlers) LOOP
    PERFORM spawn._check_name('action', action_name);
    IF jsonb_typeof(function_oid) = 'object' THEN
      INSERT INTO spawn._handlers (definition_id, action, host_id, signature, takes_context, returns_jsonb)
        VALUES (def_id, action_name, spawn._bindable_host(function_oid ->> 'host'),
                'host:' || (function_oid ->> 'host'), true, true);
      CONTINUE;
    END IF;
    INSERT INTO spawn._handlers (definition_id, action, function, signature, takes_context, returns_jsonb)
      SELECT def_id, action_name, (function_oid #>> '{}')::oid::regprocedure,
             (function_oid #>> '{}')::oid::regprocedure::text, shape.takes_context,
             shape.returns_jsonb
      FROM spawn._handler_shape(action_name, (function_oid #>> '{}')::oid::regprocedure) shape;
  END LOOP;

  IF kind = 'unnamed' THEN
    DELETE FROM spawn._instances i WHERE i.definition_id = def_id AND i.name = _register_actor.name;
  ELSE
    INSERT INTO spawn._instances (system, name, definition_id)
      VALUES (system, name, def_id) ON CONFLICT ON CONSTRAINT _instances_system_name_key DO NOTHING;
  END IF;

  -- Timers tick from now on: a named actor's at once (on a shard: only on the one it lives on),
  -- every spawned instance's (spawn_actor starts those of later ones); a pooled actor's once it
  -- is active.
  IF jsonb_array_length(timers) > 0 THEN
    PERFORM spawn._require_scheduler('A timer');
  END IF;
  DELETE FROM spawn._timers t USING spawn._instances i
    WHERE i.definition_id = def_id AND t.system = i.system AND t.actor = i.name;
  INSERT INTO spawn._timers (system, actor, action, every_ms, next_fire_at)
    SELECT i.system, i.name, x->>'action', (x->>'every_ms')::bigint,
           now() + (x->>'every_ms')::bigint * interval '1 millisecond'
    FROM spawn._instances i, jsonb_array_elements(timers) x
    WHERE i.definition_id = def_id AND (kind <> 'pooled' OR i.active)
      AND spawn._actor_is_here(i.system, i.name);
  PERFORM spawn._wake_workers();
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn._register_actor(text, jsonb, jsonb, text, text, text, boolean, bigint, bigint, jsonb, jsonb, jsonb, boolean, text)
  IS 'Stores a definition whose handlers spawn.register_actor resolved (signatures checked again)';

-- Resolves handler names as the caller (with the caller's search_path), then stores the
-- definition through the privileged spawn._register_actor.
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
    journal boolean DEFAULT false,
    host text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  handlers jsonb := '{}';
  entry record;
  handler text;
BEGIN
  PERFORM spawn._check_name('actor', name);
  PERFORM spawn._check_options('actions', actions);
  FOR entry IN SELECT * FROM pg_catalog.jsonb_each(actions) LOOP
    handler := entry.value OPERATOR(pg_catalog.#>>) '{}';
    IF pg_catalog.starts_with(handler, 'host:') THEN
      -- An external host, resolved and checked by spawn._register_actor.
      handlers := handlers OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(entry.key,
        pg_catalog.jsonb_build_object('host', pg_catalog.substr(handler, 6)));
    ELSE
      handlers := handlers OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(entry.key,
        spawn._resolve_handler(entry.key, handler)::oid);
    END IF;
  END LOOP;
  PERFORM spawn._register_actor(name, actions, handlers, system, kind, state_type, stateful,
    deactivate_timeout, snapshot_timeout, timers, channels, tags, journal, host);
END
$$;
COMMENT ON FUNCTION spawn.register_actor(text, jsonb, text, text, text, boolean, bigint, bigint, jsonb, jsonb, jsonb, boolean, text)
  IS 'Registers an actor definition, or updates it when it exists';

CREATE FUNCTION spawn.unregister_actor(name text, system text DEFAULT 'spawn-system') RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  def_id integer;
BEGIN
  PERFORM spawn._check_name('actor', name);
  PERFORM spawn._require_system(system);
  PERFORM spawn._lock_name(system, name);
  SELECT d.id INTO def_id FROM spawn._definitions d
    WHERE d.system = unregister_actor.system AND d.name = unregister_actor.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'actor "%" does not exist in system "%"', name, system
      USING ERRCODE = 'undefined_object';
  END IF;
  PERFORM spawn._require_registrant(def_id, spawn._caller());
  -- Nothing queued for the actor or its instances outlives it: a later actor of the same name,
  -- perhaps another role's, must never run what was sent to this one.
  DELETE FROM spawn._mailbox m
    WHERE m.system = unregister_actor.system
      AND (m.actor = unregister_actor.name OR m.register_ref = unregister_actor.name
           OR m.actor IN (SELECT i.name FROM spawn._instances i WHERE i.definition_id = def_id));
  DELETE FROM spawn._dead_letters m
    WHERE m.system = unregister_actor.system
      AND (m.actor = unregister_actor.name OR m.register_ref = unregister_actor.name
           OR m.actor IN (SELECT i.name FROM spawn._instances i WHERE i.definition_id = def_id));
  DELETE FROM spawn._schedules s
    WHERE s.system = unregister_actor.system
      AND (s.actor = unregister_actor.name
           OR s.actor IN (SELECT i.name FROM spawn._instances i WHERE i.definition_id = def_id));
  -- The definition first: its delete waits for spawners holding its row (FOR KEY SHARE) or the
  -- table (spawn_actors' SHARE), so the instances' delete after it (a new snapshot under READ
  -- COMMITTED) sees what they inserted. Under REPEATABLE READ it cannot: a spawn committed
  -- since this transaction's snapshot is a serialization failure, as the foreign key's cascade
  -- made it.
  DELETE FROM spawn._definitions d WHERE d.id = def_id;
  DELETE FROM spawn._instances i WHERE i.definition_id = def_id;
  IF spawn._instances_left(def_id) THEN
    RAISE EXCEPTION 'could not serialize access due to a concurrent spawn of an instance of "%"', name
      USING ERRCODE = 'serialization_failure', HINT = 'Retry the transaction.';
  END IF;
  DELETE FROM spawn._grants g WHERE g.system = unregister_actor.system AND g.actor = unregister_actor.name;
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn.unregister_actor(text, text) IS 'Removes an actor definition with all its instances and their state';

-- The template an instance is spawned from, checked: it exists, is unnamed, and the caller
-- holds spawn on it. Runs as whoever calls it (spawn_actor and spawn_actors run as the owner
-- and remember their caller, which spawn._may asks about).
CREATE FUNCTION spawn._spawn_template(system text, parent text) RETURNS integer
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  template record;
BEGIN
  SELECT d.id, d.kind INTO template FROM spawn._definitions d
    WHERE d.system = _spawn_template.system AND d.name = _spawn_template.parent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'actor template "%" does not exist in system "%"', parent, system
      USING ERRCODE = 'undefined_object',
            HINT = 'Register it with spawn.register_actor(..., kind => ''unnamed'').';
  END IF;
  IF template.kind <> 'unnamed' THEN
    RAISE EXCEPTION 'actor "%" is a % actor, not an unnamed template', parent, template.kind
      USING ERRCODE = 'wrong_object_type';
  END IF;
  IF NOT spawn._may('spawn', system, parent) THEN
    RAISE EXCEPTION 'permission denied for actor "%"', parent
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('Its owner can grant it with spawn.grant(''spawn'', %L, ''<role>'').', parent);
  END IF;
  RETURN template.id;
END
$$;
COMMENT ON FUNCTION spawn._spawn_template(text, text) IS 'The id of an unnamed template the caller may spawn instances of';
REVOKE ALL ON FUNCTION spawn._spawn_template(text, text) FROM PUBLIC;

-- Locks the template's row until the transaction ends (what the foreign key's per-row check
-- did, once per call): an unregistration waits for the spawn's commit and then deletes what it
-- inserted; a template removed meanwhile is an error (under REPEATABLE READ the lock itself
-- fails with 40001, as the key's check did).
CREATE FUNCTION spawn._hold_template(template_id integer, system text, parent text) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM 1 FROM spawn._definitions d WHERE d.id = template_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'actor template "%" does not exist in system "%"', parent, system
      USING ERRCODE = 'undefined_object', DETAIL = 'It was unregistered while being spawned from.';
  END IF;
END
$$;
COMMENT ON FUNCTION spawn._hold_template(integer, text, text) IS 'Locks a template''s row against unregistration until the transaction ends';
REVOKE ALL ON FUNCTION spawn._hold_template(integer, text, text) FROM PUBLIC;

CREATE FUNCTION spawn._instances_left(definition_id integer) RETURNS boolean
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_instances_left';
COMMENT ON FUNCTION spawn._instances_left(integer)
  IS 'Whether instances of a definition exist in the latest committed state, unseen or not by the caller''s snapshot';
REVOKE ALL ON FUNCTION spawn._instances_left(integer) FROM PUBLIC;

CREATE FUNCTION spawn.spawn_actor(name text, parent text, system text DEFAULT 'spawn-system') RETURNS boolean
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  template_id integer;
  existing text;
BEGIN
  PERFORM spawn._check_name('actor', name);
  PERFORM spawn._check_name('actor', parent);
  PERFORM spawn._require_system(system);
  PERFORM spawn._lock_name(system, name);
  template_id := spawn._spawn_template(system, parent);
  PERFORM spawn._hold_template(template_id, system, parent);
  IF EXISTS (SELECT 1 FROM spawn._definitions d WHERE d.system = spawn_actor.system AND d.name = spawn_actor.name) THEN
    RAISE EXCEPTION 'actor name "%" is taken by a registered actor', name
      USING ERRCODE = 'duplicate_object';
  END IF;
  INSERT INTO spawn._instances (system, name, definition_id)
    VALUES (system, name, template_id) ON CONFLICT ON CONSTRAINT _instances_system_name_key DO NOTHING;
  IF FOUND THEN
    -- The template's timers tick for the instance from its spawning on.
    INSERT INTO spawn._timers (system, actor, action, every_ms, next_fire_at)
      SELECT spawn_actor.system, spawn_actor.name, x->>'action', (x->>'every_ms')::bigint,
             now() + (x->>'every_ms')::bigint * interval '1 millisecond'
      FROM spawn._definitions d, jsonb_array_elements(d.timers) x
      WHERE d.id = template_id
      ON CONFLICT DO NOTHING;
    IF FOUND THEN
      PERFORM spawn._wake_workers();
    END IF;
    RETURN true;
  END IF;
  SELECT d.name INTO existing FROM spawn._instances i JOIN spawn._definitions d ON d.id = i.definition_id
    WHERE i.system = spawn_actor.system AND i.name = spawn_actor.name;
  IF existing IS DISTINCT FROM parent THEN
    RAISE EXCEPTION 'actor "%" already exists with parent "%"', name, existing
      USING ERRCODE = 'duplicate_object';
  END IF;
  RETURN false;
END
$$;
COMMENT ON FUNCTION spawn.spawn_actor(text, text, text) IS 'Creates an instance of an unnamed actor; returns false if it already existed';

-- Set-based spawn_actor: the same checks and rights, one statement's worth of work for any
-- number of names. Instead of one name lock per instance (a million of them would fill the
-- shared lock table) it holds SHARE on the definitions until the transaction ends, so no
-- registration or unregistration can interleave with it; instances and their timers are
-- inserted together, and any bad name fails the whole call before anything is kept.
CREATE FUNCTION spawn.spawn_actors(parent text, names text[], system text DEFAULT 'spawn-system') RETURNS bigint
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  template_id integer;
  timers jsonb;
  created bigint;
  bad text;
  other text;
BEGIN
  PERFORM spawn._check_name('actor', parent);
  IF names IS NULL THEN
    RAISE EXCEPTION 'names must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  PERFORM spawn._require_system(system);
  -- SHARE: no definition is registered, changed or removed (the template included) until this
  -- transaction ends; other spawns run alongside.
  LOCK TABLE spawn._definitions IN SHARE MODE;
  template_id := spawn._spawn_template(system, parent);
  PERFORM spawn._hold_template(template_id, system, parent);
  SELECT d.timers INTO timers FROM spawn._definitions d WHERE d.id = template_id;
  IF array_position(names, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'actor names must not be null'
      USING ERRCODE = 'null_value_not_allowed', DETAIL = format('names[%s] is null.', array_position(names, NULL));
  END IF;
  PERFORM spawn._check_name('actor', n) FROM unnest(names) n;
  SELECT n INTO bad FROM unnest(names) n JOIN spawn._definitions d
    ON d.system = spawn_actors.system AND d.name = n LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'actor name "%" is taken by a registered actor', bad
      USING ERRCODE = 'duplicate_object';
  END IF;
  -- Usually every name is new: a plain INSERT, without ON CONFLICT's speculative insertion and
  -- without looking for duplicates first. If a name exists already (or appears twice), the
  -- primary key refuses it, the subtransaction takes back what was inserted, and the careful
  -- path below sorts it out: the outcome is the same either way.
  BEGIN
    INSERT INTO spawn._instances (system, name, definition_id)
      SELECT spawn_actors.system, n, template_id FROM unnest(names) n;
    GET DIAGNOSTICS created = ROW_COUNT;
  EXCEPTION WHEN unique_violation THEN
    created := NULL;
  END;
  IF created IS NOT NULL THEN
    -- The template's timers tick for each new instance from its spawning on.
    IF jsonb_array_length(timers) > 0 THEN
      INSERT INTO spawn._timers (system, actor, action, every_ms, next_fire_at)
        SELECT spawn_actors.system, n, x->>'action', (x->>'every_ms')::bigint,
               now() + (x->>'every_ms')::bigint * interval '1 millisecond'
        FROM unnest(names) n, jsonb_array_elements(timers) x
        ON CONFLICT DO NOTHING;
    END IF;
  ELSE
    SELECT n INTO bad FROM unnest(names) n GROUP BY n HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'actor name "%" appears more than once in names', bad
        USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass each name once.';
    END IF;
    WITH made AS (
      INSERT INTO spawn._instances (system, name, definition_id)
        SELECT spawn_actors.system, n, template_id FROM unnest(names) n
        ON CONFLICT ON CONSTRAINT _instances_system_name_key DO NOTHING
        RETURNING name),
    ticking AS (
      INSERT INTO spawn._timers (system, actor, action, every_ms, next_fire_at)
        SELECT spawn_actors.system, m.name, x->>'action', (x->>'every_ms')::bigint,
               now() + (x->>'every_ms')::bigint * interval '1 millisecond'
        FROM made m, jsonb_array_elements(timers) x
        ON CONFLICT DO NOTHING)
    SELECT count(*) INTO created FROM made;
    IF created < cardinality(names) THEN
      SELECT i.name, d.name INTO bad, other FROM unnest(names) n
        JOIN spawn._instances i ON i.system = spawn_actors.system AND i.name = n
        JOIN spawn._definitions d ON d.id = i.definition_id
        WHERE i.definition_id <> template_id LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'actor "%" already exists with parent "%"', bad, other
          USING ERRCODE = 'duplicate_object';
      END IF;
    END IF;
  END IF;
  IF created > 0 AND jsonb_array_length(timers) > 0 THEN
    PERFORM spawn._wake_workers();
  END IF;
  RETURN created;
END
$$;
COMMENT ON FUNCTION spawn.spawn_actors(text, text[], text) IS 'Creates many instances of an unnamed actor at once; returns how many were new';

-- ---------------------------------------------------------------------------------------------
-- Invocation
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn.invoke(actor text, action text, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system', metadata jsonb DEFAULT NULL,
    register_ref text DEFAULT NULL)
  RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_invoke';
COMMENT ON FUNCTION spawn.invoke(text, text, jsonb, text, jsonb, text)
  IS 'Invokes an action synchronously in the caller''s transaction and returns the reply';

CREATE FUNCTION spawn.state(actor text, system text DEFAULT 'spawn-system') RETURNS jsonb
  LANGUAGE c STABLE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_state';
COMMENT ON FUNCTION spawn.state(text, text) IS 'Decrypted current state of an actor (read privilege)';

-- ---------------------------------------------------------------------------------------------
-- Mailbox, replies and dead letters (drained by the scheduler's workers)
-- ---------------------------------------------------------------------------------------------

-- No primary key: ids come from the sequence (a retried dead letter brings back its own id, which
-- left the mailbox when it died), and every statement that looks a message up by id knows its
-- delivery time, which _mailbox_due (deliver_at, id) serves; a cast then costs two index
-- entries instead of three. Requests (spawn.result, spawn.wait) are found by id alone through
-- the partial unique _mailbox_requests.
CREATE TABLE spawn._mailbox (
  id bigserial,                      -- message id, and request id for spawn.invoke_async
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  action text NOT NULL,
  register_ref text,
  key_id bigint,                     -- the payload is sealed like state, bound to (system, actor, id)
  nonce bytea,
  payload bytea,                     -- NULL for a NULL payload
  metadata jsonb,
  reply_channel text,                -- set for spawn.invoke_async: the reply is stored and notified
  run_as regrole NOT NULL,           -- the role that sent it; its handler runs with this role
  source text NOT NULL DEFAULT 'cast'
    CHECK (source IN ('cast', 'async', 'timer', 'schedule', 'effect', 'broadcast', 'projection')),
  deliver_at timestamptz NOT NULL DEFAULT now(),  -- delivery order is (deliver_at, id) per actor
  retry_at timestamptz,              -- after a failure: the actor's queue waits until then
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A 64-bit hash of (system, actor), the key of _mailbox_actor_order: a cast's descent into
  -- that index compares integers instead of two texts. spawn computes the same value when it
  -- writes a row without the executor (src/mailbox_row.cpp, MailboxActorKey); two actors of one
  -- key only share index pages, every reader also compares system and actor.
  actor_key bigint NOT NULL
    GENERATED ALWAYS AS (hashtextextended(system || E'\x1f' || actor, 0)) STORED
) WITH (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000);  -- a queue: vacuum early
COMMENT ON TABLE spawn._mailbox IS 'Pending asynchronous messages (internal; read spawn.mailbox_stats)';
CREATE INDEX _mailbox_actor_order ON spawn._mailbox (actor_key, deliver_at, id);
CREATE INDEX _mailbox_due ON spawn._mailbox (deliver_at, id);
CREATE UNIQUE INDEX _mailbox_requests ON spawn._mailbox (id) WHERE reply_channel IS NOT NULL;
-- Serves the workers' min(retry_at) (when to wake up next); casts never have a retry_at, so
-- they add no entry to it.
CREATE INDEX _mailbox_retry ON spawn._mailbox (retry_at) WHERE retry_at IS NOT NULL;

CREATE TABLE spawn._dead_letters (
  id bigint PRIMARY KEY,
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  action text NOT NULL,
  register_ref text,
  key_id bigint,
  nonce bytea,
  payload bytea,
  metadata jsonb,
  reply_channel text,
  run_as regrole NOT NULL,
  source text NOT NULL,
  deliver_at timestamptz NOT NULL,
  attempts integer NOT NULL,
  last_error text,                   -- 'SQLSTATE: message' of the last attempt
  created_at timestamptz NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  last_detail text,                  -- that error's detail and hint
  last_hint text
);
COMMENT ON TABLE spawn._dead_letters IS 'Messages that failed spawn.max_attempts times';

CREATE TABLE spawn._replies (
  id bigint PRIMARY KEY,             -- the request id
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  action text NOT NULL,
  status text NOT NULL CHECK (status IN ('ok', 'error')),
  key_id bigint,                     -- the response is sealed, bound to (system, actor, id)
  nonce bytea,
  response bytea,
  error text,
  sqlstate text,
  completed_at timestamptz NOT NULL DEFAULT now(),
  requester regrole NOT NULL,        -- the role that asked; only it (or its members) reads the reply
  detail text,                       -- the error's detail and hint, as the handler raised them
  hint text
);
COMMENT ON TABLE spawn._replies IS 'Replies to spawn.invoke_async, kept for spawn.reply_retention';
CREATE INDEX ON spawn._replies (completed_at);

SELECT pg_catalog.pg_extension_config_dump('spawn._mailbox', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._mailbox_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._dead_letters', '');

CREATE VIEW spawn.dead_letters AS
  SELECT id, system COLLATE "default" AS system, actor COLLATE "default" AS actor, action, source,
         attempts, last_error, last_detail, last_hint, run_as AS sender, created_at, failed_at
  FROM spawn._dead_letters
  WHERE spawn._may_manage(run_as, system, actor, true);
COMMENT ON VIEW spawn.dead_letters IS 'Messages parked after spawn.max_attempts failures (no payloads), shown to their sender and the actor''s admins';
GRANT SELECT ON spawn.dead_letters TO PUBLIC;

CREATE VIEW spawn.mailbox_stats AS
  WITH messages AS (
    SELECT system, actor, deliver_at, retry_at, false AS dead FROM spawn._mailbox
    UNION ALL
    SELECT system, actor, deliver_at, NULL, true FROM spawn._dead_letters)
  SELECT system COLLATE "default" AS system, actor COLLATE "default" AS actor,
         count(*) FILTER (WHERE NOT dead AND deliver_at <= now()) AS pending,
         count(*) FILTER (WHERE NOT dead AND deliver_at > now()) AS scheduled,
         count(*) FILTER (WHERE NOT dead AND retry_at > now()) AS retrying,
         count(*) FILTER (WHERE dead) AS dead_letters,
         now() - min(deliver_at) FILTER (WHERE NOT dead AND deliver_at <= now()) AS oldest_pending_age
  FROM messages WHERE spawn._may('any', system, actor) GROUP BY system, actor;
COMMENT ON VIEW spawn.mailbox_stats IS 'Pending, scheduled, retrying and dead messages per system and actor, for actors the viewer holds a privilege on';
GRANT SELECT ON spawn.mailbox_stats TO PUBLIC;

-- Idempotency keys of casts and async invocations: a key a role already used within
-- spawn.idempotency_retention returns the first request's id instead of enqueuing again.
CREATE TABLE spawn._idempotency_keys (
  key text COLLATE "C" NOT NULL,
  requester regrole NOT NULL,        -- keys are per role: one role never sees another's ids
  request_id bigint,                 -- set in the transaction that claimed the key
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, requester)
);
COMMENT ON TABLE spawn._idempotency_keys IS 'Idempotency keys of spawn.cast and spawn.invoke_async (internal)';
CREATE INDEX ON spawn._idempotency_keys (created_at);
SELECT pg_catalog.pg_extension_config_dump('spawn._idempotency_keys', '');

CREATE FUNCTION spawn.cast(actor text, action text, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system', delay_ms bigint DEFAULT 0,
    scheduled_to timestamptz DEFAULT NULL, metadata jsonb DEFAULT NULL,
    register_ref text DEFAULT NULL, idempotency_key text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_cast';
COMMENT ON FUNCTION spawn.cast(text, text, jsonb, text, bigint, timestamptz, jsonb, text, text)
  IS 'Sends an asynchronous message; a worker runs it after commit (or at its delivery time)';

CREATE FUNCTION spawn.invoke_async(actor text, action text, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system', reply_channel text DEFAULT 'spawn_reply',
    metadata jsonb DEFAULT NULL, register_ref text DEFAULT NULL,
    idempotency_key text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_invoke_async';
COMMENT ON FUNCTION spawn.invoke_async(text, text, jsonb, text, text, jsonb, text, text)
  IS 'Invokes asynchronously; the reply is stored and sent with NOTIFY on reply_channel';

-- VOLATILE: it reads with the latest snapshot, so two calls in one statement may differ.
CREATE FUNCTION spawn.result(id bigint, OUT status text, OUT response jsonb, OUT error text,
    OUT sqlstate text, OUT detail text, OUT hint text)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_result';
COMMENT ON FUNCTION spawn.result(bigint) IS 'Status (pending, ok, error), response or error of an asynchronous request';

CREATE FUNCTION spawn.wait(id bigint, timeout_ms integer DEFAULT 5000) RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_wait';
COMMENT ON FUNCTION spawn.wait(bigint, integer) IS 'Waits for the reply of an asynchronous request and returns it (raises its error)';

-- Raises 42704 unless the dead letter exists, 42501 unless the caller sent it (a retry runs as
-- the sender) or, with admin_may, administers its actor.
CREATE FUNCTION spawn._require_dead_letter(id bigint, admin_may boolean) RETURNS void
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  letter record;
BEGIN
  SELECT d.system, d.actor, d.run_as INTO letter FROM spawn._dead_letters d WHERE d.id = _require_dead_letter.id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dead letter % does not exist', id
      USING ERRCODE = 'undefined_object', HINT = 'See spawn.dead_letters for the parked messages.';
  END IF;
  IF NOT spawn._may_manage(letter.run_as, letter.system, letter.actor, admin_may) THEN
    RAISE EXCEPTION 'permission denied for dead letter %', id
      USING ERRCODE = 'insufficient_privilege',
            HINT = CASE WHEN admin_may THEN 'Its sender or an admin of its actor can discard it.'
                        ELSE format('Only its sender, role %s, can retry it: it runs as the sender.', letter.run_as) END;
  END IF;
END
$$;
COMMENT ON FUNCTION spawn._require_dead_letter(bigint, boolean) IS 'Checks that the caller may retry or discard a dead letter';
REVOKE ALL ON FUNCTION spawn._require_dead_letter(bigint, boolean) FROM PUBLIC;

CREATE FUNCTION spawn.retry_dead_letter(id bigint) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
BEGIN
  PERFORM spawn._require_dead_letter(id, false);
  -- The request's error reply goes: the worker stores the new reply with a plain INSERT.
  DELETE FROM spawn._replies r WHERE r.id = retry_dead_letter.id;
  WITH moved AS (DELETE FROM spawn._dead_letters d WHERE d.id = retry_dead_letter.id RETURNING d.*)
  INSERT INTO spawn._mailbox (id, system, actor, action, register_ref, key_id, nonce, payload,
                              metadata, reply_channel, run_as, source, deliver_at, attempts, created_at)
    SELECT m.id, m.system, m.actor, m.action, m.register_ref, m.key_id, m.nonce, m.payload,
           m.metadata, m.reply_channel, m.run_as, m.source, m.deliver_at, 0, m.created_at
    FROM moved m;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dead letter % does not exist', id
      USING ERRCODE = 'undefined_object', HINT = 'See spawn.dead_letters for the parked messages.';
  END IF;
  PERFORM spawn._wake_workers();
END
$$;
COMMENT ON FUNCTION spawn.retry_dead_letter(bigint) IS 'Moves a dead letter back into the mailbox with a fresh retry budget';

CREATE FUNCTION spawn.discard_dead_letter(id bigint) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
BEGIN
  PERFORM spawn._require_dead_letter(id, true);
  DELETE FROM spawn._dead_letters d WHERE d.id = discard_dead_letter.id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dead letter % does not exist', id
      USING ERRCODE = 'undefined_object', HINT = 'See spawn.dead_letters for the parked messages.';
  END IF;
END
$$;
COMMENT ON FUNCTION spawn.discard_dead_letter(bigint) IS 'Deletes a dead letter';

CREATE FUNCTION spawn._wake_workers() RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_wake_workers';
COMMENT ON FUNCTION spawn._wake_workers() IS 'Wakes the scheduler (workers and launcher) when this transaction commits';
REVOKE ALL ON FUNCTION spawn._wake_workers() FROM PUBLIC;

CREATE FUNCTION spawn._worker_stats(OUT worker integer, OUT pid integer, OUT kind text,
    OUT processed bigint, OUT failed bigint, OUT batches bigint, OUT max_batch integer,
    OUT avg_batch numeric, OUT busy_ms bigint, OUT started_at timestamptz)
  RETURNS SETOF record
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_worker_stats';
COMMENT ON FUNCTION spawn._worker_stats() IS 'Counters of the scheduler''s processes since they started (read spawn.worker_stats)';
CREATE VIEW spawn.worker_stats AS SELECT * FROM spawn._worker_stats();
COMMENT ON VIEW spawn.worker_stats IS 'Processed, failed, batch sizes and busy time per scheduler process';
GRANT SELECT ON spawn.worker_stats TO PUBLIC;

CREATE FUNCTION spawn.scheduler(OUT workers_configured integer, OUT workers_running integer,
    OUT workers_without_slot integer, OUT launcher_running boolean, OUT waiting_for_key boolean,
    OUT paused_key_ids bigint[])
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_scheduler';
COMMENT ON FUNCTION spawn.scheduler() IS 'The scheduler as a whole: mailbox workers configured and running, and what holds them back';
CREATE VIEW spawn.scheduler AS SELECT * FROM spawn.scheduler();
COMMENT ON VIEW spawn.scheduler IS 'Mailbox workers configured (spawn.workers) and running, those without a background worker slot, and queues waiting for a key';
GRANT SELECT ON spawn.scheduler TO PUBLIC;

-- ---------------------------------------------------------------------------------------------
-- Timers, schedules, history
-- ---------------------------------------------------------------------------------------------

CREATE TABLE spawn._timers (
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  action text NOT NULL,
  every_ms bigint NOT NULL,
  next_fire_at timestamptz NOT NULL,
  PRIMARY KEY (system, actor, action),
  FOREIGN KEY (system, actor) REFERENCES spawn._instances (system, name) ON DELETE CASCADE
);
COMMENT ON TABLE spawn._timers IS 'Timer ticks of activated instances; each due tick becomes one mailbox message';
CREATE INDEX ON spawn._timers (next_fire_at);

CREATE TABLE spawn._schedules (
  id bigserial PRIMARY KEY,
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  action text NOT NULL,
  cron text NOT NULL,
  run_as regrole NOT NULL,           -- the role that scheduled it
  key_id bigint,
  nonce bytea,
  payload bytea,
  next_fire_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE spawn._schedules IS 'Permanent cron schedules (internal; read spawn.schedules)';
CREATE INDEX ON spawn._schedules (next_fire_at);
SELECT pg_catalog.pg_extension_config_dump('spawn._schedules', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._schedules_id_seq', '');

CREATE VIEW spawn.schedules AS
  SELECT id, system COLLATE "default" AS system, actor COLLATE "default" AS actor, action, cron,
         next_fire_at, run_as AS scheduled_by, created_at
  FROM spawn._schedules
  WHERE spawn._may_manage(run_as, system, actor, true);
COMMENT ON VIEW spawn.schedules IS 'Permanent cron schedules (no payloads), shown to their creator and the actor''s admins';
GRANT SELECT ON spawn.schedules TO PUBLIC;

CREATE FUNCTION spawn.schedule(actor text, action text, cron_expression text,
    payload jsonb DEFAULT NULL, system text DEFAULT 'spawn-system')
  RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_schedule';
COMMENT ON FUNCTION spawn.schedule(text, text, text, jsonb, text)
  IS 'Invokes an action on a cron schedule (5 fields, or 6 with seconds first; UTC)';

CREATE FUNCTION spawn.unschedule(id bigint) RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  sched record;
BEGIN
  SELECT s.system, s.actor, s.run_as INTO sched FROM spawn._schedules s WHERE s.id = unschedule.id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'schedule % does not exist', id
      USING ERRCODE = 'undefined_object', HINT = 'See spawn.schedules.';
  END IF;
  IF NOT spawn._may_manage(sched.run_as, sched.system, sched.actor, true) THEN
    RAISE EXCEPTION 'permission denied for schedule %', id
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Its creator or an admin of its actor can remove it.';
  END IF;
  DELETE FROM spawn._schedules s WHERE s.id = unschedule.id;
END
$$;
COMMENT ON FUNCTION spawn.unschedule(bigint) IS 'Removes a cron schedule';

-- Snapshots of revisions that were replaced since: the snapshot of an actor's current revision
-- is its instance row (snapshot_revision = revision), and the write that replaces that revision
-- copies it here with its snapshot time (src/history.cpp), so spawn.state_history, restore and
-- replay see every snapshot as before without a second copy of each idle actor's state.
-- Fixed-width columns first: no alignment padding between them and the texts.
CREATE TABLE spawn._history (
  recorded_at timestamptz NOT NULL DEFAULT now(),
  revision bigint NOT NULL,
  key_id bigint NOT NULL,            -- the ciphertext is the one the state row had at that revision
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  nonce bytea NOT NULL,
  ciphertext bytea NOT NULL,
  PRIMARY KEY (system, actor, revision),
  FOREIGN KEY (system, actor) REFERENCES spawn._instances (system, name) ON DELETE CASCADE
);
COMMENT ON TABLE spawn._history IS 'Snapshots of replaced revisions; the newest snapshot of a current revision is its instance row (internal)';
CREATE INDEX ON spawn._history (recorded_at);

-- How far the launcher's retention sweeps have looked (bgworker/sweeps.cpp): rows recorded
-- before done_until were examined. Written at most once a minute.
CREATE TABLE spawn._sweep_marks (
  sweep text PRIMARY KEY CHECK (sweep IN ('history', 'journal')),
  done_until timestamptz NOT NULL
);
COMMENT ON TABLE spawn._sweep_marks IS 'Progress of the retention sweeps (internal)';
SELECT pg_catalog.pg_extension_config_dump('spawn._history', '');

CREATE FUNCTION spawn.state_history(actor text, system text DEFAULT 'spawn-system',
    OUT revision bigint, OUT recorded_at timestamptz, OUT state jsonb)
  RETURNS SETOF record
  LANGUAGE c STABLE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_state_history';
COMMENT ON FUNCTION spawn.state_history(text, text) IS 'Snapshotted revisions of an actor with their states (read privilege)';

CREATE FUNCTION spawn.restore(actor text, revision bigint, system text DEFAULT 'spawn-system')
  RETURNS jsonb
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_restore';
COMMENT ON FUNCTION spawn.restore(text, bigint, text) IS 'Makes a snapshotted revision the current state again (as a new revision)';

-- ---------------------------------------------------------------------------------------------
-- Workflows: side effects, broadcasts, pipe and forward
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION spawn.effect(actor text, action text, payload jsonb DEFAULT NULL,
    delay_ms bigint DEFAULT 0, system text DEFAULT NULL, register_ref text DEFAULT NULL)
  RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
  -- Refused where it is built, not later when the workflow runs.
  IF delay_ms IS NULL OR delay_ms NOT BETWEEN 0 AND 315360000000 THEN
    RAISE EXCEPTION 'delay_ms must be between 0 and 315360000000 milliseconds (10 years)'
      USING ERRCODE = 'invalid_parameter_value', DETAIL = format('delay_ms was %s.', coalesce(delay_ms::text, 'NULL')),
            HINT = 'Pass delay_ms => 0 for an effect delivered as soon as the invocation commits.';
  END IF;
  RETURN jsonb_build_object('actor', actor, 'action', action, 'delay_ms', delay_ms)
    || CASE WHEN payload IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('payload', payload) END
    || CASE WHEN system IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('system', system) END
    || CASE WHEN register_ref IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('register_ref', register_ref) END;
END
$$;
COMMENT ON FUNCTION spawn.effect(text, text, jsonb, bigint, text, text) IS 'One side effect: a cast the handler''s invocation sends when it commits';

CREATE FUNCTION spawn.with_effects(value spawn.value, VARIADIC effects jsonb[]) RETURNS spawn.value
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ROW(value.state, value.response,
             coalesce(value.workflow, '{}'::jsonb) || jsonb_build_object('effects',
               coalesce(value.workflow->'effects', '[]'::jsonb) || to_jsonb(effects)))::spawn.value
$$;
COMMENT ON FUNCTION spawn.with_effects(spawn.value, jsonb[]) IS 'Adds side effects (spawn.effect) to a handler result';

CREATE FUNCTION spawn.with_broadcast(value spawn.value, channel text, action text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
  RETURNS spawn.value
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT ROW(value.state, value.response,
             coalesce(value.workflow, '{}'::jsonb) || jsonb_build_object('broadcast',
               jsonb_build_object('channel', channel)
               || CASE WHEN action IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('action', action) END
               || CASE WHEN payload IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('payload', payload) END))::spawn.value
$$;
COMMENT ON FUNCTION spawn.with_broadcast(spawn.value, text, text, jsonb) IS 'Adds a broadcast to a channel to a handler result';

CREATE FUNCTION spawn._route(value spawn.value, kind text, actor text, action text, register_ref text,
    system text)
  RETURNS spawn.value
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
  existing text := CASE WHEN value.workflow ? 'pipe' THEN 'pipe'
                        WHEN value.workflow ? 'forward' THEN 'forward' END;
BEGIN
  -- One value leads to one target: a second pipe or forward would silently replace the first.
  IF existing IS NOT NULL THEN
    RAISE EXCEPTION 'the value already has a %', existing
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('Adding a %s to %s.%s would replace its %s to %s.%s.', kind, actor, action,
                            existing, value.workflow->existing->>'actor', value.workflow->existing->>'action'),
            HINT = 'A workflow has one pipe or one forward; chain further steps in the target''s handler.';
  END IF;
  RETURN ROW(value.state, value.response,
             coalesce(value.workflow, '{}'::jsonb) || jsonb_build_object(kind,
               jsonb_build_object('actor', actor, 'action', action)
               || CASE WHEN register_ref IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('register_ref', register_ref) END
               || CASE WHEN system IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('system', system) END))::spawn.value;
END
$$;
COMMENT ON FUNCTION spawn._route(spawn.value, text, text, text, text, text) IS 'Sets the pipe or forward of a handler result';

CREATE FUNCTION spawn.pipe(value spawn.value, actor text, action text, register_ref text DEFAULT NULL,
    system text DEFAULT NULL)
  RETURNS spawn.value
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT spawn._route(value, 'pipe', actor, action, register_ref, system) $$;
COMMENT ON FUNCTION spawn.pipe(spawn.value, text, text, text, text) IS 'This action''s response becomes the payload of another actor''s action, whose reply is returned';

CREATE FUNCTION spawn.forward(value spawn.value, actor text, action text, register_ref text DEFAULT NULL,
    system text DEFAULT NULL)
  RETURNS spawn.value
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT spawn._route(value, 'forward', actor, action, register_ref, system) $$;
COMMENT ON FUNCTION spawn.forward(spawn.value, text, text, text, text) IS 'The original payload goes to another actor''s action, whose reply is returned';

CREATE FUNCTION spawn.broadcast(channel text, action text DEFAULT NULL, payload jsonb DEFAULT NULL,
    system text DEFAULT 'spawn-system')
  RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_broadcast';
COMMENT ON FUNCTION spawn.broadcast(text, text, jsonb, text)
  IS 'Sends one message to every subscriber of a channel, in this transaction; returns how many';

-- ---------------------------------------------------------------------------------------------
-- Event journal (register_actor(..., journal => true))
-- ---------------------------------------------------------------------------------------------

CREATE TABLE spawn._journal (
  system text COLLATE "C" NOT NULL,
  actor text COLLATE "C" NOT NULL,
  revision bigint NOT NULL,          -- the revision this entry produced
  action text,                       -- the action that ran; NULL for a spawn.restore
  restored_from bigint,              -- for a spawn.restore: the snapshot it brought back
  key_id bigint NOT NULL,            -- the entry is sealed like state, bound to (system, actor, revision)
  nonce bytea NOT NULL,
  entry bytea NOT NULL,              -- {"payload", "response", "metadata", "caller", "digest"}
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, actor, revision),
  FOREIGN KEY (system, actor) REFERENCES spawn._instances (system, name) ON DELETE CASCADE
);
COMMENT ON TABLE spawn._journal IS 'Every state change of journaled actors, encrypted (internal; read spawn.journal)';
CREATE INDEX ON spawn._journal (recorded_at);
SELECT pg_catalog.pg_extension_config_dump('spawn._journal', '');

CREATE FUNCTION spawn.journal(actor text, system text DEFAULT 'spawn-system',
    from_revision bigint DEFAULT 1,
    OUT revision bigint, OUT action text, OUT payload jsonb, OUT response jsonb,
    OUT metadata jsonb, OUT restored_from bigint, OUT recorded_at timestamptz)
  RETURNS SETOF record
  LANGUAGE c STABLE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_journal';
COMMENT ON FUNCTION spawn.journal(text, text, bigint) IS 'The journaled state changes of an actor, decrypted (read privilege)';

CREATE FUNCTION spawn.replay(actor text, to_revision bigint DEFAULT NULL,
    system text DEFAULT 'spawn-system',
    OUT revision bigint, OUT state jsonb, OUT matches boolean, OUT first_mismatch bigint,
    OUT from_snapshot bigint, OUT replayed integer)
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_replay';
COMMENT ON FUNCTION spawn.replay(text, bigint, text)
  IS 'Rebuilds a revision by re-running the journal from the nearest snapshot; reports whether it matches (read privilege)';

-- ---------------------------------------------------------------------------------------------
-- Projections (CQRS read models)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE spawn._projections (
  id serial PRIMARY KEY,
  system text COLLATE "C" NOT NULL REFERENCES spawn.systems (name),
  name text COLLATE "C" NOT NULL,
  read_model regclass NOT NULL,      -- the user's table; cleared by spawn.rebuild_projection
  handler regprocedure NOT NULL,     -- handler(actor text, state jsonb, revision bigint)
  signature text NOT NULL,           -- the handler as created, for messages after it is dropped
  mode text NOT NULL CHECK (mode IN ('strict', 'async')),
  owner regrole NOT NULL,            -- the role that created it; the handler runs as this role
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (system, name)
);
COMMENT ON TABLE spawn._projections IS 'Projections of actor states into read-model tables (internal; read spawn.projections)';

CREATE TABLE spawn._projection_sources (
  projection_id integer NOT NULL REFERENCES spawn._projections ON DELETE CASCADE,
  definition_id integer NOT NULL REFERENCES spawn._definitions ON DELETE CASCADE,
  PRIMARY KEY (projection_id, definition_id)
);
COMMENT ON TABLE spawn._projection_sources IS 'The actors (named ones, or unnamed templates for all their instances) a projection follows';
CREATE INDEX ON spawn._projection_sources (definition_id);

SELECT pg_catalog.pg_extension_config_dump('spawn._projections', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._projections_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('spawn._projection_sources', '');

CREATE VIEW spawn.projections AS
  SELECT p.system COLLATE "default" AS system, p.name COLLATE "default" AS name, p.mode,
         p.read_model, p.handler,
         ARRAY(SELECT d.name COLLATE "default" FROM spawn._projection_sources s
               JOIN spawn._definitions d ON d.id = s.definition_id
               WHERE s.projection_id = p.id ORDER BY d.name) AS actors,
         p.owner, p.created_at
  FROM spawn._projections p
  WHERE pg_has_role(p.owner, 'USAGE');
COMMENT ON VIEW spawn.projections IS 'Projections with their read-model table, handler, mode and source actors';
GRANT SELECT ON spawn.projections TO PUBLIC;

CREATE FUNCTION spawn._project_all(projection_id integer, clear boolean) RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_project_all';
COMMENT ON FUNCTION spawn._project_all(integer, boolean) IS 'Runs a projection''s handler on the current state of every actor it follows (its creator only)';

-- Resolves a projection handler with the caller's search_path: (text, jsonb, bigint).
CREATE FUNCTION spawn._resolve_projection_handler(handler text) RETURNS regprocedure
  LANGUAGE plpgsql STABLE
AS $$
DECLARE
  found_function regprocedure;
BEGIN
  IF handler IS NULL OR handler OPERATOR(pg_catalog.=) '' THEN
    RAISE EXCEPTION 'projection handler must be a function name'
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'A projection handler takes (actor text, state jsonb, revision bigint).';
  END IF;
  found_function := pg_catalog.to_regprocedure(
    pg_catalog.split_part(handler, '(', 1) OPERATOR(pg_catalog.||) '(text, jsonb, bigint)');
  IF found_function IS NULL THEN
    RAISE EXCEPTION 'projection handler %(text, jsonb, bigint) does not exist', pg_catalog.split_part(handler, '(', 1)
      USING ERRCODE = 'undefined_function',
            HINT = 'A projection handler takes (actor text, state jsonb, revision bigint).';
  END IF;
  RETURN found_function;
END
$$;
COMMENT ON FUNCTION spawn._resolve_projection_handler(text) IS 'Resolves a projection handler name with the caller''s search_path';

CREATE FUNCTION spawn._create_projection(name text, actors text[], handler regprocedure,
    read_model regclass, mode text, system text)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  creator constant oid := spawn._caller();
  projection_id integer;
  source_name text;
  source record;
  template_name text;
BEGIN
  PERFORM spawn._check_name('projection', name);
  PERFORM spawn._require_system(system);
  IF mode IS NULL OR mode NOT IN ('strict', 'async') THEN
    RAISE EXCEPTION 'invalid projection mode "%"', mode
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'strict updates the read model in the invoking transaction; async through the mailbox.';
  END IF;
  IF actors IS NULL OR cardinality(actors) = 0 OR array_position(actors, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'a projection needs at least one actor, and no null names'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF handler IS NULL THEN
    RAISE EXCEPTION 'projection handler must not be null' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = handler AND p.prokind = 'f' AND NOT p.proretset
                 AND p.pronargs = 3 AND p.proargtypes[0] = 'text'::regtype
                 AND p.proargtypes[1] = 'jsonb'::regtype AND p.proargtypes[2] = 'int8'::regtype) THEN
    RAISE EXCEPTION 'projection handler % has the wrong signature', handler
      USING ERRCODE = 'invalid_function_definition',
            HINT = 'A projection handler takes (actor text, state jsonb, revision bigint).';
  END IF;
  IF read_model IS NULL OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = read_model AND c.relkind IN ('r', 'p')) THEN
    RAISE EXCEPTION 'read model % is not a table', read_model
      USING ERRCODE = 'wrong_object_type';
  END IF;
  IF NOT has_table_privilege(creator, read_model, 'INSERT') OR NOT has_table_privilege(creator, read_model, 'DELETE') THEN
    RAISE EXCEPTION 'permission denied for read model %', read_model
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'The projection''s handler writes the table and a rebuild clears it: it needs INSERT and DELETE.';
  END IF;
  IF NOT has_function_privilege(creator, handler, 'EXECUTE') THEN
    RAISE EXCEPTION 'permission denied for function %', handler USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT 1 FROM spawn._projections p WHERE p.system = _create_projection.system AND p.name = _create_projection.name) THEN
    RAISE EXCEPTION 'projection "%" already exists in system "%"', name, system
      USING ERRCODE = 'duplicate_object', HINT = 'Drop it first with spawn.drop_projection.';
  END IF;
  INSERT INTO spawn._projections (system, name, read_model, handler, signature, mode, owner)
    VALUES (system, name, read_model, handler, handler::text, mode, creator) RETURNING id INTO projection_id;
  FOREACH source_name IN ARRAY actors LOOP
    PERFORM spawn._check_name('actor', source_name);
    PERFORM spawn._lock_name(system, source_name);
    SELECT d.id, d.kind, d.stateful INTO source FROM spawn._definitions d
      WHERE d.system = _create_projection.system AND d.name = source_name;
    IF NOT FOUND THEN
      SELECT d.name INTO template_name FROM spawn._instances i JOIN spawn._definitions d ON d.id = i.definition_id
        WHERE i.system = _create_projection.system AND i.name = source_name;
      IF FOUND THEN
        RAISE EXCEPTION 'actor "%" is an instance of "%"', source_name, template_name
          USING ERRCODE = 'wrong_object_type',
                HINT = format('A projection follows a whole template: name %L.', template_name);
      END IF;
      RAISE EXCEPTION 'actor "%" does not exist in system "%"', source_name, system
        USING ERRCODE = 'undefined_object',
              HINT = 'A projection follows registered named actors, or unnamed templates (all their instances).';
    END IF;
    IF NOT source.stateful THEN
      RAISE EXCEPTION 'actor "%" is % and has no state to project', source_name,
        CASE WHEN source.kind = 'pooled' THEN 'pooled' ELSE 'stateless' END
        USING ERRCODE = 'wrong_object_type';
    END IF;
    PERFORM spawn._require_registrant(source.id, creator);
    INSERT INTO spawn._projection_sources VALUES (projection_id, source.id) ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM spawn._catalog_changed();
  RETURN projection_id;
END
$$;
COMMENT ON FUNCTION spawn._create_projection(text, text[], regprocedure, regclass, text, text)
  IS 'Stores a projection whose handler spawn.create_projection resolved; returns its id';

CREATE FUNCTION spawn.create_projection(name text, actors text[], handler text,
    read_model regclass, mode text DEFAULT 'strict', system text DEFAULT 'spawn-system',
    populate boolean DEFAULT true)
  RETURNS bigint
  LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  projection_id constant integer := spawn._create_projection(name, actors,
    spawn._resolve_projection_handler(handler), read_model, mode, system);
BEGIN
  -- Populated here, as the caller with the caller's search_path, like every later update.
  IF populate IS DISTINCT FROM false THEN
    RETURN spawn._project_all(projection_id, false);
  END IF;
  RETURN 0;
END
$$;
COMMENT ON FUNCTION spawn.create_projection(text, text[], text, regclass, text, text, boolean)
  IS 'Keeps a read-model table up to date from actor states; returns how many actors it projected now';

-- Finds a projection the caller may manage; raises 42704 or 42501.
CREATE FUNCTION spawn._require_projection(name text, system text) RETURNS integer
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  p record;
BEGIN
  PERFORM spawn._check_name('projection', name);
  PERFORM spawn._require_system(system);
  SELECT x.id, x.owner INTO p FROM spawn._projections x
    WHERE x.system = _require_projection.system AND x.name = _require_projection.name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'projection "%" does not exist in system "%"', name, system
      USING ERRCODE = 'undefined_object', HINT = 'See spawn.projections.';
  END IF;
  IF NOT pg_has_role(spawn._caller(), p.owner, 'MEMBER') THEN
    RAISE EXCEPTION 'permission denied for projection "%"', name
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('Only role %s, which created it, can rebuild or drop it.', pg_get_userbyid(p.owner));
  END IF;
  RETURN p.id;
END
$$;
COMMENT ON FUNCTION spawn._require_projection(text, text) IS 'The id of a projection the caller created';

CREATE FUNCTION spawn.rebuild_projection(name text, system text DEFAULT 'spawn-system') RETURNS bigint
  LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  RETURN spawn._project_all(spawn._require_projection(name, system), true);
END
$$;
COMMENT ON FUNCTION spawn.rebuild_projection(text, text)
  IS 'Empties the read model and projects the current state of every followed actor; returns how many';

CREATE FUNCTION spawn.drop_projection(name text, system text DEFAULT 'spawn-system') RETURNS void
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET spawn.run_as_owner = on
AS $$
DECLARE
  projection_id constant integer := spawn._require_projection(name, system);
BEGIN
  DELETE FROM spawn._projections p WHERE p.id = projection_id;
  DELETE FROM spawn._mailbox m
    WHERE m.source = 'projection' AND m.system = drop_projection.system AND m.action = drop_projection.name;
  PERFORM spawn._catalog_changed();
END
$$;
COMMENT ON FUNCTION spawn.drop_projection(text, text) IS 'Stops a projection (its read-model table is left as it is)';

-- ---------------------------------------------------------------------------------------------
-- Keys (docs/security.md): which keys sealed this database's values, and online rotation
-- ---------------------------------------------------------------------------------------------

CREATE TABLE spawn._keys (
  key_id bigint PRIMARY KEY,         -- the key's public id, recorded on every sealed value
  first_used_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz             -- set by spawn.retire_key once no value needs it
);
COMMENT ON TABLE spawn._keys IS 'State store keys this database''s values were sealed with (ids only, internal)';
-- Not dumped: a restored database records its keys anew from its values, so a restore into a
-- running server never collides with the launcher recording the active key.

CREATE FUNCTION spawn.rotate_key(batch_size integer DEFAULT 1000) RETURNS bigint
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_rotate_key';
COMMENT ON FUNCTION spawn.rotate_key(integer)
  IS 'Re-seals up to batch_size values of each table under the active key; returns how many (0: done)';
REVOKE ALL ON FUNCTION spawn.rotate_key(integer) FROM PUBLIC;

CREATE FUNCTION spawn.retire_key(key_id bigint) RETURNS void
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_retire_key';
COMMENT ON FUNCTION spawn.retire_key(bigint)
  IS 'Records that an old key is no longer needed (refused while values are sealed under it)';
REVOKE ALL ON FUNCTION spawn.retire_key(bigint) FROM PUBLIC;

CREATE FUNCTION spawn._configured_keys(OUT key_id bigint, OUT active boolean) RETURNS SETOF record
  LANGUAGE c VOLATILE PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'spawn_configured_keys';
COMMENT ON FUNCTION spawn._configured_keys() IS 'Ids of the keys this server was started with, the active one first';
REVOKE ALL ON FUNCTION spawn._configured_keys() FROM PUBLIC;

CREATE VIEW spawn.key_status AS
  WITH sealed AS (
    SELECT k.key_id, count(*) AS sealed_values FROM (
      SELECT key_id FROM spawn._instances UNION ALL SELECT key_id FROM spawn._history
      UNION ALL SELECT key_id FROM spawn._journal UNION ALL SELECT key_id FROM spawn._mailbox
      UNION ALL SELECT key_id FROM spawn._dead_letters UNION ALL SELECT key_id FROM spawn._replies
      UNION ALL SELECT key_id FROM spawn._schedules) k
    WHERE k.key_id IS NOT NULL GROUP BY k.key_id)
  SELECT coalesce(s.key_id, c.key_id, r.key_id) AS key_id, coalesce(c.active, false) AS active,
         c.key_id IS NOT NULL AS configured, coalesce(s.sealed_values, 0) AS sealed_values,
         r.first_used_at, r.retired_at
  FROM sealed s
  FULL JOIN spawn._configured_keys() c ON c.key_id = s.key_id
  FULL JOIN spawn._keys r ON r.key_id = coalesce(s.key_id, c.key_id);
COMMENT ON VIEW spawn.key_status IS 'Each key: configured, active, how many values it seals; a rotation is done when only the active key seals values';
REVOKE ALL ON spawn.key_status FROM PUBLIC;
