#!/usr/bin/env bash
# Projections under load and crashes: a strict read model equals the states after 8 concurrent
# clients; an async read model catches up with every state after the postmaster is killed in
# the middle of a burst of casts; queued async updates of one actor run once per batch; a
# rebuild during writes leaves no stale row.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster projection 54510
create_incrementor
q <<'SQL' >/dev/null
SELECT spawn.register_actor('acct', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
CREATE TABLE balances (account text PRIMARY KEY, total bigint NOT NULL, revision bigint NOT NULL);
CREATE FUNCTION project_balance(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO public.balances VALUES (actor, (state->>'total')::bigint, revision)
  ON CONFLICT (account) DO UPDATE SET total = excluded.total, revision = excluded.revision
$$;
SELECT spawn.create_projection('balances', '{acct}', 'project_balance', 'balances');
CREATE TABLE balances_async (account text PRIMARY KEY, total bigint NOT NULL, revision bigint NOT NULL);
CREATE FUNCTION project_async(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO public.balances_async VALUES (actor, (state->>'total')::bigint, revision)
  ON CONFLICT (account) DO UPDATE SET total = excluded.total, revision = excluded.revision
  WHERE balances_async.revision < excluded.revision
$$;
SELECT spawn.create_projection('balances_async', '{acct}', 'project_async', 'balances_async', mode => 'async');
SQL

# The read model as it should be: one row per account holding its state and revision.
mismatches() {
  q -c "SELECT count(*) FROM spawn.actors a FULL JOIN $1 b ON b.account = a.name
        WHERE a.parent = 'acct' AND a.revision > 0 AND (b.account IS NULL
          OR b.revision <> a.revision OR b.total <> (spawn.state(a.name)->>'total')::bigint)
          OR a.name IS NULL"
}

work=$SPAWN_TEST_DIR/projection_run
mkdir -p "$work"
cat > "$work/invoke.sql" <<'SQL'
\set a random(1, 50)
SELECT spawn.invoke('a-' || :a, 'add', '{"value": 1}', register_ref => 'acct');
SQL
cat > "$work/cast.sql" <<'SQL'
\set a random(1, 50)
SELECT spawn.cast('a-' || :a, 'add', '{"value": 1}', register_ref => 'acct');
SQL
chmod -R a+rwx "$work"
as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -t 500 -f "$work/invoke.sql" postgres \
  >"$work/invoke.out" 2>&1
check "4,000 invokes counted" 4000 "$(q -c "SELECT sum(total) FROM balances")"
check "the strict read model equals every state and revision" 0 "$(mismatches balances)"
wait_mailbox_empty 60
check "the async read model caught up" 0 "$(mismatches balances_async)"

# Kill the postmaster in the middle of a burst of casts; after recovery both read models match.
(as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -t 3000 -f "$work/cast.sql" postgres \
  >"$work/cast.out" 2>&1 || true) &
bench=$!
sleep 2
crash_server KILL
wait "$bench" || true
wait_mailbox_empty 60
check "the mailbox drained after the crash" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"
check "no dead letters" 0 "$(q -c "SELECT count(*) FROM spawn._dead_letters")"
counted=$(q -c "SELECT sum(total) FROM balances")
check_true "the crash came mid-way ($counted of 28,000 counted)" test "$counted" -gt 4000 -a "$counted" -lt 28000
check "after the crash the strict read model equals every state" 0 "$(mismatches balances)"
check "after the crash the async read model equals every state" 0 "$(mismatches balances_async)"

# 50 invokes of one account in one transaction queue 50 async updates; the worker takes them
# in one batch and runs only the last, on the newest state.
q <<'SQL' >/dev/null
CREATE TABLE projection_calls (account text, revision bigint);
CREATE FUNCTION project_counted(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$ INSERT INTO public.projection_calls VALUES (actor, revision) $$;
SELECT spawn.register_actor('burst', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.create_projection('counted', '{burst}', 'project_counted', 'projection_calls', mode => 'async');
SELECT count(spawn.invoke('b-1', 'add', '{"value": 1}', register_ref => 'burst')) FROM generate_series(1, 50);
SQL
wait_mailbox_empty 60
check "50 queued updates ran once, on revision 50" "1|50" \
  "$(q -c "SELECT count(*), max(revision) FROM projection_calls")"

# A rebuild while clients write: the read model still equals the states at the end.
(as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 4 -j 2 -T 3 -f "$work/invoke.sql" postgres \
  >"$work/rebuild.out" 2>&1) &
bench=$!
sleep 1
check "the rebuild projected every account" 50 "$(q -c "SELECT spawn.rebuild_projection('balances')")"
wait "$bench"
check "no stale rows after a rebuild during writes" 0 "$(mismatches balances)"
finish
