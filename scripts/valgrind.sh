#!/usr/bin/env bash
# Runs the pg_regress and pgTAP suites once against servers whose every process runs under
# valgrind (memcheck) with PostgreSQL's own suppressions (src/tools/valgrind.supp), then
# summarises the valgrind logs: all errors, and the errors whose stack passes through spawn.
# Exits 1 if any error is attributed to spawn, 2 if none is but a suite failed, 0 otherwise.
# See docs/testing.md, "Valgrind".
#
# PostgreSQL's suppressions name functions, and Debian's binaries are stripped (their debug
# symbols are in an archive this script does not rely on), so they would match nothing: the
# server is built once from Debian's postgresql-15 source package, with symbols and
# USE_VALGRIND (palloc'd memory tracked by memcheck), into VALGRIND_PG_PREFIX. The same source
# gives src/tools/valgrind.supp. spawn is built from a copy of this checkout, which stays as
# it is.
#
# Environment: PG_BIN (used instead when its postgres has symbols), VALGRIND_PG_PREFIX
# (/opt/pg-vg/valgrind-15), VALGRIND_PORT (first of two ports, 55200), VALGRIND_WORK (work
# directory, kept afterwards; a new /tmp directory by default), VALGRIND_ERROR_EXITCODE (0 by
# default; 128 makes a process with an error exit with it as on PostgreSQL's valgrind buildfarm
# animal, so the postmaster restarts and the suites fail loudly).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
"$top/scripts/install-deps.sh" || exit 1
user_pg_bin=${PG_BIN:-}
source "$top/scripts/lib.sh"

port=${VALGRIND_PORT:-55200}
error_exitcode=${VALGRIND_ERROR_EXITCODE:-0}
prefix=${VALGRIND_PG_PREFIX:-/opt/pg-vg/valgrind-15}
cache=$top/build/valgrind
mkdir -p "$cache"
started=$(date +%s)

# Installs valgrind and bzip2 (for the source tarball) when missing.
need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v bzip2 >/dev/null || need+=(bzip2)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || exit 1
fi

# fetch_pg_source DIR: downloads Debian's postgresql-15 source package into DIR (the installed
# version if the mirror still has it, else the newest it has) and unpacks its upstream tarball
# there. Uses a private apt configuration: the system's sources are left alone.
fetch_pg_source() {
  local dir=$1 version installed
  mkdir -p "$dir/lists/partial"
  {
    echo "deb-src http://deb.debian.org/debian bookworm main"
    echo "deb-src http://deb.debian.org/debian bookworm-updates main"
    echo "deb-src http://deb.debian.org/debian-security bookworm-security main"
  } > "$dir/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$dir/lists" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" -qq update || return 1
  installed=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || true)
  for version in $installed $(apt-cache "${apt_opts[@]}" showsrc postgresql-15 |
    awk '/^Version:/ {print $2}' | sort -rV); do
    (cd "$dir" && apt-get "${apt_opts[@]}" -qq source --download-only \
      "postgresql-15=$version" >/dev/null 2>&1) || continue
    tar -xf "$dir"/postgresql-15_*.orig.tar.* -C "$dir" || return 1
    echo "$version" > "$dir/VERSION"
    return 0
  done
  return 1
}

# The PostgreSQL to run under valgrind: PG_BIN if its postgres has symbols, else a build of
# Debian's source with symbols and USE_VALGRIND, made once (about 15 minutes on two cores).
src_dir=$cache/source
if [ -n "$user_pg_bin" ] && nm "$user_pg_bin/postgres" 2>/dev/null | grep -q ' T PostmasterMain'; then
  PG_BIN=$user_pg_bin
else
  [ -n "$user_pg_bin" ] && echo "$user_pg_bin/postgres is stripped: using $prefix instead"
  if [ ! -x "$prefix/bin/postgres" ]; then
    echo "== building PostgreSQL from Debian's source package into $prefix"
    if [ ! -f "$src_dir/VERSION" ]; then
      rm -rf "$src_dir"
      fetch_pg_source "$src_dir" || { echo "cannot fetch postgresql-15's source" >&2; exit 1; }
    fi
    (cd "$src_dir"/postgresql-15.*/ &&
      ./configure -q --prefix="$prefix" --enable-debug --without-readline --without-zlib \
        --without-icu CFLAGS="-O1 -g -fno-omit-frame-pointer" CPPFLAGS="-DUSE_VALGRIND" &&
      make -s -j"$(nproc)" && make -s install) > "$cache/postgresql-build.log" 2>&1 ||
      { echo "PostgreSQL build failed; see $cache/postgresql-build.log" >&2; exit 1; }
    # pgTAP is plain SQL: Debian's files serve this server too.
    cp /usr/share/postgresql/15/extension/pgtap* "$("$prefix/bin/pg_config" --sharedir)/extension/"
  fi
  PG_BIN=$prefix/bin
