#!/usr/bin/env bash
# Instructions a hot actor's invoke runs while it holds the actor's lock, load-independent: the
# server runs under valgrind's callgrind (every backend writes its own file), CLIENTS pgbench
# clients invoke one actor CALLS times each, so most invokes find the lock busy and queue. Per
# invoke, from the backends' inclusive counts: the row's read once the lock is held
# (StateFetchForWrite: a HOT-chain read, or the index when that falls back), how many of those
# reads followed the chain, and the lookups made before waiting (StateFetch). The rest of what
# the lock covers (decrypt, handler, write, commit) is bench/invoke_profile.sh's. About 3 minutes.
#
# Usage: bench/invoke_hot_profile.sh [--clients N] [--calls N] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
source "$top/scripts/lib.sh"
clients=4
calls=250
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--clients N] [--calls N] [--keep DIR]"; exit 2 ;;
  esac
done

bench_cluster invoke-hot-profile 54525
dir=$BENCH_DIR
bench_sql -q <<'SQL' >/dev/null
SELECT spawn.register_actor('hot', actions => '{"add": "public.incrementor_add"}');
SELECT spawn.invoke('hot', 'add', '{"value": 1}');
SQL
cluster_stop "$dir"

# The server under callgrind (forked backends are followed; each writes callgrind.<pid>).
mkdir -p "$dir/cg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir/cg"
as_pg valgrind --tool=callgrind --callgrind-out-file="$dir/cg/callgrind.%p" "$PG_BIN/postgres" \
  -D "$dir/data" -c spawn.workers=0 >"$dir/valgrind.log" 2>&1 &
for _ in $(seq 1 120); do
  pg_isready -q -h "$dir" -p "$BENCH_PORT" && break
  sleep 1
done
echo "SELECT spawn.invoke('hot', 'add', '{\"value\": 1}');" >"$dir/hot.sql"
chmod a+r "$dir/hot.sql"
pgbench -n -M prepared -h "$dir" -p "$BENCH_PORT" -U postgres -c "$clients" -j 2 -t "$calls" \
  -f "$dir/hot.sql" postgres >"$dir/pgbench.log" 2>&1 || { cat "$dir/pgbench.log"; exit 1; }
cluster_stop "$dir"
sleep 2
[ -n "$keep" ] && mkdir -p "$keep" && cp "$dir"/cg/callgrind.* "$keep/"

# Sums a function's inclusive count (and, for callee, its calls) over the backends' files.
python3 - "$dir/cg" "$((clients * calls))" <<'PY'
import glob, re, subprocess, sys
folder, invokes = sys.argv[1], int(sys.argv[2])
names = {"read of the row once the lock is held": "spawn::StateFetchForWrite(",
         "of which chain reads": "spawn::StateRefetchAtRoot(",
         "index lookups (before waiting, fallbacks)": "spawn::StateFetch(",
         "whole invoke": "invoke.cpp:spawn::Invoke("}
inclusive = dict.fromkeys(names, 0)
chain_calls = 0
line = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+([<*])\s+(.*?)(?: \(([\d,]+)x\))? \[")
for path in glob.glob(folder + "/callgrind.*"):
    out = subprocess.run(["callgrind_annotate", "--tree=caller", "--inclusive=yes",
                          "--threshold=100", path], capture_output=True, text=True,
                         cwd=folder).stdout  # no sources found: one line per function
    callers = 0  # calls counted on the caller lines above a function's '*' line
    for text in out.splitlines():
        m = line.match(text)
        if not m:
            callers = 0
            continue
        if m.group(2) == "<":
            callers += int((m.group(4) or "0").replace(",", ""))
            continue
        for key, fn in names.items():
            if fn in m.group(3):
                inclusive[key] += int(m.group(1).replace(",", ""))
        if names["of which chain reads"] in m.group(3):
            chain_calls += callers
        callers = 0
print(f"{'invokes':<45} {invokes:>10}")
for key, total in inclusive.items():
    print(f"{key:<45} {total / invokes:>10,.0f} Ir per invoke")
print(f"{'chain reads per invoke':<45} {chain_calls / invokes:>10.2f}")
if chain_calls:
    print(f"{'Ir per chain read':<45} {inclusive['of which chain reads'] / chain_calls:>10,.0f}")
PY
