#!/usr/bin/env bash
# The sweep: every function of schema spawn (read from pg_proc, so new ones are covered) is
# called with hostile arguments, one at a time, as an ordinary role and as the superuser; it
# fails on a crash, an internal error or an unclear one (see sweep.py).
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster sweep "${SWEEP_PORT:-54550}" "spawn.max_attempts = 1
spawn.retry_base_ms = 100
log_min_messages = warning"
/usr/bin/python3 "$(dirname "$0")/sweep.py" "$DIR" "$PORT" "$DIR/server.log" || failures=1
finish