fi
export PATH="$PG_BIN:$PATH"
pg_supp=$cache/postgresql-valgrind.supp
if [ ! -s "$pg_supp" ]; then
  [ -f "$src_dir/VERSION" ] || fetch_pg_source "$src_dir" || exit 1
  { echo "# src/tools/valgrind.supp of Debian's postgresql-15 $(cat "$src_dir/VERSION") source"
    cat "$src_dir"/postgresql-15.*/src/tools/valgrind.supp; } > "$pg_supp"
fi
head -n 1 "$pg_supp"
"$PG_BIN/postgres" --version

# spawn is built from a copy, so that this checkout's objects stay those of its usual server.
work=${VALGRIND_WORK:-$(mktemp -d /tmp/spawn-valgrind.XXXXXX)}
mkdir -p "$work/build"
echo "== build and install spawn ($PG_BIN)"
cp -r "$top/Makefile" "$top/spawn.control" "$top/src" "$top/bgworker" "$top/sql" "$work/build/"
(cd "$work/build" && rm -rf src/*.o src/core/*.o bgworker/*.o src/.deps bgworker/.deps ./*.so && build_and_install) || exit 1

# The server runs as postgres, which may not read this checkout: tests run from a copy.
cp -r "$top/sql" "$top/expected" "$top/test" "$work/"
cp "$pg_supp" "$work/postgresql.supp"
supp_args=(--suppressions="$work/postgresql.supp")
# spawn's own file, for errors shown not to be spawn's (if there is one).
if [ -s "$top/test/valgrind/spawn.supp" ]; then
  cp "$top/test/valgrind/spawn.supp" "$work/spawn.supp"
  supp_args+=(--suppressions="$work/spawn.supp")
fi
mkdir -p "$work/valgrind" "$work/regress/out"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work"
echo "work directory: $work"

# vg_start DIR PORT: starts DIR's cluster with the postmaster (and so every child) under valgrind,
# and waits until it accepts connections (valgrind makes start-up take tens of seconds).
vg_start() {
  local dir=$1 port=$2
  as_pg valgrind --quiet --trace-children=yes --leak-check=no --track-origins=no \
    --num-callers=40 --error-limit=no --gen-suppressions=all --read-var-info=no \
    --error-exitcode="$error_exitcode" --fullpath-after= \
    --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END "${supp_args[@]}" \
    --log-file="$work/valgrind/$(basename "$dir").%p.log" \
    "$PG_BIN/postgres" -D "$dir/data" >> "$dir/server.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 600); do
    pg_isready -q -h "$dir" -p "$port" -U postgres && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  echo "the server in $dir did not start; see $dir/server.log" >&2
  return 1
}

# vg_stop DIR: fast shutdown, with time for valgrind to write its last reports; immediate if
# that does not end it, then SIGKILL to the postmaster this script started.
vg_stop() {
  as_pg pg_ctl -D "$1/data" -m fast -w -t 300 stop >/dev/null 2>&1 && return 0
  echo "fast shutdown of $1 timed out; immediate" >&2
  as_pg pg_ctl -D "$1/data" -m immediate -w -t 120 stop >/dev/null 2>&1 && return 0
  [ -f "$1/data/postmaster.pid" ] && kill -KILL "$(head -n 1 "$1/data/postmaster.pid")"
}

# Settings for a slow server: no JIT, statements logged with their pid to match the logs.
slow_conf="jit = off
log_line_prefix = '%m [%p] '
log_statement = 'all'"

failed=()

echo "== pg_regress under valgrind (port $port)"
cluster_init "$work/regress" "$port" "$slow_conf
spawn.database = 'regression'
spawn.max_attempts = 2
spawn.retry_base_ms = 100"
if vg_start "$work/regress" "$port"; then
  # What pg_regress does itself without --use-existing (create_database in pg_regress.c).
  cluster_psql "$work/regress" "$port" -d postgres <<'SQL' || failed+=(pg_regress-setup)
CREATE DATABASE regression TEMPLATE = template0;
ALTER DATABASE regression SET lc_messages TO 'C';
ALTER DATABASE regression SET lc_monetary TO 'C';
ALTER DATABASE regression SET lc_numeric TO 'C';
ALTER DATABASE regression SET lc_time TO 'C';
ALTER DATABASE regression SET bytea_output TO 'hex';
ALTER DATABASE regression SET timezone_abbreviations TO 'Default';
\c regression
CREATE EXTENSION spawn;
SQL
  tests=$(cd "$top/sql" && ls *.sql | grep -v '^spawn--' | sed 's/\.sql$//' | sort)
  as_pg "$("$PG_BIN/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress" \
    --use-existing --host="$work/regress" --port="$port" --user=postgres \
    --inputdir="$work" --outputdir="$work/regress/out" --bindir="$PG_BIN" $tests ||
    failed+=(pg_regress)
  vg_stop "$work/regress"
else
  failed+=(pg_regress-start)
fi

echo "== pgTAP under valgrind (port $((port + 1)))"
cluster_init "$work/pgtap" "$((port + 1))" "$slow_conf"
if vg_start "$work/pgtap" "$((port + 1))"; then
  cluster_psql "$work/pgtap" "$((port + 1))" -d postgres \
    -c "CREATE EXTENSION pgtap; CREATE EXTENSION spawn;" || failed+=(pgtap-setup)
  as_pg pg_prove -h "$work/pgtap" -p "$((port + 1))" -U postgres -d postgres \
    "$work"/test/pgtap/*.sql || failed+=(pgtap)
  vg_stop "$work/pgtap"
else
  failed+=(pgtap-start)
fi
# Give processes that outlived the postmaster (valgrind writes on exit) a moment to finish.
sleep 5

echo "== valgrind summary"
# An error is spawn's when a frame of its stack is in spawn.so, in the spawn:: namespace, or
# in a source file of its src/ or bgworker/.
python3 - "$work/valgrind" "$work/build" <<'PY'
import collections, glob, os, re, sys
logdir, top = sys.argv[1], sys.argv[2]
spawn_frame = re.compile(r"spawn\.so|spawn::|(%s|%s)" % (
    re.escape(os.path.join(top, "src") + "/"), re.escape(os.path.join(top, "bgworker") + "/")))
frame = re.compile(r"^==\d+==\s+(?:at|by) 0x[0-9A-F]+: (.*)$")
total, ours = 0, collections.OrderedDict()
processes = 0
for path in sorted(glob.glob(os.path.join(logdir, "*.log"))):
    processes += 1
    block = None
    for line in open(path, errors="replace"):
        if "VALGRINDERROR-BEGIN" in line:
            block = []
        elif "VALGRINDERROR-END" in line:
            total += 1
            text = "".join(block)
            if spawn_frame.search(text):
                kind = next((l.split("==", 2)[-1].strip() for l in block
                             if l.startswith("==") and l.split("==", 2)[-1].strip()), "?")
                frames = [m.group(1) for m in map(frame.match, block) if m]
                key = (kind, tuple(frames[:8]))
                entry = ours.setdefault(key, {"count": 0, "logs": set()})
                entry["count"] += 1
                entry["logs"].add(os.path.basename(path))
            block = None
        elif block is not None:
            block.append(line)
print("processes logged: %d" % processes)
print("valgrind errors: %d" % total)
print("errors attributed to spawn: %d (%d distinct stacks)"
      % (sum(e["count"] for e in ours.values()), len(ours)))
for (kind, frames), entry in ours.items():
    print("-- %s  [x%d, e.g. %s]" % (kind, entry["count"], sorted(entry["logs"])[0]))
    for f in frames:
        print("     " + f)
sys.exit(1 if ours else 0)
PY
vg_status=$?
crashes=$(grep -hE "terminated by signal|exited with exit code $error_exitcode" \
  "$work"/regress/server.log "$work"/pgtap/server.log 2>/dev/null | wc -l)
echo "server processes that died of an error or a signal: $crashes"
echo "run time: $(($(date +%s) - started)) s; logs in $work/valgrind, diffs in $work/regress/out"

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  [ -s "$work/regress/out/regression.diffs" ] && head -n 200 "$work/regress/out/regression.diffs"
fi
[ "$vg_status" -ne 0 ] && exit 1
[ ${#failed[@]} -gt 0 ] && exit 2
exit 0
