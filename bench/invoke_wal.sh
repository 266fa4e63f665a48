#!/usr/bin/env bash
# WAL bytes per synchronous invoke against per raw UPDATE, with a breakdown by record type and
# the sizes of the heap records, on one server in one run:
#   invoke  spawn.invoke('c-<n>', 'add') on a random one of 100 active unnamed incrementors
#           (snapshot and deactivation timeouts of 10^8 ms: the launcher writes nothing)
#   raw     UPDATE counters SET total = total + 1 WHERE id = $1 on a random one of 100 rows
#           with a 100-byte pad (about the width of a state row)
# Each kind: CHECKPOINT, then a warm-up pass over every row (so the measured window holds no
# full-page image, counted anyway), then N calls at 1 client (pgbench -M prepared); the window
# is read back with pg_waldump. Autovacuum is off so neither side is charged its records.
#
# Usage: bench/invoke_wal.sh [--calls N]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
calls=2000
while [ $# -gt 0 ]; do
  case $1 in
    --calls) calls=$2; shift 2 ;;
    *) echo "usage: $0 [--calls N]"; exit 2 ;;
  esac
done

bench_cluster invoke-wal 54540 "checkpoint_timeout = '30min'
autovacuum = off"
dir=$BENCH_DIR
sql() { bench_sql -X -q -t -A "$@"; }

sql >/dev/null <<'SQL'
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}',
  kind => 'unnamed', deactivate_timeout => 100000000, snapshot_timeout => 100000000);
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 1}', register_ref => 'counter'))
  FROM generate_series(1, 100) i;
CREATE TABLE counters (id int PRIMARY KEY, total bigint NOT NULL, pad bytea NOT NULL)
  WITH (fillfactor = 70);
INSERT INTO counters SELECT g, 0, decode(repeat('00', 100), 'hex') FROM generate_series(1, 100) g;
VACUUM ANALYZE;
SQL

scripts=$dir/scripts
mkdir -p "$scripts"
printf '%s\n' '\set id random(1, 100)' "SELECT spawn.invoke('c-' || :id, 'add', '{\"value\": 1}');" \
  > "$scripts/invoke.sql"
printf '%s\n' '\set id random(1, 100)' 'UPDATE counters SET total = total + 1 WHERE id = :id;' \
  > "$scripts/raw.sql"
printf '%s\n' "SELECT count(spawn.invoke('c-' || i, 'add', '{\"value\": 1}')) FROM generate_series(1, 100) i;" \
  > "$scripts/invoke_warm.sql"
printf '%s\n' 'UPDATE counters SET total = total + 1;' > "$scripts/raw_warm.sql"
chmod -R a+rX "$dir"

# window KIND: prints "start end" LSNs around N calls of KIND, after a checkpoint and warm-up.
window() {
  local start end
  sql -c "CHECKPOINT" >/dev/null
  sql -f "$scripts/$1_warm.sql" >/dev/null
  # Steady state: the pages' free space as the measured calls will find it.
  pgbench -n -M prepared -h "$dir" -p "$BENCH_PORT" -U postgres -c 1 -t "$calls" \
    -f "$scripts/$1.sql" postgres >/dev/null 2>&1
  start=$(sql -c "SELECT pg_current_wal_lsn()")
  pgbench -n -M prepared -h "$dir" -p "$BENCH_PORT" -U postgres -c 1 -t "$calls" \
    -f "$scripts/$1.sql" postgres >/dev/null 2>&1
  end=$(sql -c "SELECT pg_current_wal_lsn()")
  echo "$start $end"
}

# report KIND START END: bytes per call, records per call by type, heap record sizes.
report() {
  local kind=$1 start=$2 end=$3 total
  total=$(sql -c "SELECT pg_wal_lsn_diff('$end', '$start')")
  printf '\n== %s: %d bytes of WAL over %d calls = %.1f per call\n' "$kind" "$total" "$calls" \
    "$(echo "$total / $calls" | bc -l)"
  as_pg "$PG_BIN/pg_waldump" -p "$dir/data/pg_wal" -s "$start" -e "$end" 2>/dev/null |
    awk -v calls="$calls" '
      {
        rmgr = $2; sub(/,$/, "", rmgr)
        match($0, /len \(rec\/tot\): *[0-9]+\/ *[0-9]+/)
        split(substr($0, RSTART, RLENGTH), parts, /[:\/ ]+/)
        rec = parts[4]; tot = parts[5]
        match($0, /desc: [A-Z_+]+/); type = rmgr "/" substr($0, RSTART + 6, RLENGTH - 6)
        n[type]++; bytes[type] += tot; fpi[type] += tot - rec
        size[type "@" tot]++
      }
      END {
        printf "%-26s %9s %10s %10s %10s\n", "record", "count", "bytes", "per call", "of it FPI"
        for (t in n) printf "%-26s %9d %10d %10.1f %10.1f\n", t, n[t], bytes[t], bytes[t] / calls, fpi[t] / calls
        printf "sizes (type@bytes: count):"
        for (s in size) printf " %s:%d", s, size[s]
        printf "\n"
      }'
}

read -r is ie < <(window invoke)
read -r rs re < <(window raw)
report invoke "$is" "$ie"
report raw "$rs" "$re"
inv=$(sql -c "SELECT pg_wal_lsn_diff('$ie', '$is') / $calls")
raw=$(sql -c "SELECT pg_wal_lsn_diff('$re', '$rs') / $calls")
printf '\ninvoke/raw WAL bytes per call: %.2f\n' "$(echo "$inv / $raw" | bc -l)"
sql -c "SELECT 'sealed state bytes (nonce + ciphertext): ' || avg(octet_length(nonce) + octet_length(ciphertext))
  FROM spawn._instances WHERE ciphertext IS NOT NULL"
