#!/usr/bin/env python3
"""The sweep: every function of schema spawn, read from pg_proc, called with hostile arguments.

Usage: sweep.py HOST PORT SERVER_LOG

One argument at a time gets each hostile value fitting its type (and its name), the others a
valid baseline, as an ordinary role (sweep_bob) and as the superuser; each call runs in its own
transaction, rolled back. A call must end in a result or a clear error: it fails on a crash of
the backend (a watchdog connection runs SELECT 1 after every call), on SQLSTATE class XX, on a
statement that outlives statement_timeout, on P0001 or a message not in PostgreSQL's style when
spawn raised it, and, for the ordinary role, on a change to another role's objects or a result
that reveals another role's data. Prints every failure and a summary; exits 1 on any failure."""
import re
import sys
import time

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import psycopg2.sql

# Results stay text: a 5,000-deep reply would exceed Python's recursion limit in json.loads.
psycopg2.extras.register_default_json(loads=lambda text: text, globally=True)
psycopg2.extras.register_default_jsonb(loads=lambda text: text, globally=True)

HOST, PORT, SERVER_LOG = sys.argv[1], sys.argv[2], sys.argv[3]
TIMEOUT = "5s"
SECRET = "sweep-secret-"  # planted in every role's states, payloads and replies
BIG = 100_000
DEPTH = 5_000

failures = []
counts = {"calls": 0, "results": 0, "errors": 0, "from spawn": 0, "probes": 0, "lost connections": 0}
VERBOSE = bool(__import__("os").environ.get("SWEEP_VERBOSE"))
by_state = {}
seconds = {}  # time spent per function, for the summary
long_messages = set()  # functions whose own messages repeat a huge argument (reported, not failed)


# ---------------------------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------------------------

def connect(user, autocommit):
    """Opens a connection as `user`; autocommit for setup and the watchdog."""
    conn = psycopg2.connect(host=HOST, port=PORT, user=user, dbname="postgres",
                            application_name="spawn sweep " + user)
    conn.autocommit = autocommit
    return conn


def wait_for_server(seconds=90):
    """Waits until the server accepts connections again (after a crash and reset)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            conn = connect("postgres", True)
            conn.cursor().execute("SELECT 1")
            conn.close()
            return True
        except psycopg2.Error:
            time.sleep(0.5)
    return False


def fail(what, detail):
    """Records one failure and prints it at once."""
    detail = " ".join(detail.split())  # one line per failure, whatever libpq wrapped
    failures.append((what, detail))
    print("not ok - %s: %s" % (what, detail), flush=True)


def log_size():
    """The server log's current size, to read what a call added to it."""
    try:
        with open(SERVER_LOG, "rb") as f:
            f.seek(0, 2)
            return f.tell()
    except OSError:
        return 0


