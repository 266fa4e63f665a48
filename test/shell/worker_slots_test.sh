#!/usr/bin/env bash
# Too few background worker slots: spawn says so in its own words with the numbers and the fix,
# spawn.scheduler shows how many workers run against spawn.workers, and when no worker can run
# at all, casts and invoke_async are refused instead of queued for nobody.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster slots 55505 "max_worker_processes = 4
spawn.workers = 6"
conf=$DIR/data/postgresql.conf
create_incrementor
q -c "SELECT spawn.register_actor('acc', actions => '{\"add\": \"public.incrementor_add\"}')" >/dev/null

# restart_with SETTINGS...: appends settings and restarts the server.
restart_with() {
  cluster_stop "$DIR"
  printf '%s\n' "$@" | as_pg tee -a "$conf" >/dev/null
  cluster_start "$DIR"
}

sleep 3
check "a start-up warning gives the numbers" 1 \
  "$(as_pg grep -c 'max_worker_processes = 4 leaves room for 3 of spawn.s 7 background processes' "$DIR/server.log" || true)"
check "and the fix" 1 "$(as_pg grep -c 'Set max_worker_processes to at least 8' "$DIR/server.log" || true)"
check "the launcher says once how many workers cannot start" 1 \
  "$(as_pg grep -c '4 of the 6 mailbox workers (spawn.workers) cannot start' "$DIR/server.log" || true)"
check "spawn.scheduler: configured, running, without a slot" "6|2|4" \
  "$(q -c "SELECT workers_configured || '|' || workers_running || '|' || workers_without_slot FROM spawn.scheduler")"
q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}')" >/dev/null
sleep 1
check "the workers that run drain casts" '{"total": 1}' "$(q -c "SELECT spawn.state('acc')")"

# Room for the launcher only: no worker can run, casts are refused with a hint.
restart_with "max_worker_processes = 2"
check "with no room for a worker a cast is refused (55000)" 55000 \
  "$(sqlstate postgres "SELECT spawn.cast('acc', 'add', '{\"value\": 1}')")"
check "and so is invoke_async" 55000 \
  "$(sqlstate postgres "SELECT spawn.invoke_async('acc', 'add', '{\"value\": 1}')")"
out=$(q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}')" 2>&1 || true)
check "the error says why and how to fix it" 2 \
  "$(grep -cE 'no spawn worker can run: max_worker_processes = 2|HINT:  Raise max_worker_processes' <<<"$out")"
check "nothing was queued" 0 "$(q -c "SELECT count(*) FROM spawn._mailbox")"
check "spawn.invoke still works" '{"total": 2}' "$(q -c "SELECT spawn.invoke('acc', 'add', '{\"value\": 1}')")"

# spawn.workers = 0: refused too.
restart_with "max_worker_processes = 8" "spawn.workers = 0"
check "with spawn.workers = 0 a cast is refused" 1 \
  "$(q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}')" 2>&1 | grep -c 'spawn.workers is 0' || true)"
restart_with "spawn.workers = 2"
q -c "SELECT spawn.cast('acc', 'add', '{\"value\": 1}')" >/dev/null
sleep 1.5
check "with enough slots every worker runs" "2|2|0" \
  "$(q -c "SELECT workers_configured || '|' || workers_running || '|' || workers_without_slot FROM spawn.scheduler")"
check "and casts run" '{"total": 3}' "$(q -c "SELECT spawn.state('acc')")"
finish
