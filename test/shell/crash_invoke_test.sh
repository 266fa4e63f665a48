#!/usr/bin/env bash
# Nothing acknowledged is lost: 8 pgbench clients invoke one actor and 8 unnamed instances
# while the postmaster is killed with SIGKILL. After restart, every acknowledged invocation
# is in the state, and at most one unacknowledged in-flight invocation per client is too.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster crash_invoke 54440
create_incrementor
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null
q -c "SELECT spawn.register_actor('ctr', actions => '{\"add\": \"public.incrementor_add\"}', kind => 'unnamed')" >/dev/null

work=$SPAWN_TEST_DIR/crash_invoke_run
mkdir -p "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
cat > "$work/invoke.sql" <<'SQL'
\set n random(1, 8)
SELECT spawn.invoke('acc', 'add', '{"value": 1}');
SELECT spawn.invoke('c-' || :n, 'add', '{"value": 1}', register_ref => 'ctr');
SQL
chmod -R a+rwx "$work"
# -l writes one line per completed (acknowledged) transaction.
(cd "$work" && as_pg pgbench -n -h "$DIR" -p "$PORT" -U postgres -c 8 -j 2 -T 30 -l \
   --log-prefix="$work/tx" -f "$work/invoke.sql" postgres >"$work/pgbench.out" 2>&1 || true) &
bench=$!
sleep 4
crash_server KILL
wait "$bench" || true
acked=$(cat "$work"/tx* 2>/dev/null | wc -l)
echo "acknowledged transactions before the crash: $acked"
check_true "the crash happened mid-run (some transactions acknowledged)" test "$acked" -gt 0

total=$(q -c "SELECT (spawn.invoke('acc', 'get')->>'total')::int")
instances=$(q -c "SELECT coalesce(sum((spawn.state(name)->>'total')::int), 0) FROM spawn.actors WHERE parent = 'ctr'")
echo "after restart: acc total $total, instance totals $instances"
check_true "every acknowledged invoke survived (acc)" test "$total" -ge "$acked"
check_true "at most one unacknowledged invoke per client (acc)" test "$total" -le $((acked + 8))
check_true "every acknowledged invoke survived (instances)" test "$instances" -ge "$acked"
check_true "at most one unacknowledged invoke per client (instances)" test "$instances" -le $((acked + 8))
check "state and revision agree" "$total" "$(q -c "SELECT revision FROM spawn.actors WHERE name = 'acc'")"
finish