def log_since(offset):
    """The server log's lines written after `offset`."""
    try:
        with open(SERVER_LOG, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------
# Fixtures: three roles' actors, systems, projections, schedules, messages, replies, dead letters
# ---------------------------------------------------------------------------------------------

HANDLERS_SQL = r"""
CREATE ROLE sweep_alice LOGIN;
CREATE ROLE sweep_bob LOGIN;
DO $$ BEGIN
  EXECUTE format('GRANT CREATE ON DATABASE %I TO sweep_alice, sweep_bob', current_database());
END $$;
-- Adds payload.value to state.total; keeps the payload's other fields in the state.
CREATE FUNCTION public.sweep_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$
  SELECT spawn.reply(jsonb_build_object('total', t),
           CASE WHEN jsonb_typeof(payload) = 'object'
                THEN coalesce(state, '{}') || (payload - 'value') || jsonb_build_object('total', t)
                ELSE jsonb_build_object('total', t) END)
  FROM (SELECT coalesce((state->>'total')::bigint, 0)
               + CASE WHEN jsonb_typeof(payload->'value') = 'number'
                      THEN (payload->>'value')::numeric::bigint ELSE 1 END AS t) s
$$;
-- Replies with the payload.
CREATE FUNCTION public.sweep_echo(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(payload, state) $$;
-- Always fails: its casts become dead letters.
CREATE FUNCTION public.sweep_fail(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'sweep handler fails' USING ERRCODE = 'P0001'; END $$;
-- Replies with its context.
CREATE FUNCTION public.sweep_ctx(state jsonb, payload jsonb, ctx spawn.context) RETURNS jsonb
LANGUAGE sql AS $$ SELECT jsonb_build_object('state', state, 'response', to_jsonb(ctx)) $$;
-- Reads another role's objects for the ordinary role: a digest of what only their owner may
-- change (definitions, handlers, projections, schedules, messages, replies, dead letters; not
-- the read models, which anyone who may invoke a followed actor updates through the projection).
CREATE SCHEMA sweep_fp;
CREATE TABLE sweep_fp.replies (id bigint);
CREATE FUNCTION sweep_fp.fingerprint(who regrole) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  RETURN md5(concat_ws('|',
    (SELECT string_agg(d::text, ',' ORDER BY d.id) FROM spawn._definitions d WHERE d.registered_by = who),
    (SELECT string_agg(h::text, ',' ORDER BY h.definition_id, h.action) FROM spawn._handlers h
       JOIN spawn._definitions d ON d.id = h.definition_id WHERE d.registered_by = who),
    (SELECT string_agg(p::text, ',' ORDER BY p.id) FROM spawn._projections p WHERE p.owner = who),
    (SELECT string_agg(s::text, ',' ORDER BY s::text) FROM spawn._projection_sources s
       JOIN spawn._projections p ON p.id = s.projection_id WHERE p.owner = who),
    (SELECT string_agg(s::text, ',' ORDER BY s.id) FROM spawn._schedules s WHERE s.run_as = who),
    (SELECT string_agg(m::text, ',' ORDER BY m.id) FROM spawn._mailbox m WHERE m.run_as = who),
    (SELECT string_agg(l::text, ',' ORDER BY l.id) FROM spawn._dead_letters l WHERE l.run_as = who),
    (SELECT string_agg(r::text, ',' ORDER BY r.id) FROM spawn._replies r
       WHERE r.id IN (SELECT id FROM sweep_fp.replies))));
END
$$;
GRANT USAGE ON SCHEMA sweep_fp TO PUBLIC;
"""

# Per role: its schema, read models, projection handler, a private handler, and its actors.
# The schema is usable by all (its tables and the private handler are not): spawn prepares every
# role's SQL handlers as whoever loads its catalog (see private_schema_check).
ROLE_SQL = r"""
CREATE SCHEMA sweep_{p} AUTHORIZATION {role};
GRANT USAGE ON SCHEMA sweep_{p} TO PUBLIC;
SET ROLE {role};
CREATE TABLE sweep_{p}.rm (actor text PRIMARY KEY, state jsonb, revision bigint);
CREATE TABLE sweep_{p}.rm2 (actor text PRIMARY KEY, state jsonb, revision bigint);
CREATE FUNCTION sweep_{p}.project(actor text, state jsonb, revision bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO sweep_{p}.rm VALUES (actor, state, revision)
  ON CONFLICT (actor) DO UPDATE SET state = excluded.state, revision = excluded.revision
$$;
CREATE FUNCTION sweep_{p}.secret_add(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply('"{secret}"', state) $$;
REVOKE EXECUTE ON FUNCTION sweep_{p}.secret_add(jsonb, jsonb) FROM PUBLIC;
SELECT spawn.create_system('{p}-sys');
SELECT spawn.register_actor('{p}_counter', '{actions}', journal => true, snapshot_timeout => 1,
  channels => '[{{"topic": "{p}_news"}}]');
SELECT spawn.register_actor('{p}_tpl', '{actions}', kind => 'unnamed', snapshot_timeout => 1,
  channels => '[{{"topic": "{p}_news"}}]');
SELECT spawn.spawn_actor('{p}-1', '{p}_tpl');
SELECT spawn.register_actor('{p}_pool', '{{"add": "public.sweep_echo"}}', kind => 'pooled');
SELECT spawn.register_actor('{p}_ticker', '{{"add": "public.sweep_add"}}',
  timers => '[{{"action": "add", "every_ms": 3600000}}]');
SELECT spawn.register_actor('{p}_private', '{{"add": "sweep_{p}.secret_add"}}');
SELECT spawn.register_actor('{p}_other', '{{"add": "public.sweep_add"}}', system => '{p}-sys');
SELECT spawn.invoke('{p}_counter', 'add', '{{"value": 1, "note": "{secret}"}}');
SELECT spawn.invoke('{p}_counter', 'add', '{{"value": 2}}');
SELECT spawn.invoke('{p}-1', 'add', '{{"value": 1, "note": "{secret}"}}');
SELECT spawn.invoke('{p}_ticker', 'add', '{{"value": 1}}');
SELECT spawn.invoke('{p}_other', 'add', '{{"value": 1}}', system => '{p}-sys');
SELECT spawn.create_projection('{p}_proj', '{{{p}_counter, {p}_tpl}}', 'sweep_{p}.project', 'sweep_{p}.rm');
SELECT spawn.schedule('{p}_counter', 'add', '0 0 1 1 *', '{{"note": "{secret}"}}');
SELECT spawn.cast('{p}_counter', 'add', '{{"note": "{secret}"}}', delay_ms => 31536000000);
SELECT spawn.invoke_async('{p}_counter', 'echo', '{{"note": "{secret}"}}');
SELECT spawn.cast('{p}_counter', 'fail', '{{"note": "{secret}"}}');
RESET ROLE;
"""

ACTIONS = ('{"add": "public.sweep_add", "echo": "public.sweep_echo", "fail": "public.sweep_fail", '
           '"ctx": "public.sweep_ctx", "receive": "public.sweep_add"}')
ROLES = {"alice": "sweep_alice", "bob": "sweep_bob", "su": "postgres"}


def one(cur, query, args=()):
    """The first column of the first row of a query."""
    cur.execute(query, args)
    row = cur.fetchone()
    return row[0] if row else None


PRIVATE_SQL = r"""
CREATE SCHEMA sweep_hidden AUTHORIZATION sweep_alice;
SET ROLE sweep_alice;
CREATE TABLE sweep_hidden.t (x int);
CREATE FUNCTION sweep_hidden.h(state jsonb, payload jsonb) RETURNS spawn.value
LANGUAGE sql AS $$ SELECT spawn.reply(to_jsonb((SELECT count(*) FROM sweep_hidden.t)), state) $$;
SELECT spawn.register_actor('alice_hidden', '{"add": "sweep_hidden.h"}');
RESET ROLE;
"""


def private_schema_check():
    """Another role's SQL handler over its private schema must not break the ordinary role's
    own invocations (handlers belong to their actor); removed before the sweep."""
    admin = connect("postgres", True)
    admin.cursor().execute(PRIVATE_SQL)
    bob = connect("sweep_bob", True)
    try:
        bob.cursor().execute("SELECT spawn.invoke('bob_counter', 'add', '{\"value\": 1}')")
    except psycopg2.Error as e:
        fail("SELECT spawn.invoke('bob_counter', 'add') as sweep_bob while sweep_alice's actor "
             "alice_hidden has a SQL handler over her private schema",
             "SQLSTATE %s: %s" % (e.pgcode, e.diag.message_primary))
    bob.close()
    admin.cursor().execute("SET ROLE sweep_alice; SELECT spawn.unregister_actor('alice_hidden'); "
                           "RESET ROLE; DROP SCHEMA sweep_hidden CASCADE")
    admin.close()


def setup():
    """Creates the roles and every role's fixtures; waits for the workers to produce the
    replies, dead letters and snapshots; returns each role's fixture ids and names."""
    conn = connect("postgres", True)
    cur = conn.cursor()
    cur.execute(HANDLERS_SQL)
    for p, role in ROLES.items():
        cur.execute(ROLE_SQL.format(p=p, role=role, secret=SECRET + p, actions=ACTIONS))
    cur.execute("GRANT EXECUTE ON FUNCTION sweep_fp.fingerprint(regrole) TO sweep_bob")
    cur.execute("INSERT INTO sweep_fp.replies SELECT id FROM spawn._mailbox WHERE reply_channel IS NOT NULL")
    deadline = time.time() + 60
    while True:
        cur.execute("""SELECT (SELECT count(*) FROM spawn._dead_letters),
                              (SELECT count(*) FROM spawn._replies),
                              (SELECT count(*) FROM spawn._instances WHERE snapshot_revision > 0
                                 AND name IN ('alice_counter', 'bob_counter', 'su_counter'))""")
        dead, replies, snapshots = cur.fetchone()
        if (dead, replies, snapshots) == (3, 3, 3):
            break
        if time.time() > deadline:
            raise SystemExit("setup: the workers did not produce 3 dead letters, replies and "
                             "snapshots in 60 s (got %s, %s, %s)" % (dead, replies, snapshots))
        time.sleep(0.3)
    fixtures = {}
    for p, role in ROLES.items():
        fx = {"p": p, "role": role}
        fx["role_oid"] = one(cur, "SELECT oid FROM pg_roles WHERE rolname = %s", (role,))
        fx["def_id"] = one(cur, "SELECT id FROM spawn._definitions WHERE name = %s", (p + "_counter",))
        fx["proj_id"] = one(cur, "SELECT id FROM spawn._projections WHERE name = %s", (p + "_proj",))
        fx["schedule_id"] = one(cur, "SELECT id FROM spawn._schedules WHERE run_as = %s", (fx["role_oid"],))
        fx["message_id"] = one(cur, "SELECT id FROM spawn._mailbox WHERE run_as = %s AND source = 'cast'",
                               (fx["role_oid"],))
        fx["reply_id"] = one(cur, "SELECT id FROM spawn._replies WHERE actor = %s", (p + "_counter",))
        fx["dead_id"] = one(cur, "SELECT id FROM spawn._dead_letters WHERE run_as = %s", (fx["role_oid"],))
        fx["revision"] = one(cur, "SELECT snapshot_revision FROM spawn._instances WHERE name = %s",
                             (p + "_counter",))
        fx["project_oid"] = one(cur, "SELECT 'sweep_%s.project(text,jsonb,bigint)'::regprocedure::oid" % p)
        fx["secret_oid"] = one(cur, "SELECT 'sweep_%s.secret_add(jsonb,jsonb)'::regprocedure::oid" % p)
        fx["rm_oid"] = one(cur, "SELECT 'sweep_%s.rm'::regclass::oid" % p)
        fx["rm2_oid"] = one(cur, "SELECT 'sweep_%s.rm2'::regclass::oid" % p)
        for key, value in fx.items():
            if value is None:
                raise SystemExit("setup: no %s for %s" % (key, p))
        fixtures[p] = fx
    oids = {}
    for key, expr in [("add", "'public.sweep_add(jsonb,jsonb)'::regprocedure"),
                      ("jsonb_typeof", "'pg_catalog.jsonb_typeof(jsonb)'::regprocedure"),
                      ("textlen", "'pg_catalog.textlen(text)'::regprocedure"),
                      ("now", "'pg_catalog.now()'::regprocedure"),
                      ("invoke", "'spawn.invoke(text,text,jsonb,text,jsonb,text)'::regprocedure"),
                      ("ctx", "'public.sweep_ctx(jsonb,jsonb,spawn.context)'::regprocedure"),
                      ("authid", "'pg_catalog.pg_authid'::regclass"),
                      ("instances", "'spawn._instances'::regclass"),
                      ("view", "'spawn.actors'::regclass"),
                      ("sequence", "'spawn._mailbox_id_seq'::regclass")]:
        oids[key] = one(cur, "SELECT %s::oid" % expr)
    conn.close()
    return fixtures, oids


# ---------------------------------------------------------------------------------------------
# Values: a value is (label, SQL fragment with %s placeholders, parameters)
# ---------------------------------------------------------------------------------------------

def typed(label, text, typ):
    """A value given as text and cast to the argument's type."""
    return (label, "%s::" + typ, [text])


def null(typ):
    """SQL NULL of the argument's type."""
    return ("NULL", "NULL::" + typ, [])


def expr(label, sql):
    """A value given as an SQL expression."""
    return (label, sql, [])


def deep_array(depth):
    """A JSON array nested `depth` deep."""
    return "[" * depth + "]" * depth


def deep_object(depth):
    """A JSON object nested `depth` deep."""
    return '{"a":' * depth + "{}" + "}" * depth


BIG_ARRAY = "[" + ",".join(["0"] * BIG) + "]"
BIG_OBJECT = "{" + ",".join('"k%d": %d' % (i, i) for i in range(BIG)) + "}"
HUGE_STRING = '"' + "x" * (10 * BIG) + '"'
LONG = "x" * BIG


def text_values(other):
    """Hostile texts for any text argument; `other` names another role's objects."""
    o = other
    return [
        ("empty", ""), ("blank", "   "), ("100,000 x", LONG), ("63 bytes", "n" * 63),
        ("64 bytes", "n" * 64), ("64 bytes of e-acute", "\u00e9" * 32), ("control char", "a\x01b"),
        ("tab", "a\tb"), ("newline", "a\nb"), ("DEL", "a\x7fb"), ("leading blank", " add"),
        ("upper case", "ADD"), ("double quote", 'a"b'), ("single quote", "a'b"),
        ("format directives", "%s%n%d%x%%"), ("backslash", "a\\b"), ("dotted", "a.b.c.d"),
        ("injection", "x'); DROP TABLE spawn._instances; --"), ("emoji", "\U0001F600"),
        ("parenthesis", "f("), ("get", "get"), ("init", "init"),
        ("other's actor", o + "_counter"), ("other's template", o + "_tpl"),
        ("other's instance", o + "-1"), ("other's pooled actor", o + "_pool"),
        ("other's private actor", o + "_private"), ("other's system", o + "-sys"),
        ("other's projection", o + "_proj"), ("other's channel", o + "_news"),
        ("other's handler", "sweep_%s.secret_add" % o), ("other's read model", "sweep_%s.rm" % o),
        ("missing", "no_such_thing"),
    ]


# Extra hostile texts for arguments of these names.
TEXT_EXTRAS = {
    "kind": ["named", "unnamed", "pooled", "pipe", "forward", "effects", "NAMED"],
    "state_type": ["jsonb", "xml", "JSON"],
    "mode": ["async", "STRICT"],
    "privilege": ["invoke", "read", "spawn", "admin", "all", "any", "INVOKE", "execute"],
    "grantee": ["public", "PUBLIC", "postgres", "sweep_alice", "sweep_bob", "pg_read_all_data",
                "no_such_role"],
    "what": ["system", "channel", "projection", "action", "actor", "unknown what"],
    "cron_expression": [
        "* * * * *", "* * * * * *", "* * * * * * *", "61 * * * *", "0 0 31 2 *", "* * * * 7",
        "* * * * 8", "* * * * SUN", "* * * * sat", "* * * * SUN-SAT", "* * * * SAT-SUN",
        "* * * * MON,FRI", "* * * * SUNDAY", "* * * * S", "* * * JAN-DEC *", "* * * DEC-JAN *",
        "* * * FOO *", "*/0 * * * *", "*/ * * * *", "*/61 * * * *", "1-0 * * * *",
        "0-59/1 * * * * *", "-1 * * * *", "9999999999999999999 * * * *", ",,,, * * * *",
        "* * * * * ,", "@hourly", "60 60 24 32 13 7", "*" * 200, "1-" + "9" * 50 + " * * * *",
    ],
    "function_name": ["public.sweep_add(jsonb)", "public.sweep_add(jsonb, jsonb",
                      "pg_catalog.now", "(jsonb, jsonb)", '"unterminated', "public.", "."],
    "handler": ["pg_catalog.now", "pg_catalog.jsonb_typeof", "(", ".", '"unterminated',
                "public.sweep_add"],
    "reply_channel": ["UPPER", "a b", "spawn_reply"],
}

INT8 = [("zero", "0"), ("minus one", "-1"), ("bigint min", "-9223372036854775808"),
        ("bigint max", "9223372036854775807")]
INT4 = [("zero", "0"), ("minus one", "-1"), ("integer min", "-2147483648"),
        ("integer max", "2147483647")]
TIMES = [("infinity", "infinity"), ("-infinity", "-infinity"),
         ("far past", "4713-01-01 00:00:00+00 BC"), ("far future", "294276-12-31 23:59:59+00"),
         ("epoch", "1970-01-01 00:00:00+00"), ("yesterday", "yesterday"), ("tomorrow", "tomorrow")]
JSONS = [("{}", "{}"), ("[]", "[]"), ("json null", "null"), ('""', '""'), ("0", "0"),
         ("-1", "-1"), ("true", "true"), ('"x"', '"x"'), ("1e1000", "1e1000"),
         ("empty key", '{"": ""}'), ("nested 5,000 arrays", deep_array(DEPTH)),
         ("nested 5,000 objects", deep_object(DEPTH)), ("array of 100,000", BIG_ARRAY),
         ("object of 100,000 keys", BIG_OBJECT), ("1,000,000-byte string", HUGE_STRING)]

# Extra hostile jsonb for arguments of these names ({o}: another role; {add}: a handler's oid).
JSON_EXTRAS = {
    "actions": ['{"add": "sweep_{o}.secret_add"}', '{"add": 1}', '{"add": null}',
                '{"": "public.sweep_add"}', '{"add": "public.sweep_add(jsonb)"}',
                '{"add": "pg_catalog.now"}', '{"add": "x(((("}', '{"add": ""}',
                '{"add": "public.sweep_ctx"}', '{"a\\u0001b": "public.sweep_add"}',
                '{"' + "a" * BIG + '": "public.sweep_add"}',
                '{"add": "' + "f" * BIG + '"}'],
    "handlers": ['{"add": 0}', '{"add": -1}', '{"add": 4294967296}', '{"add": "abc"}',
                 '{"add": {now}}', '{"add": {jsonb_typeof}}', '{"add": {secret}}',
                 '{"add": null}', '{"add": [1]}', '{"add": 1e30}', '{"": {add}}'],
    "timers": ['[{"action": "add", "every_ms": 0}]', '[{"action": "add", "every_ms": -1}]',
               '[{"action": "add", "every_ms": 1e30}]',
               '[{"action": "add", "every_ms": 9223372036854775808}]',
               '[{"action": "add", "every_ms": 9223372036854775807}]',
               '[{"action": "add", "every_ms": 1.5}]', '[{"action": "add", "every_ms": "5"}]',
               '[{"action": "nope", "every_ms": 1}]', '[1]', '[null]',
               '[{"action": "add", "every_ms": 1}, {"action": "add", "every_ms": 2}]'],
    "channels": ['[{"topic": ""}]', '[{"topic": "x", "action": 5}]', '[{"topic": "{o}_news"}]',
                 '[{"topic": "' + "t" * 64 + '"}]', '[{"topic": "' + "t" * BIG + '"}]',
                 '[null]', '[{"topic": "x", "action": "nope"}]',
                 '[{"topic": "x", "action": "add"}, {"topic": "x", "action": "add"}]'],
    "payload": ['{"value": 9223372036854775807}', '{"value": "x"}', '{"value": 1e1000}'],
    "metadata": ['{"caller": "{o}_counter"}'],
    "tags": ['{"a": ' + deep_array(100) + '}'],
}


def values_for(typ, argname, other, oids, fx_other):
    """Every hostile value for an argument of type `typ` named `argname`."""
    o = other
    subst = {"o": o, "now": str(oids["now"]), "jsonb_typeof": str(oids["jsonb_typeof"]),
             "secret": str(fx_other["secret_oid"]), "add": str(oids["add"])}
    vals = [null(typ)]
    if typ == "text":
        vals += [typed(label, v, typ) for label, v in text_values(o)]
        vals += [typed(v, v, typ) for v in TEXT_EXTRAS.get(argname, [])]
    elif typ == "bigint":
        vals += [typed(label, v, typ) for label, v in INT8]
        vals += [typed("other's " + k, str(fx_other[k]), typ)
                 for k in ("reply_id", "dead_id", "schedule_id", "message_id")]
    elif typ == "integer":
        vals += [typed(label, v, typ) for label, v in INT4]
        vals += [typed("other's " + k, str(fx_other[k]), typ) for k in ("proj_id", "def_id")]
    elif typ == "boolean":
        vals += [typed("true", "true", typ), typed("false", "false", typ)]
    elif typ == "timestamp with time zone":
        vals += [typed(label, v, typ) for label, v in TIMES]
    elif typ == "jsonb":
        vals += [typed(label, v, typ) for label, v in JSONS]
        for v in JSON_EXTRAS.get(argname, []):
            for key, sub in subst.items():
                v = v.replace("{" + key + "}", sub)
            vals.append(typed(v[:60], v, typ))
    elif typ == "text[]":
        vals += [typed("{}", "{}", typ), typed("{NULL}", "{NULL}", typ),
                 typed('{""}', '{""}', typ), typed("2-D array", "{{a,b},{c,d}}", typ),
                 typed("lower bound 0", "[0:1]={%s_counter,%s_counter}" % (o, o), typ),
                 typed("other's actors", "{%s_counter,%s_tpl}" % (o, o), typ),
                 typed("other's instance", "{%s-1}" % o, typ),
                 typed("other's pooled actor", "{%s_pool}" % o, typ),
                 typed("100,000-byte element", "{%s}" % LONG, typ),
                 expr("array of 100,000", "array_fill('n'::text, ARRAY[%d])" % BIG)]
    elif typ == "jsonb[]":
        vals += [typed("{}", "{}", typ), typed("{NULL}", "{NULL}", typ),
                 expr("{json null}", "ARRAY['null'::jsonb]"),
                 expr("{[]}", "ARRAY['[]'::jsonb]"),
                 expr("2-D array", "ARRAY[ARRAY['{}'::jsonb, '{}'::jsonb], ARRAY['{}'::jsonb, '{}'::jsonb]]"),
                 ("nested 5,000", "ARRAY[%s::jsonb]", [deep_array(DEPTH)]),
                 expr("array of 100,000", "array_fill(spawn.effect('n', 'add'), ARRAY[%d])" % BIG),
                 expr("effect on other's actor", "ARRAY[spawn.effect('%s_counter', 'add')]" % o)]
    elif typ in ("regprocedure", "regclass", "oid", "regrole"):
        pick = {"regprocedure": [("0", 0), ("missing oid", 4294967295),
                                 ("other's handler", fx_other["secret_oid"]),
                                 ("other's projection handler", fx_other["project_oid"]),
                                 ("pg_catalog.now()", oids["now"]),
                                 ("pg_catalog.jsonb_typeof(jsonb)", oids["jsonb_typeof"]),
                                 ("pg_catalog.textlen(text)", oids["textlen"]),
                                 ("spawn.invoke", oids["invoke"]),
                                 ("context handler", oids["ctx"])],
                "regclass": [("0", 0), ("missing oid", 4294967295),
                             ("other's read model", fx_other["rm_oid"]),
                             ("pg_catalog.pg_authid", oids["authid"]),
                             ("spawn._instances", oids["instances"]),
                             ("a view", oids["view"]), ("a sequence", oids["sequence"])],
                "oid": [("0", 0), ("1", 1), ("10", 10), ("missing oid", 4294967295),
                        ("other's role", fx_other["role_oid"])],
                "regrole": [("0", 0), ("other's role", fx_other["role_oid"])]}[typ]
        vals += [("%s (%s)" % (label, v), "%s::oid::" + typ, [str(v)]) for label, v in pick]
    elif typ == "spawn.value":
        vals += [expr("all null", "ROW(NULL, NULL, NULL)::spawn.value"),
                 ("nested 5,000", "ROW(%s::jsonb, %s::jsonb, %s::jsonb)::spawn.value",
                  [deep_array(DEPTH), deep_object(DEPTH), deep_object(DEPTH)]),
                 expr("scalar workflow", "ROW('{}', '{}', '\"x\"')::spawn.value"),
                 expr("effects not an array", "ROW(NULL, NULL, '{\"effects\": 5}')::spawn.value"),
                 ("100,000 effects", "ROW(NULL, NULL, jsonb_build_object('effects', %s::jsonb))::spawn.value",
                  [BIG_ARRAY]),
                 expr("pipe to other's actor",
                      "ROW(NULL, NULL, jsonb_build_object('pipe', jsonb_build_object("
                      "'actor', '%s_counter', 'action', 'add')))::spawn.value" % o)]
    else:
        print("# note: no hostile values for type %s beyond NULL" % typ)
    return vals


# ---------------------------------------------------------------------------------------------
# Baselines: a valid value for every argument, by function and argument name
# ---------------------------------------------------------------------------------------------

# The actions of the actor the baselines register ({p}_new).
NEW_ACTIONS = '{"add": "public.sweep_add", "receive": "public.sweep_add", "ctx": "public.sweep_ctx"}'


def baseline(fn, arg, typ, fx, oids):
    """(label, SQL, params, force) of a valid value of `arg` of `fn` for the role of `fx`;
    force: pass it even when the argument has a default (otherwise a default is omitted)."""
    p = fx["p"]
    specific = {
        ("_check_name", "what"): ("actor", True), ("_check_name", "name"): ("ok", True),
        ("create_system", "name"): (p + "-newsys", True),
        ("_register_actor", "name"): (p + "_new", True),
        ("register_actor", "name"): (p + "_new", True),
        ("register_actor", "actions"): (NEW_ACTIONS, True),
        ("_register_actor", "actions"): (NEW_ACTIONS, True),
        ("_register_actor", "handlers"): ('{"add": %d, "receive": %d, "ctx": %d}'
                                          % (oids["add"], oids["add"], oids["ctx"]), True),
        ("unregister_actor", "name"): (p + "_counter", True),
        ("spawn_actor", "name"): (p + "-new", True),
        ("_require_projection", "name"): (p + "_proj", True),
        ("rebuild_projection", "name"): (p + "_proj", True),
        ("drop_projection", "name"): (p + "_proj", True),
        ("create_projection", "name"): (p + "_newproj", True),
        ("_create_projection", "name"): (p + "_newproj", True),
        ("create_projection", "handler"): ("sweep_%s.project" % p, True),
        ("_resolve_projection_handler", "handler"): ("sweep_%s.project" % p, True),
        ("_create_projection", "mode"): ("strict", True),
        ("_create_projection", "system"): ("spawn-system", True),
        ("_route", "kind"): ("pipe", True),
        ("result", "id"): (fx["reply_id"], True), ("wait", "id"): (fx["reply_id"], True),
        ("wait", "timeout_ms"): (100, True),
        ("retry_dead_letter", "id"): (fx["dead_id"], True),
        ("discard_dead_letter", "id"): (fx["dead_id"], True),
        ("unschedule", "id"): (fx["schedule_id"], True),
        ("restore", "revision"): (fx["revision"], True),
        ("_resolve_handler", "function_name"): ("public.sweep_add", True),
        ("grant", "actor"): (p + "_counter", True), ("revoke", "actor"): (p + "_counter", True),
        ("_grant_target", "actor"): (p + "_counter", True),
        ("_may", "role"): (fx["role_oid"], True),
    }
    general = {
        "actor": (p + "_counter", True), "action": ("add", True), "system": ("spawn-system", True),
        "parent": (p + "_tpl", True), "payload": ('{"value": 1}', False),
        "metadata": ('{"m": 1}', False), "register_ref": (None, True),
        "channel": (p + "_news", True), "cron_expression": ("0 0 1 1 *", True),
        "actions": (NEW_ACTIONS, True),
        "timers": ("[]", True), "channels": ("[]", True), "tags": ("{}", True),
        "options": ("{}", True), "response": ('{"r": 1}', True), "state": ('{"s": 1}', True),
        "kind": ("named", True), "state_type": ("json", True), "stateful": (True, True),
        "journal": (False, True), "deactivate_timeout": (30000, True),
        "snapshot_timeout": (10000, True), "delay_ms": (0, True), "reply_channel": ("spawn_reply", True),
        "from_revision": (1, True), "to_revision": (None, True), "populate": (True, True),
        "mode": ("strict", False), "actors": ("{%s_counter}" % p, True),
        "projection_id": (fx["proj_id"], True), "clear": (False, True),
        "definition_id": (fx["def_id"], True), "caller": (fx["role_oid"], True),
        "scheduled_to": (None, False), "privilege": ("invoke", True), "grantee": ("public", True),
        "admin_may": (True, True),
    }
    if typ == "spawn.value":
        return ("baseline", "spawn.reply('{\"r\": 1}', '{\"s\": 1}')", [], True)
    if typ == "jsonb[]":
        return ("baseline", "ARRAY[spawn.effect('%s_counter', 'add')]" % p, [], True)
    if typ == "regprocedure":
        oid = fx["project_oid"] if "projection" in fn else oids["add"]
        return ("baseline", "%s::oid::regprocedure", [str(oid)], True)
    if typ == "regclass":
        oid = fx["rm2_oid"] if fn.endswith("create_projection") else fx["rm_oid"]
        return ("baseline", "%s::oid::regclass", [str(oid)], True)
    value, force = specific.get((fn, arg)) or general.get(arg) or (None, None)
    if force is None:
        generic = {"text": "x", "bigint": 1, "integer": 1, "boolean": True, "jsonb": "{}",
                   "oid": fx["role_oid"], "text[]": "{x}", "timestamp with time zone": "now"}
        if typ not in generic:
            print("# note: no baseline for %s.%s (%s): NULL" % (fn, arg, typ))
        value, force = generic.get(typ), True
    if value is None:
        return ("baseline", "NULL::" + typ, [], force)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return ("baseline", "%s::" + typ, [str(value)], force)


# When an argument is the hostile one, these others change so that it is reached.
COMPANIONS = {
    "register_ref": {"actor": "{p}-fresh"},
}


# ---------------------------------------------------------------------------------------------
# The functions, from pg_proc
# ---------------------------------------------------------------------------------------------

def functions():
    """Every function of schema spawn: name, volatility, and its input arguments as
    (name, type, variadic, has default)."""
    conn = connect("postgres", True)
    cur = conn.cursor()
    cur.execute("""
      SELECT p.oid::regprocedure::text, p.proname, p.provolatile, p.pronargs, p.pronargdefaults,
             coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'),
             ARRAY(SELECT format_type(t, NULL)
                   FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, n) ORDER BY n)
      FROM pg_proc p WHERE p.pronamespace = 'spawn'::regnamespace ORDER BY 1""")
    result = []
    for signature, name, volatility, nargs, ndefaults, names, modes, types in cur.fetchall():
        if modes:
            in_names = [n for n, m in zip(names, modes) if m in ("i", "b", "v")]
            variadic = [m == "v" for m in modes if m in ("i", "b", "v")]
        else:
            in_names = list(names) or []
            variadic = [False] * nargs
        if len(in_names) < nargs:
            in_names += ["$%d" % (i + 1) for i in range(len(in_names), nargs)]
        args = [(in_names[i], types[i], variadic[i], i >= nargs - ndefaults) for i in range(nargs)]
        result.append((signature, name, volatility, args))
    conn.close()
    return result


def call_sql(name, args, chosen):
    """The statement calling `name` in named notation with the chosen values."""
    parts, params = [], []
    for (argname, typ, variadic, _), value in zip(args, chosen):
        if value is None:
            continue
        _, sql, vparams = value
        prefix = "VARIADIC " if variadic else ""
        if argname.startswith("$"):
            parts.append(sql)
        else:
            quoted = psycopg2.sql.Identifier(argname).as_string(CONN_FOR_QUOTING)
            parts.append(prefix + quoted + " => " + sql)
        params += vparams
    target = psycopg2.sql.Identifier("spawn", name).as_string(CONN_FOR_QUOTING)
    return "SELECT * FROM %s(%s)" % (target, ", ".join(parts)), params


# ---------------------------------------------------------------------------------------------
# Calling and judging
# ---------------------------------------------------------------------------------------------

CORE_FILE = re.compile(r"^[a-z_0-9]+\.c$")


def from_spawn(diag):
    """True when spawn itself raised the error: from its C++ sources, or a RAISE in one of its
    PL/pgSQL functions."""
    source = diag.source_file or ""
    if source and not CORE_FILE.match(source.rsplit("/", 1)[-1]):
        return True
    context = (diag.context or "").split("\n", 1)[0]
    return diag.source_function == "exec_stmt_raise" and "function spawn." in context


def style_problem(message):
    """What breaks PostgreSQL's message style (lowercase first, no trailing period), or None."""
    if not message:
        return "an empty message"
    if message[0].isupper() and not message[:2].isupper():
        return "the message starts with a capital"
    if message.endswith(".") and not message.endswith("..."):
        return "the message ends with a period"
    return None


class ConnectionLost(Exception):
    """The connection died in a probe (already reported and recovered)."""


class Sweeper:
    """Runs calls as one role, with a watchdog connection, and judges every outcome."""

    def __init__(self, role, p, other, fixtures):
        """Connects as `role` (fixtures prefixed `p`); `other` owns the objects it must not touch."""
        self.role, self.p, self.other, self.fixtures = role, p, other, fixtures
        self.fp_expected = None
        self.connect()

    def connect(self):
        """(Re)opens the calling and the watchdog connections."""
        self.conn = connect(self.role, False)
        self.conn.cursor().execute("SET statement_timeout = %s", (TIMEOUT,))
        self.conn.commit()
        self.watchdog = connect("postgres", True)
        if self.role != "postgres" and self.fp_expected is None:
            self.fp_expected = self.fingerprint_now()

    def fingerprint_query(self):
        """The digest query of the other role's protected objects."""
        return ("SELECT sweep_fp.fingerprint(%s::regrole)", (ROLES[self.other],))

    def fingerprint_now(self):
        """The other role's digest as committed, read on the watchdog connection."""
        cur = self.watchdog.cursor()
        cur.execute(*self.fingerprint_query())
        return cur.fetchone()[0]

    def alive(self):
        """Runs SELECT 1 on the watchdog; False if the server reset (a backend crashed)."""
        try:
            cur = self.watchdog.cursor()
            cur.execute("SELECT 1")
            return cur.fetchone()[0] == 1
        except psycopg2.Error:
            return False

    def recover(self, what, offset, why):
        """Reports a crash or a lost connection with the server log's account, waits for the
        server and reconnects."""
        counts["lost connections"] += 1
        # The postmaster resets every backend a moment after one crashed: wait for the watchdog
        # to go too (it stays when only the calling backend exited), so the sweep goes on
        # against the restarted server and the next call is not blamed.
        deadline = time.time() + 5
        while time.time() < deadline and self.alive():
            time.sleep(0.1)
        lines = [l for l in log_since(offset) if "terminated by signal" in l or "PANIC" in l
                 or "was terminated" in l or "exited with exit code" in l]
        fail(what, why + ("; server log: " + " / ".join(lines[:2]) if lines else ""))
        for c in (self.conn, self.watchdog):
            try:
                c.close()
            except psycopg2.Error:
                pass
        if not wait_for_server():
            raise SystemExit("the server did not come back after " + what)
        self.connect()

    def run(self, what, statement, params, volatile):
        """One call in its own transaction, rolled back; judges its outcome."""
        counts["calls"] += 1
        offset = log_size()
        self.outcome = "result"
        started = time.time()
        try:
            self.run_judged(what, statement, params, volatile, offset)
        finally:
            function = what.split(" as ")[0]
            seconds[function] = seconds.get(function, 0.0) + time.time() - started

    def run_judged(self, what, statement, params, volatile, offset):
        """The body of run: the call, its probe, the rollback and the watchdog."""
        cur = self.conn.cursor()
        try:
            cur.execute(statement, params)
            rows = cur.fetchall()
        except psycopg2.Error as e:
            if not self.judge_error(what, e, offset):
                return
        else:
            counts["results"] += 1
            by_state["result"] = by_state.get("result", 0) + 1
            if self.role != "postgres":
                self.check_other_role(what, rows)
            if volatile:
                try:
                    self.probe(what, offset)
                except ConnectionLost:
                    return
        try:
            self.conn.rollback()
        except psycopg2.Error as e:
            self.recover(what, offset, "the rollback failed: %s" % str(e).strip())
            return
        if not self.alive():
            self.recover(what, offset, "the watchdog's SELECT 1 failed: the server reset")
        elif VERBOSE or (what.endswith(", baseline") and self.outcome != "result"
                         and not self.outcome.startswith("42501")):
            # A baseline that fails keeps the hostile values from reaching deeper code.
            print("# %s: %s" % (what, self.outcome))

    def judge_error(self, what, e, offset):
        """Classifies an error; returns False when the connection was lost (and recovered)."""
        code = e.pgcode
        if code is None or self.conn.closed:
            self.recover(what, offset, "the calling connection died: %s" % str(e).strip()[:200])
            return False
        counts["errors"] += 1
        by_state[code] = by_state.get(code, 0) + 1
        message = e.diag.message_primary or ""
        self.outcome = "%s %s" % (code, message[:100])
        if code.startswith("XX"):
            fail(what, "SQLSTATE %s: %s" % (code, message))
        elif code.startswith("23") and e.diag.schema_name == "spawn":
            fail(what, "a constraint of spawn's own table %s reached the caller instead of a "
                 "clear error: %s [%s]" % (e.diag.table_name, message, code))
        elif code == "57014" and "statement timeout" in message:
            fail(what, "did not end within statement_timeout (%s)" % TIMEOUT)
        elif code in ("57P01", "57P02", "57P03"):
            fail(what, "SQLSTATE %s: %s" % (code, message))
        elif from_spawn(e.diag):
            counts["from spawn"] += 1
            if len(message) > 1000:
                long_messages.add(what.split(" as ")[0])
            problem = style_problem(message)
            if code == "P0001":
                fail(what, "spawn raised P0001 (no explicit SQLSTATE): %s" % message)
            elif problem:
                fail(what, "%s: %s [%s]" % (problem, message, code))
        return True

    def check_other_role(self, what, rows):
        """For the ordinary role: the result must not reveal other roles' data, and the call
        must not have changed the other role's objects."""
        text = repr(rows)
        for p in ROLES:
            if p != self.p and SECRET + p in text:
                fail(what, "as %s the result reveals %s's data: %s" % (self.role, p, text[:200]))
        try:
            cur = self.conn.cursor()
            cur.execute(*self.fingerprint_query())
            inside = cur.fetchone()[0]
        except psycopg2.Error as e:
            fail(what, "the fingerprint after the call failed: %s" % str(e).strip()[:200])
            return
        if inside != self.fp_expected:
            committed = self.fingerprint_now()
            if inside != committed:
                fail(what, "as %s it changed %s's objects (only their owner may)" % (self.role, self.other))
            self.fp_expected = committed

    def probe(self, what, offset):
        """After a volatile call succeeded: invokes the role's actors in the same transaction
        (and the actor and instance the baselines register and spawn), so a definition or
        projection the call left behind is exercised too."""
        p = self.p
        for statement in ("SELECT spawn.invoke('%s_counter', 'add', '{\"value\": 1}')" % p,
                          "SELECT spawn.invoke('%s-1', 'add', '{\"value\": 1}')" % p,
                          "SELECT spawn.broadcast('%s_news')" % p,
                          "SELECT spawn.invoke('%s_new', 'add', '{\"value\": 1}')" % p,
                          "SELECT spawn.invoke('%s_new', 'ctx')" % p,
                          "SELECT spawn.invoke('%s-new', 'add')" % p):
            counts["probes"] += 1
            cur = self.conn.cursor()
            try:
                cur.execute("SAVEPOINT probe")
                cur.execute(statement)
                cur.fetchall()
                cur.execute("RELEASE SAVEPOINT probe")
            except psycopg2.Error as e:
                label = what + ", then " + statement
                if e.pgcode is None or self.conn.closed:
                    self.recover(label, offset, "the connection died in this probe after the call: %s"
                                 % str(e).strip()[:200])
                    raise ConnectionLost()
                if VERBOSE:
                    print("# %s: %s %s" % (label, e.pgcode, (e.diag.message_primary or "")[:100]))
                if e.pgcode.startswith("XX"):
                    fail(label, "SQLSTATE %s: %s" % (e.pgcode, e.diag.message_primary))
                elif e.pgcode == "57014":
                    fail(label, "did not end within statement_timeout (%s)" % TIMEOUT)
                try:
                    cur.execute("ROLLBACK TO SAVEPOINT probe")
                except psycopg2.Error:
                    return


def sweep(role, p, other, fixtures, oids, funcs):
    """Calls every function as `role`: once with its baseline, then one hostile value at a time."""
    sweeper = Sweeper(role, p, other, fixtures)
    fx, fx_other = fixtures[p], fixtures[other]
    for signature, name, volatility, args in funcs:
        base = [baseline(name, a[0], a[1], fx, oids) for a in args]
        defaults = [(label, sql, params) if force or not a[3] else None
                    for a, (label, sql, params, force) in zip(args, base)]
        volatile = volatility == "v"
        sweeper.run("%s as %s, baseline" % (signature, role), *call_sql(name, args, defaults),
                    volatile)
        for i, (argname, typ, _, _) in enumerate(args):
            chosen = list(defaults)
            for other_arg, value in COMPANIONS.get(argname, {}).items():
                for j, a in enumerate(args):
                    if a[0] == other_arg:
                        chosen[j] = ("companion", "%s::" + a[1], [value.format(p=p)])
            for value in values_for(typ, argname, other, oids, fx_other):
                chosen[i] = value
                label = value[0] if len(value[0]) <= 60 else value[0][:57] + "..."
                what = "%s as %s, %s => %s" % (signature, role, argname, label)
                sweeper.run(what, *call_sql(name, args, chosen), volatile)


def main():
    """Sets up, sweeps as the ordinary role and as the superuser, reads the server log, and
    prints the summary."""
    global CONN_FOR_QUOTING
    started = time.time()
    start_offset = log_size()
    fixtures, oids = setup()
    private_schema_check()
    CONN_FOR_QUOTING = connect("postgres", True)
    funcs = functions()
    print("# %d functions in schema spawn, %d arguments" % (len(funcs), sum(len(f[3]) for f in funcs)))
    sweep("sweep_bob", "bob", "alice", fixtures, oids, funcs)
    sweep("postgres", "su", "alice", fixtures, oids, funcs)
    crashes = [l for l in log_since(start_offset) if "terminated by signal" in l]
    if crashes and counts["lost connections"] == 0:
        fail("the server log", " / ".join(crashes[:3]))
    print("# %d calls in %.0f s: %d results, %d errors (%d raised by spawn itself); %d probes "
          "after volatile calls" % (counts["calls"], time.time() - started, counts["results"],
                                    counts["errors"], counts["from spawn"], counts["probes"]))
    print("# outcomes by SQLSTATE: " + ", ".join("%s %d" % kv for kv in sorted(by_state.items())))
    slowest = sorted(seconds.items(), key=lambda kv: -kv[1])[:5]
    print("# slowest: " + ", ".join("%s %.1f s" % (f.split("(")[0], t) for f, t in slowest))
    if long_messages:
        print("# note: messages longer than 1,000 bytes (a huge argument repeated) from: "
              + ", ".join(sorted(long_messages)))
    if failures:
        print("# %d failing call(s)" % len(failures))
        sys.exit(1)
    print("ok - every call ended in a result or a clear error")


CONN_FOR_QUOTING = None
if __name__ == "__main__":
    main()
