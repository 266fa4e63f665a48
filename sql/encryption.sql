-- The state store: ciphertext only, authenticated, bound to its actor and revision.
\set SHOW_CONTEXT never

CREATE FUNCTION vault_put(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"stored"', state || payload) $$;
SELECT spawn.register_actor('vault', actions => '{"put": "vault_put"}', kind => 'unnamed');
SELECT spawn.invoke('v-a', 'put', '{"secret": "tangerine-7731"}', register_ref => 'vault');
SELECT spawn.invoke('v-b', 'put', '{"secret": "mulberry-1904"}', register_ref => 'vault');

-- The table holds a 24-byte nonce, a ciphertext with a 16-byte tag, and a key id.
SELECT name, revision, length(nonce) AS nonce_bytes,
       length(ciphertext) - length(convert_to(spawn.state(name)::text, 'UTF8')) > 0 AS has_tag,
       key_id IS NOT NULL AS has_key_id
  FROM spawn._instances WHERE name IN ('v-a', 'v-b') ORDER BY name;

-- The plaintext appears neither in the columns nor in the table's file on disk, while the
-- ciphertext does (so the check reads the right bytes).
SELECT position(convert_to('tangerine', 'UTF8') IN ciphertext) AS in_column
  FROM spawn._instances WHERE name = 'v-a';
CHECKPOINT;
SELECT position(convert_to('tangerine', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('spawn._instances'))) AS plaintext_in_file,
       position((SELECT ciphertext FROM spawn._instances WHERE name = 'v-a')
                IN pg_read_binary_file(pg_relation_filepath('spawn._instances'))) > 0 AS ciphertext_in_file;

-- Every write draws a fresh nonce.
CREATE TEMP TABLE before AS SELECT nonce FROM spawn._instances WHERE name = 'v-a';
SELECT spawn.invoke('v-a', 'put', '{"n": 1}');
SELECT i.nonce <> b.nonce AS new_nonce FROM spawn._instances i, before b WHERE i.name = 'v-a';

-- A tampered ciphertext fails authentication.
CREATE TEMP TABLE saved AS SELECT * FROM spawn._instances WHERE name = 'v-a';
UPDATE spawn._instances SET ciphertext = set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1)
  WHERE name = 'v-a';
SELECT spawn.invoke('v-a', 'get');
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.invoke('v-a', 'put', '{"n": 2}');
\echo :LAST_ERROR_SQLSTATE

-- A row copied onto another actor does not decrypt there.
UPDATE spawn._instances i SET ciphertext = s.ciphertext, nonce = s.nonce, revision = s.revision
  FROM saved s WHERE i.name = 'v-b';
SELECT spawn.invoke('v-b', 'get');
\echo :LAST_ERROR_SQLSTATE

-- Nor does a replay of the same actor's row under another revision.
UPDATE spawn._instances i SET ciphertext = s.ciphertext, nonce = s.nonce, revision = s.revision + 1
  FROM saved s WHERE i.name = 'v-a';
SELECT spawn.invoke('v-a', 'get');
\echo :LAST_ERROR_SQLSTATE

-- A row sealed under another key says so (the detail names both key ids).
UPDATE spawn._instances i SET ciphertext = s.ciphertext, nonce = s.nonce, revision = s.revision,
  key_id = s.key_id + 1 FROM saved s WHERE i.name = 'v-a';
\set VERBOSITY terse
SELECT spawn.invoke('v-a', 'get');
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE

-- Restoring the original row restores the actor.
UPDATE spawn._instances i SET ciphertext = s.ciphertext, nonce = s.nonce, revision = s.revision,
  key_id = s.key_id FROM saved s WHERE i.name = 'v-a';
SELECT spawn.invoke('v-a', 'get');

-- The key setting is hidden and superuser-only.
SHOW spawn.statestore_key;

-- Non-superusers invoke actors only when granted, and cannot read the state table or call
-- spawn.state without the read privilege.
CREATE ROLE spawn_app;
SET ROLE spawn_app;
SELECT spawn.invoke('v-a', 'put', '{"by": "app"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT spawn.grant('invoke', 'vault', 'spawn_app');
SET ROLE spawn_app;
SELECT spawn.invoke('v-a', 'put', '{"by": "app"}');
SELECT name, revision FROM spawn.actors WHERE name = 'v-a';
SELECT ciphertext FROM spawn._instances;
\echo :LAST_ERROR_SQLSTATE
SELECT spawn.state('v-a');
\echo :LAST_ERROR_SQLSTATE
SHOW spawn.statestore_key;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Execute privilege on the handler is checked for the invoking role.
REVOKE EXECUTE ON FUNCTION vault_put(jsonb, jsonb) FROM PUBLIC;
SET ROLE spawn_app;
SELECT spawn.invoke('v-a', 'put', '{"by": "app"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT spawn.revoke('all', 'vault', 'spawn_app');
DROP OWNED BY spawn_app;
DROP ROLE spawn_app;
