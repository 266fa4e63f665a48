-- The incrementor: a named actor whose "add" action adds payload.value to its total.
-- ./scripts/run.sh runs it; by hand, from the top of the checkout (PGHOST, PGPORT, PGUSER and
-- PGDATABASE select the server):
-- Run: psql -X -v ON_ERROR_STOP=1 -t -A -f docs/examples/incrementor.sql
-- It starts the example from a fresh state each time.
\o /dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS spawn;

CREATE OR REPLACE FUNCTION public.incrementor_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t), jsonb_build_object('total', t))
  FROM (SELECT coalesce((state->>'total')::bigint, 0) + (payload->>'value')::bigint AS t) s
$$;

SELECT spawn.unregister_actor('incrementor')
  WHERE EXISTS (SELECT 1 FROM spawn.definitions WHERE name = 'incrementor');
SELECT spawn.register_actor('incrementor', actions => '{"add": "public.incrementor_add"}');
\o

SELECT spawn.invoke('incrementor', 'add', '{"value": 1}');
SELECT spawn.invoke('incrementor', 'add', '{"value": 1}');
