-- The v1 SQL contract: the names users rely on exist with the documented shapes and privileges.
BEGIN;
SELECT plan(31);

SELECT has_schema('spawn');
SELECT has_type('spawn', 'value', 'spawn.value exists');
SELECT has_type('spawn', 'context', 'spawn.context exists');
SELECT has_function('spawn', 'create_system', ARRAY['text', 'jsonb']);
SELECT has_function('spawn', 'register_actor',
  ARRAY['text', 'jsonb', 'text', 'text', 'text', 'boolean', 'bigint', 'bigint', 'jsonb', 'jsonb', 'jsonb', 'boolean']);
SELECT has_function('spawn', 'unregister_actor', ARRAY['text', 'text']);
SELECT has_function('spawn', 'spawn_actor', ARRAY['text', 'text', 'text']);
SELECT has_function('spawn', 'invoke', ARRAY['text', 'text', 'jsonb', 'text', 'jsonb', 'text']);
SELECT function_returns('spawn', 'invoke', ARRAY['text', 'text', 'jsonb', 'text', 'jsonb', 'text'], 'jsonb');
SELECT has_function('spawn', 'state', ARRAY['text', 'text']);
SELECT has_function('spawn', 'reply', ARRAY['jsonb', 'jsonb']);
SELECT has_function('spawn', 'noreply', ARRAY['jsonb']);
SELECT has_function('spawn', 'journal', ARRAY['text', 'text', 'bigint']);
SELECT has_function('spawn', 'replay', ARRAY['text', 'bigint', 'text']);
SELECT has_function('spawn', 'create_projection',
  ARRAY['text', 'text[]', 'text', 'regclass', 'text', 'text', 'boolean']);
SELECT has_function('spawn', 'rebuild_projection', ARRAY['text', 'text']);
SELECT has_function('spawn', 'drop_projection', ARRAY['text', 'text']);
SELECT has_view('spawn', 'projections', 'spawn.projections lists projections');
SELECT has_view('spawn', 'actors', 'spawn.actors lists instances');
SELECT has_column('spawn', 'actors', 'kind', 'actors have a kind');
SELECT has_column('spawn', 'actors', 'parent', 'actors have a parent');
SELECT has_column('spawn', 'actors', 'revision', 'actors have a revision');
SELECT has_column('spawn', 'actors', 'status', 'actors have an activation status');
SELECT hasnt_column('spawn', 'actors', 'ciphertext', 'the actors view shows no state');
SELECT results_eq($$ SELECT name FROM spawn.systems WHERE name = 'spawn-system' $$,
  ARRAY['spawn-system'], 'the default system exists after CREATE EXTENSION');
SELECT table_privs_are('spawn', '_instances', 'public', ARRAY[]::text[],
  'PUBLIC has no privilege on the state table');
SELECT function_privs_are('spawn', 'state', ARRAY['text', 'text'], 'public', ARRAY[]::text[],
  'PUBLIC cannot read decrypted state');
SELECT function_privs_are('spawn', 'journal', ARRAY['text', 'text', 'bigint'], 'public', ARRAY[]::text[],
  'PUBLIC cannot read journals');
SELECT function_privs_are('spawn', 'replay', ARRAY['text', 'bigint', 'text'], 'public', ARRAY[]::text[],
  'PUBLIC cannot replay');
SELECT table_privs_are('spawn', '_journal', 'public', ARRAY[]::text[],
  'PUBLIC has no privilege on the journal table');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'spawn' AND obj_description(p.oid, 'pg_proc') IS NULL), 0,
  'every function has a comment');

SELECT * FROM finish();
ROLLBACK;
