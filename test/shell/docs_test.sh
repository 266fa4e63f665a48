#!/usr/bin/env bash
# The documentation runs as written: every `sql runnable` block of README.md and docs/*.md
# (test/shell/docs_run.py compares their results with what the page shows), and every
# docs/examples/*.sql file with the command of its "-- Run:" header line, alone in a fresh
# database and all of them in one database in both orders (no two examples share a name).
# Each page or example gets a fresh database that the scheduler serves (a restart per run).
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
test_cluster docs "${DOCS_TEST_PORT:-54498}"
export PGHOST=$DIR PGPORT=$PORT PGUSER=postgres

# fresh_database NAME: restarts the server with spawn.database = NAME, a new empty database.
fresh_database() {
  cluster_stop "$DIR"
  as_pg sed -i "/^spawn.database/d" "$DIR/data/postgresql.conf"
  echo "spawn.database = '$1'" | as_pg tee -a "$DIR/data/postgresql.conf" >/dev/null
  cluster_start "$DIR"
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\""
  export PGDATABASE=$1
}

# run_example FILE: runs an example with the command its "-- Run:" line gives, from the top of
# the checkout (as the header says), in $PGDATABASE.
run_example() {
  local file=$1 cmd
  cmd=$(sed -n 's/^-- Run: *//p' "$file" | head -n 1)
  if [ -z "$cmd" ]; then
    echo "not ok - $(basename "$file") has no \"-- Run:\" line"
    failures=$((failures + 1))
    return
  fi
  if (cd "$top" && bash -c "$cmd") >"$SPAWN_TEST_DIR/example.out" 2>&1; then
    echo "ok - $cmd (in $PGDATABASE)"
  else
    echo "not ok - $cmd (in $PGDATABASE)"
    tail -n 15 "$SPAWN_TEST_DIR/example.out"
    failures=$((failures + 1))
  fi
}

for page in "$top/README.md" "$top"/docs/*.md; do
  grep -q '^```sql runnable' "$page" || continue
  fresh_database "docs_$(basename "$page" .md | tr -c 'a-z0-9\n' '_')"
  # A page that does not create the extension itself relies on getting-started.md for it.
  grep -q '^CREATE EXTENSION' "$page" || psql -X -q -c "CREATE EXTENSION spawn"
  (cd "$top" && python3 "$here/docs_run.py" "${page#"$top/"}") || failures=$((failures + 1))
done

examples=$(ls "$top"/docs/examples/*.sql)
for example in $examples; do
  fresh_database "example_$(basename "$example" .sql)"
  run_example "$example"
done
fresh_database examples_in_order
for example in $examples; do run_example "$example"; done
fresh_database examples_reversed
for example in $(echo "$examples" | sort -r); do run_example "$example"; done
finish
