-- The v1 SQL contract: the names users rely on exist with the documented shapes and privileges.
BEGIN;
SELECT plan(35);

SELECT has_schema('spawn');
SELECT has_type('spawn', 'value', 'spawn.value exists');
SELECT has_type('spawn', 'context', 'spawn.context exists');
SELECT has_function('spawn', 'create_system', ARRAY['text', 'jsonb']);
SELECT has_function('spawn', 'register_actor',
  ARRAY['text', 'jsonb', 'text', 'text', 'text', 'boolean', 'bigint', 'bigint', 'jsonb', 'jsonb', 'jsonb', 'boolean', 'text']);
SELECT has_function('spawn', 'register_host', ARRAY['text', 'text', 'jsonb']);
SELECT has_function('spawn', 'unregister_host', ARRAY['text']);
SELECT has_view('spawn', 'hosts', 'spawn.hosts lists external actor hosts');
SELECT has_function('spawn', 'unregister_actor', ARRAY['text', 'text']);
SELECT has_function('spawn', 'spawn_actor', ARRAY['text', 'text', 'text']);
SELECT has_function('spawn', 'spawn_actors', ARRAY['text', 'text[]', 'text']);
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
-- Who may call each function. PUBLIC-callable functions check spawn's own privileges inside
-- (the third column: what the caller must hold on the actor, docs/security.md); the others are
-- internal to spawn's SECURITY DEFINER functions. A function missing here fails the test.
CREATE TEMP TABLE callers (signature text, public_may_call boolean, checks text);
INSERT INTO callers VALUES
  ('spawn."cast"(text,text,jsonb,text,bigint,timestamp with time zone,jsonb,text,text)', true, 'invoke'),
  ('spawn."grant"(text,text,text,text)', true, 'owner of the actor or system'),
  ('spawn._actor_is_here(text,text)', false, 'internal'),
  ('spawn._caller()', true, 'none'),
  ('spawn._catalog_changed()', false, 'internal'),
  ('spawn._check_name(text,text)', true, 'none'),
  ('spawn._check_options(text,jsonb)', true, 'none'),
  ('spawn._check_schedules(jsonb,jsonb,jsonb)', true, 'none'),
  ('spawn._configured_keys()', false, 'superuser'),
  ('spawn._create_projection(text,text[],regprocedure,regclass,text,text)', true, 'admin'),
  ('spawn._grant_target(text,text,text,text)', false, 'internal'),
  ('spawn._handler_hint()', true, 'none'),
  ('spawn._handler_shape(text,regprocedure)', true, 'none'),
  ('spawn._lock_name(text,text)', false, 'internal'),
  ('spawn._may(text,text,text,oid)', true, 'none'),
  ('spawn._may_manage(regrole,text,text,boolean)', true, 'none'),
  ('spawn._project_all(integer,boolean)', true, 'projection owner'),
  ('spawn._register_actor(text,jsonb,jsonb,text,text,text,boolean,bigint,bigint,jsonb,jsonb,jsonb,boolean,text)', true, 'admin'),
  ('spawn._require_dead_letter(bigint,boolean)', false, 'internal'),
  ('spawn._require_projection(text,text)', true, 'projection owner'),
  ('spawn._require_registrant(integer,oid)', false, 'internal'),
  ('spawn._require_system(text)', true, 'none'),
  ('spawn._require_system_admin(text,oid)', false, 'internal'),
  ('spawn._resolve_handler(text,text)', true, 'none'),
  ('spawn._resolve_projection_handler(text)', true, 'none'),
  ('spawn._route(spawn.value,text,text,text,text,text)', true, 'none'),
  ('spawn._require_scheduler(text)', true, 'none'),
  ('spawn._spawn_template(text,text)', false, 'internal'),
  ('spawn._hold_template(integer,text,text)', false, 'internal'),
  ('spawn._instances_left(integer)', false, 'internal'),
  ('spawn._wake_workers()', false, 'internal'),
  ('spawn.broadcast(text,text,jsonb,text)', true, 'invoke (others skipped)'),
  ('spawn.create_projection(text,text[],text,regclass,text,text,boolean)', true, 'admin'),
  ('spawn.create_system(text,jsonb)', true, 'CREATE on the database'),
  ('spawn.discard_dead_letter(bigint)', true, 'sender or admin'),
  ('spawn.drop_projection(text,text)', true, 'projection owner'),
  ('spawn.effect(text,text,jsonb,bigint,text,text)', true, 'none'),
  ('spawn.forward(spawn.value,text,text,text,text)', true, 'none'),
  ('spawn.invoke(text,text,jsonb,text,jsonb,text)', true, 'invoke, or read for get'),
  ('spawn.invoke_async(text,text,jsonb,text,text,jsonb,text,text)', true, 'invoke, or read for get'),
  ('spawn.journal(text,text,bigint)', true, 'read'),
  ('spawn.noreply(jsonb)', true, 'none'),
  ('spawn.pipe(spawn.value,text,text,text,text)', true, 'none'),
  ('spawn.rebuild_projection(text,text)', true, 'projection owner'),
  ('spawn.register_actor(text,jsonb,text,text,text,boolean,bigint,bigint,jsonb,jsonb,jsonb,boolean,text)', true, 'admin'),
  ('spawn.register_host(text,text,jsonb)', false, 'EXECUTE granted by a superuser; owner to change'),
  ('spawn.unregister_host(text)', false, 'EXECUTE granted by a superuser; owner'),
  ('spawn._check_host(text,jsonb)', true, 'none'),
  ('spawn._may_bind_host(integer)', true, 'none (the caller only)'),
  ('spawn._bindable_host(text)', false, 'internal'),
  ('spawn._role_named(text)', true, 'none'),
  ('spawn._host_stats()', false, 'internal'),
  ('spawn._visible_host_stats()', true, 'filtered per viewer'),
  ('spawn._scheduled_actions(jsonb,jsonb,text)', true, 'none'),
  ('spawn.replay(text,bigint,text)', true, 'read'),
  ('spawn.reply(jsonb,jsonb)', true, 'none'),
  ('spawn.restore(text,bigint,text)', true, 'admin'),
  ('spawn.result(bigint)', true, 'requester'),
  ('spawn.retire_key(bigint)', false, 'superuser'),
  ('spawn.retry_dead_letter(bigint)', true, 'sender'),
  ('spawn.revoke(text,text,text,text)', true, 'owner of the actor or system'),
  ('spawn.rotate_key(integer)', false, 'superuser'),
  ('spawn.schedule(text,text,text,jsonb,text)', true, 'invoke'),
  ('spawn.scheduler()', true, 'none'),
  ('spawn.spawn_actor(text,text,text)', true, 'spawn'),
  ('spawn.spawn_actors(text,text[],text)', true, 'spawn'),
  ('spawn.state(text,text)', true, 'read'),
  ('spawn.state_history(text,text)', true, 'read'),
  ('spawn.unregister_actor(text,text)', true, 'admin'),
  ('spawn.unschedule(bigint)', true, 'creator or admin'),
  ('spawn.wait(bigint,integer)', true, 'requester'),
  ('spawn.with_broadcast(spawn.value,text,text,jsonb)', true, 'none'),
  ('spawn.with_effects(spawn.value,jsonb[])', true, 'none'),
  ('spawn._worker_stats()', true, 'none');
SELECT set_eq(
  $$ SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.pronamespace = 'spawn'::regnamespace $$,
  $$ SELECT signature FROM callers $$,
  'every function of schema spawn says who may call it');
SELECT results_eq(
  $$ SELECT signature, has_function_privilege('public', signature::regprocedure, 'EXECUTE')
     FROM callers ORDER BY signature $$,
  $$ SELECT signature, public_may_call FROM callers ORDER BY signature $$,
  'PUBLIC may call exactly the functions listed as public');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = 'spawn'::regnamespace
           AND (p.prosecdef OR (p.proconfig @> ARRAY['spawn.run_as_owner=on']
                                AND NOT p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']))),
  0, 'no function is SECURITY DEFINER; every owner-run one fixes its search_path');
SELECT table_privs_are('spawn', '_journal', 'public', ARRAY[]::text[],
  'PUBLIC has no privilege on the journal table');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'spawn' AND obj_description(p.oid, 'pg_proc') IS NULL), 0,
  'every function has a comment');

SELECT * FROM finish();
ROLLBACK;
