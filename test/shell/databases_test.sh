#!/usr/bin/env bash
# spawn in a database the scheduler does not serve (spawn.database is another one): casts,
# async requests and everything else that queues work must never stay pending silently.
# CREATE EXTENSION refuses such a database; a database that holds the extension anyway (it was
# created while spawn.database named it) refuses every cast with 55000, while the served
# database's casts still run.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster databases "${DATABASES_TEST_PORT:-54497}"
on() { local db=$1; shift; psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres -d "$db" "$@"; }
# state_in DB SQL: the SQLSTATE SQL fails with in DB, or "ok".
state_in() {
  local out
  out=$(on "$1" -v ON_ERROR_STOP=1 -c "\\set VERBOSITY sqlstate" -c "$2" 2>&1 >/dev/null) && { echo ok; return; }
  echo "$out" | grep -oE '^ERROR:  [0-9A-Z]{5}' | awk '{print $2}'
}
# restart_serving DB: restarts the server with spawn.database = DB.
restart_serving() {
  cluster_stop "$DIR"
  as_pg sed -i "/^spawn.database/d" "$DIR/data/postgresql.conf"
  echo "spawn.database = '$1'" | as_pg tee -a "$DIR/data/postgresql.conf" >/dev/null
  cluster_start "$DIR"
}
incrementor_setup="$(incrementor_sql)
SELECT spawn.register_actor('incrementor', actions => '{\"add\": \"public.incrementor_add\"}');"

on postgres -c "CREATE DATABASE other"
check "CREATE EXTENSION in a database the scheduler does not serve is refused" 55000 \
  "$(state_in other "CREATE EXTENSION spawn")"
hint=$(on other -c "CREATE EXTENSION spawn" 2>&1 || true)
check "its hint says what to do" "yes" \
  "$(echo "$hint" | grep -q "HINT:  Use spawn in database \"postgres\", or set spawn.database = 'other'" && echo yes || echo no)"

# The database holds the extension anyway: it was created while the scheduler served it.
restart_serving other
on other -c "CREATE EXTENSION spawn"
echo "$incrementor_setup" | on other >/dev/null
restart_serving postgres
echo "$incrementor_setup" | on postgres >/dev/null

check "a cast there is refused" 55000 "$(state_in other "SELECT spawn.cast('incrementor', 'add', '{\"value\": 1}')")"
check "an async request is refused" 55000 "$(state_in other "SELECT spawn.invoke_async('incrementor', 'add', '{\"value\": 1}')")"
check "a broadcast is refused" 55000 "$(state_in other "SELECT spawn.broadcast('news')")"
check "a schedule is refused" 55000 "$(state_in other "SELECT spawn.schedule('incrementor', 'add', '* * * * *')")"
check "a timer is refused" 55000 \
  "$(state_in other "SELECT spawn.register_actor('ticker', actions => '{\"add\": \"public.incrementor_add\"}', timers => '[{\"action\": \"add\", \"every_ms\": 1000}]')")"
on other -c "CREATE FUNCTION public.effect_add(state jsonb, payload jsonb) RETURNS spawn.value LANGUAGE sql AS \$\$ SELECT spawn.with_effects(spawn.noreply(state), spawn.effect('incrementor', 'add', '{\"value\": 1}')) \$\$" \
  -c "SELECT spawn.register_actor('effector', actions => '{\"go\": \"public.effect_add\"}')" >/dev/null
check "a side effect fails its invocation" 55000 "$(state_in other "SELECT spawn.invoke('effector', 'go')")"
check "nothing was queued there" 0 "$(on other -c "SELECT count(*) FROM spawn._mailbox")"
check "synchronous invocations still work there" '{"total": 1}' \
  "$(on other -c "SELECT spawn.invoke('incrementor', 'add', '{\"value\": 1}')")"

# The served database: a cast and an async request run.
on postgres -c "SELECT spawn.cast('incrementor', 'add', '{\"value\": 1}')" >/dev/null
reply=$(on postgres <<'SQL'
SELECT spawn.invoke_async('incrementor', 'add', '{"value": 1}') AS r \gset
SELECT spawn.wait(:r, 10000);
SQL
)
check "the served database's cast and async request run" '{"total": 2}' "$reply"
finish
