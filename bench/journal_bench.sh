#!/usr/bin/env bash
# Benchmark of the event journal and projections, in one run on one server (pgbench, N clients,
# 1,000 actors per variant, random actor per transaction):
#   plain        spawn.invoke on an actor with neither (the reference of the ratios);
#   journal      the same actor type registered with journal => true;
#   strict       with a strict projection into a read-model table;
#   async        with an async projection (the invoking side only);
#   both         journal and strict projection together;
#   hand-written the same work without spawn, as users write it by hand: UPDATE a counter row,
#                INSERT an event row, upsert the read-model row, in one transaction (unencrypted).
# Then a replay of 10,000 journal entries, timed.
# Usage: bench/journal_bench.sh [--seconds S] [--clients N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
seconds=10
clients=8
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--clients N]"; exit 2 ;;
  esac
done
bench_cluster journal 54530 "spawn.journal_retention = 0"
dir=$BENCH_DIR
sql() { bench_sql "$@"; }

sql -q >/dev/null <<'SQL'
CREATE TABLE read_model (account text PRIMARY KEY, total bigint NOT NULL, revision bigint NOT NULL);
CREATE FUNCTION project(actor text, state jsonb, revision bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO public.read_model VALUES (actor, (state->>'total')::bigint, revision)
  ON CONFLICT (account) DO UPDATE SET total = excluded.total, revision = excluded.revision
$$;
CREATE TABLE async_model (LIKE read_model INCLUDING ALL);
CREATE FUNCTION project_async(actor text, state jsonb, revision bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO public.async_model VALUES (actor, (state->>'total')::bigint, revision)
  ON CONFLICT (account) DO UPDATE SET total = excluded.total, revision = excluded.revision
$$;
SELECT spawn.register_actor('plain', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.register_actor('journal', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed', journal => true);
SELECT spawn.register_actor('strict', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.register_actor('async', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT spawn.register_actor('both', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed', journal => true);
SELECT count(spawn.spawn_actor(t || '-' || i, t)) FROM generate_series(1, 1000) i,
  unnest(ARRAY['plain', 'journal', 'strict', 'async', 'both']) t;
SELECT spawn.create_projection('strict', '{strict}', 'project', 'read_model');
SELECT spawn.create_projection('both', '{both}', 'project', 'read_model');
SELECT spawn.create_projection('async', '{async}', 'project_async', 'async_model', mode => 'async');
-- The hand-written baseline.
CREATE TABLE counters (account text PRIMARY KEY, total bigint NOT NULL, revision bigint NOT NULL);
CREATE TABLE events (account text NOT NULL, revision bigint NOT NULL, payload jsonb NOT NULL,
                     recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account, revision));
INSERT INTO counters SELECT 'h-' || i, 0, 0 FROM generate_series(1, 1000) i;
SQL

scripts=$dir/scripts
mkdir -p "$scripts"
for t in plain journal strict async both; do
  cat > "$scripts/$t.sql" <<S
\set n random(1, 1000)
SELECT spawn.invoke('$t-' || :n, 'add', '{"value": 1}');
S
done
cat > "$scripts/hand.sql" <<'S'
\set n random(1, 1000)
BEGIN;
UPDATE counters SET total = total + 1, revision = revision + 1 WHERE account = 'h-' || :n RETURNING total AS t, revision AS r \gset
INSERT INTO events VALUES ('h-' || :n, :r, '{"value": 1}');
INSERT INTO read_model VALUES ('h-' || :n, :t, :r) ON CONFLICT (account) DO UPDATE SET total = excluded.total, revision = excluded.revision;
COMMIT;
S
chmod -R a+rX "$dir"
tps() { bench_tps "$scripts/$1.sql" "$clients" "$seconds"; }
echo "invokes/s with $clients clients, $seconds s each"
plain=$(tps plain)
printf '  %-28s %7s\n' "plain" "$plain"
for t in journal strict async both; do
  v=$(tps "$t")
  printf '  %-28s %7s   ratio to plain %.2f\n' "$t" "$v" "$(echo "$v / $plain" | bc -l)"
  [ "$t" = both ] && both=$v
done
hand=$(tps hand)
printf '  %-28s %7s   journal+strict / hand-written %.2f\n' "hand-written (3 statements)" "$hand" \
  "$(echo "$both / $hand" | bc -l)"
bench_wait_drained

echo "replay of 10,000 journal entries"
sql -q -c "SELECT spawn.register_actor('long', actions => '{\"add\": \"public.incrementor_add\"}', journal => true, snapshot_timeout => 3600000)" >/dev/null
sql -q -c "DO \$\$ BEGIN FOR i IN 1..10000 LOOP PERFORM spawn.invoke('long', 'add', '{\"value\": 1}'); END LOOP; END \$\$"
replay=$(sql -t -A -c "\\timing on" -c "SELECT matches, replayed FROM spawn.replay('long')")
echo "  $(head -n 1 <<<"$replay" | tr '|' ' ' | awk '{print "matches " $1 ", " $2 " entries"}')," \
  "$(awk '/^Time:/ {printf "%.0f ms", $2}' <<<"$replay")"
