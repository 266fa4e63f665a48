#!/usr/bin/env bash
# Messages that cross shards arrive exactly once across crashes: 20 chains of casts hop 40 times
# each between actors spread over two shards (a hop to the other shard leaves through the
# sender's outbox, in the sender's transaction). The sending shard is killed with SIGKILL
# mid-way, later the other one; after recovery every chain has made exactly its 101 hops.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
source "$(dirname "$0")/shards.sh"
shards_start 54570 "spawn.max_attempts = 100
spawn.retry_base_ms = 50"

on_all_shards <<'SQL'
CREATE FUNCTION public.hop(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT CASE WHEN (payload->>'left')::int > 0 THEN
    spawn.with_effects(spawn.noreply(jsonb_build_object('hops', coalesce((state->>'hops')::int, 0) + 1)),
      spawn.effect('h-' || (payload->>'next'), 'hop',
        jsonb_build_object('left', (payload->>'left')::int - 1, 'next', ((payload->>'next')::int * 7 + 3) % 60),
        register_ref => 'hopper'))
  ELSE spawn.noreply(jsonb_build_object('hops', coalesce((state->>'hops')::int, 0) + 1)) END
$$;
SQL
router_q -c "SELECT spawn.register_actor('hopper', actions => '{\"hop\": \"public.hop\"}', kind => 'unnamed')" >/dev/null
hops() { router_q -c "SELECT coalesce(sum((spawn.state(name)->>'hops')::int), 0) FROM spawn.actors WHERE parent = 'hopper'" 2>/dev/null || echo -1; }
# Chain c starts at a hopper of shard 0, so shard 0 sends first.
router_q -c "SELECT count(spawn.cast(n.name, 'hop', jsonb_build_object('left', 100, 'next', c), register_ref => 'hopper'))
  FROM generate_series(1, 20) c,
  LATERAL (SELECT 'h-' || k AS name FROM generate_series(1000, 2000) k
           WHERE (spawn.shard_hash('spawn-system', 'h-' || k) & 3) % 2 = 0 ORDER BY k OFFSET c LIMIT 1) n" >/dev/null
# Crash once the chains are under way (a fixed sleep let fast runs finish first).
for _ in $(seq 1 200); do [ "$(hops)" -ge 100 ] && break; sleep 0.05; done
before=$(hops)
shard_crash 0
sleep 1
middle=$(hops)
shard_crash 1
echo "hops before the first crash: $before, before the second: $middle (of 2020)"
check_true "the first crash came mid-way" test "$before" -gt 0 -a "$before" -lt 2020
for _ in $(seq 1 600); do [ "$(hops)" -ge 2020 ] && break; sleep 0.2; done
pending() { for i in 0 1; do shard_q "$i" -c "SELECT count(*) FROM spawn._mailbox"; done | paste -sd+ | bc; }
for _ in $(seq 1 100); do [ "$(pending)" = 0 ] && break; sleep 0.2; done
sleep 1
check "every chain made its 101 hops exactly once" 2020 "$(hops)"
check "both mailboxes and outboxes drained" 0 "$(pending)"
check "no dead letters" 0 "$(router_q -c "SELECT count(*) FROM spawn.dead_letters")"
crossed=$(for i in 0 1; do shard_q "$i" -c "SELECT count(*) FROM spawn._shard_deliveries"; done | paste -sd+ | bc)
echo "hops that crossed shards: $crossed"
check_true "hops crossed shards both ways" test "$(shard_q 0 -c "SELECT count(*) FROM spawn._shard_deliveries")" -gt 0 -a \
  "$(shard_q 1 -c "SELECT count(*) FROM spawn._shard_deliveries")" -gt 0

echo "# a delivery that is retried is queued once"
key=$(shard_q 0 -c "SELECT gen_random_uuid()")
target=$(router_q -c "SELECT 'h-' || k FROM generate_series(3000, 4000) k WHERE (spawn.shard_hash('spawn-system', 'h-' || k) & 3) % 2 = 1 LIMIT 1")
deliver() { router_q -c "SELECT spawn._relay('$key', 'spawn-system', '$target', 'hop', '{\"left\": 0}', NULL, 'hopper', now())"; }
check "the first delivery is queued" t "$(deliver)"
check "the same key again is not" f "$(deliver)"
for _ in $(seq 1 50); do [ "$(router_q -c "SELECT spawn.state('$target')->>'hops'")" = 1 ] && break; sleep 0.2; done
deliver >/dev/null
sleep 0.5
check "the target ran it once" 1 "$(router_q -c "SELECT spawn.state('$target')->>'hops'")"
echo "# delivery keys older than the retention are pruned, the sender's own only"
shard_q 1 -c "INSERT INTO spawn._shard_deliveries (sender, key, delivered_at) VALUES
  ('postgres', 'old-1', now() - interval '8 days'), ('postgres', 'old-2', now() - interval '9 days'),
  ('postgres', 'recent', now() - interval '6 days'), ('someone_else', 'old-3', now() - interval '8 days')" >/dev/null
key=$(shard_q 0 -c "SELECT gen_random_uuid()")
check "a new delivery is queued" t "$(deliver)"
check "it removed the sender's two keys past 7 days, nobody else's" "someone_else:old-3 postgres:recent" \
  "$(shard_q 1 -c "SELECT string_agg(sender || ':' || key, ' ' ORDER BY key) FROM spawn._shard_deliveries
                   WHERE key IN ('old-1', 'old-2', 'old-3', 'recent')")"
check "a retried delivery within the window is still refused" f "$(deliver)"
check "a delivery to the wrong shard is refused (0A000)" 0A000 \
  "$(psql -X -q -h "${SHARD_DIR[0]}" -p "${SHARD_PORT[0]}" -U postgres -d postgres -c '\set VERBOSITY sqlstate' \
      -c "SELECT spawn._relay_in('k2', 'spawn-system', '$target', 'hop', NULL, NULL, 'hopper', now())" 2>&1 | grep -oE '[0-9A-Z]{5}$' || true)"
finish
