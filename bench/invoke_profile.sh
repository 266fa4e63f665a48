#!/usr/bin/env bash
# Load-independent CPU cost of one synchronous invoke against one raw UPDATE: a single-user
# backend (postgres --single, no other process) runs N prepared statements under valgrind's
# callgrind, once with N1 and once with N2 calls; the difference divided by N2 - N1 is the
# instruction count per call, free of start-up and shutdown. Prints Ir per call and the ratio.
# With --keep DIR the callgrind files of the larger runs are kept for callgrind_annotate.
#
# Usage: bench/invoke_profile.sh [--calls N1,N2] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
n1=500
n2=2500
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --calls) n1=${2%,*}; n2=${2#*,}; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--calls N1,N2] [--keep DIR]"; exit 2 ;;
  esac
done

bench_cluster invoke-profile 54520
dir=$BENCH_DIR
bench_sql -q <<'SQL' >/dev/null
SELECT spawn.register_actor('counter', actions => '{"add": "public.incrementor_add"}', kind => 'unnamed');
SELECT count(spawn.invoke('c-' || i, 'add', '{"value": 0}', register_ref => 'counter'))
  FROM generate_series(1, 10000) i;
SELECT spawn.invoke('c-' || i, 'add', '{"value": 1}') FROM generate_series(1, 10000) i \g /dev/null
CREATE TABLE counters (id int PRIMARY KEY, total bigint NOT NULL) WITH (fillfactor = 70);
INSERT INTO counters SELECT i, 1 FROM generate_series(1, 10000) i;
VACUUM ANALYZE;
CHECKPOINT;
SQL
cluster_stop "$dir"

# statements KIND N: the single-user input, one prepared statement per line on spread-out ids.
statements() {
  if [ "$1" = invoke ]; then
    echo "PREPARE call(int) AS SELECT spawn.invoke('c-' || \$1, 'add', '{\"value\": 1}');"
  else
    echo 'PREPARE call(int) AS UPDATE counters SET total = total + 1 WHERE id = $1;'
  fi
  # Warm the caches (plans, catalog, relcache) before the measured calls.
  for i in $(seq 1 50); do echo "EXECUTE call($i);"; done
  for i in $(seq 1 "$2"); do echo "EXECUTE call($(((i * 7919) % 10000 + 1)));"; done
}

# instructions KIND N: total instructions of a single-user backend running N calls.
instructions() {
  local out=$dir/callgrind.$1.$2
  statements "$1" "$2" > "$dir/input.sql"
  chmod a+r "$dir/input.sql"
  as_pg valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$PG_BIN/postgres" --single -D "$dir/data" -c synchronous_commit=off \
    -c spawn.workers=0 postgres < "$dir/input.sql" >/dev/null 2>"$dir/valgrind.log"
  awk '/^summary:/ {print $2}' "$out"
  if [ -n "$keep" ] && [ "$2" = "$n2" ]; then mkdir -p "$keep" && cp "$out" "$keep/"; fi
}

printf '%-8s %14s\n' kind 'Ir per call'
for kind in invoke raw; do
  a=$(instructions "$kind" "$n1")
  b=$(instructions "$kind" "$n2")
  per=$(((b - a) / (n2 - n1)))
  eval "per_$kind=$per"
  printf '%-8s %14d\n' "$kind" "$per"
done
printf 'invoke/raw %.2f\n' "$(echo "$per_invoke / $per_raw" | bc -l)"
