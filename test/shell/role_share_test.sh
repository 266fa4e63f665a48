#!/usr/bin/env bash
# Worker slots are work-conserving (docs/scheduler.md, "Who runs a message, and for how long"):
# with the default spawn.max_workers_per_role, one role whose messages are quick drains on every
# worker while no other role has due work, and a worker it borrowed goes back to another role
# promptly; an explicit spawn.max_workers_per_role stays a hard cap. (tenant_test.sh checks that
# slow handlers never borrow the last worker.)
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster role_share 54484 "spawn.workers = 2"
conf=$DIR/data/postgresql.conf
create_alice_and_bob
create_alice_counter
as alice -c "SELECT count(spawn.register_actor('alice-' || g, actions => '{\"add\": \"alice.add\"}')) FROM generate_series(1, 200) g" >/dev/null
as bob <<'SQL' >/dev/null
CREATE SCHEMA bob;
CREATE FUNCTION bob.add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(jsonb_build_object('n', 1), jsonb_build_object('n', 1)) $$;
SELECT spawn.register_actor('bob-counter', actions => '{"add": "bob.add"}');
SQL

# processed_by_worker: "worker1 worker2" messages processed since the workers started.
processed_by_worker() {
  q -c "SELECT string_agg(processed::text, ' ' ORDER BY worker) FROM spawn.worker_stats WHERE kind = 'worker'"
}

# backlog N: alice casts N quick messages over her 200 counters, all due at once.
backlog() {
  as alice -c "SELECT count(spawn.cast('alice-' || (1 + g % 200), 'add', scheduled_to => now() + interval '1 second')) FROM generate_series(1, $1) g" >/dev/null
}

# One role alone: both workers drain it.
read -r before1 before2 <<<"$(processed_by_worker)"
backlog 20000
wait_mailbox_empty 120
read -r after1 after2 <<<"$(processed_by_worker)"
share1=$((after1 - before1))
share2=$((after2 - before2))
smaller=$((share1 < share2 ? share1 : share2))
check "alice's 20,000 messages all ran" 20000 "$((share1 + share2))"
check_true "both workers drained them (worker 1: $share1, worker 2: $share2; each >= 4,000)" \
  [ "$smaller" -ge 4000 ]

# Another role's request is answered promptly while both workers run alice's backlog.
backlog 100000
for _ in $(seq 1 600); do
  [ "$(q -c "SELECT count(*) FROM spawn._mailbox")" -lt 95000 ] && break
  sleep 0.1
done
started=$(date +%s%N)
reply=$(as bob -c "SELECT spawn.invoke_async('bob-counter', 'add')")
answer=$(as bob -c "SELECT spawn.wait($reply, 5000)")
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
left=$(q -c "SELECT count(*) FROM spawn._mailbox")
check "bob's request was answered" '{"n": 1}' "$answer"
check_true "within a second (${elapsed_ms} ms), in the middle of alice's backlog ($left left)" \
  [ "$elapsed_ms" -lt 1000 -a "$left" -gt 0 ]
wait_mailbox_empty 300

# An explicit share is a hard cap: one worker at a time for alice.
echo "spawn.max_workers_per_role = 1" | as_pg tee -a "$conf" >/dev/null
q -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
read -r before1 before2 <<<"$(processed_by_worker)"
backlog 20000
wait_mailbox_empty 300
read -r after1 after2 <<<"$(processed_by_worker)"
check "with spawn.max_workers_per_role = 1 alice's messages all ran" 20000 \
  "$((after1 - before1 + after2 - before2))"
finish
