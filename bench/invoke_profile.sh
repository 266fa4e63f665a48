#!/usr/bin/env bash
# Load-independent CPU cost of one synchronous invoke against one raw UPDATE: a single-user
# backend (postgres --single, no other process) runs N prepared statements under valgrind's
# callgrind, once with N1 and once with N2 calls; the difference divided by N2 - N1 is the
# instruction count per call, free of start-up and shutdown. Prints Ir per call and the ratio.
# With --keep DIR the callgrind files are kept for callgrind_annotate and bench/callgrind_diff.py.
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

# prepare KIND: the statement measured.
prepare() {
  if [ "$1" = invoke ]; then
    echo "PREPARE call(int) AS SELECT spawn.invoke('c-' || \$1, 'add', '{\"value\": 1}');"
  else
    echo 'PREPARE call(int) AS UPDATE counters SET total = total + 1 WHERE id = $1;'
  fi
}

# A single-user backend starts no worker. 50 warm-up calls fill the caches (plans, catalog,
# relcache) before the measured ones.
BENCH_SINGLE_OPTS="-c spawn.workers=0"
printf '%-8s %14s\n' kind 'Ir per call'
for kind in invoke raw; do
  per=$(bench_instructions "$kind" "$(prepare "$kind")" 50 10000 "$n1" "$n2" "$keep")
  eval "per_$kind=$per"
  printf '%-8s %14d\n' "$kind" "$per"
done
printf 'invoke/raw %.2f\n' "$(echo "$per_invoke / $per_raw" | bc -l)"
