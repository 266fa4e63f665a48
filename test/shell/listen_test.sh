#!/usr/bin/env bash
# Async replies reach a real LISTEN client (psycopg2) through NOTIFY.
set -euo pipefail
source "$(dirname "$0")/helpers.sh"
test_cluster listen 54450 "spawn.max_attempts = 2
spawn.retry_base_ms = 200"
create_incrementor
q <<'SQL' >/dev/null
CREATE FUNCTION public.always_fails(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'always fails'; END $$;
CREATE FUNCTION public.echo_back(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, state) $$;
-- Fails while public.ln_broken says so, then replies.
CREATE TABLE public.ln_broken (broken boolean NOT NULL);
INSERT INTO public.ln_broken VALUES (true);
CREATE FUNCTION public.fails_while_broken(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT broken FROM public.ln_broken) THEN RAISE EXCEPTION 'broken for now'; END IF;
  RETURN spawn.reply('{"fixed": true}', state);
END $$;
-- Replies, then unregisters its own actor: the state write-back after it fails, which rolls
-- the stored reply back (its notification must go with it).
CREATE FUNCTION public.reply_and_unregister(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM spawn.unregister_actor('ln_victim');
  RETURN spawn.reply('{"gone": true}', state);
END $$;
SQL
/usr/bin/python3 "$(dirname "$0")/listen_test.py" "$DIR" "$PORT" || failures=1
finish
