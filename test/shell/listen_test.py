#!/usr/bin/env python3
"""A real LISTEN client (psycopg2) receives the NOTIFY of spawn.invoke_async replies.

Usage: listen_test.py HOST PORT. Prints TAP-like lines; exits non-zero on failure."""
import json
import select
import sys
import time

import psycopg2
import psycopg2.extensions

host, port = sys.argv[1], sys.argv[2]
failures = 0


def check(what, ok, detail=""):
    """Prints one result and counts failures."""
    global failures
    print(("ok - " if ok else "not ok - ") + what + ("" if ok else ": " + detail))
    failures += 0 if ok else 1


def connect():
    """An autocommit connection, as LISTEN clients use."""
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres")
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


def receive(conn, count, timeout=15.0):
    """Collects `count` notifications or gives up after `timeout` seconds."""
    received = []
    deadline = time.time() + timeout
    while len(received) < count and time.time() < deadline:
        if select.select([conn], [], [], 0.5) != ([], [], []):
            conn.poll()
            while conn.notifies:
                received.append(conn.notifies.pop(0))
    return received


listener, caller = connect(), connect()
listener.cursor().execute("LISTEN spawn_reply; LISTEN orders_done")
cur = caller.cursor()
cur.execute("""SELECT spawn.register_actor('ln', actions => '{"add": "public.incrementor_add",
               "fail": "public.always_fails", "echo": "public.echo_back"}')""")

cur.execute("""SELECT spawn.invoke_async('ln', 'add', '{"value": 5}')""")
first = cur.fetchone()[0]
cur.execute("""SELECT spawn.invoke_async('ln', 'add', '{"value": 5}', reply_channel => 'orders_done')""")
second = cur.fetchone()[0]
notes = receive(listener, 2)
check("two notifications arrive", len(notes) == 2, str(notes))
by_id = {json.loads(n.payload)["id"]: (n.channel, json.loads(n.payload)) for n in notes}
check("the default channel announces the first reply (id and status only)",
      by_id.get(first) == ("spawn_reply", {"id": first, "status": "ok"}), str(by_id.get(first)))
check("the chosen channel announces the second reply",
      by_id.get(second) == ("orders_done", {"id": second, "status": "ok"}), str(by_id.get(second)))
cur.execute("SELECT spawn.wait(%s)", (second,))
check("the requester reads the response with spawn.wait", cur.fetchone()[0] == {"total": 10})

cur.execute("BEGIN")
cur.execute("""SELECT spawn.invoke_async('ln', 'add', '{"value": 1}')""")
cur.execute("ROLLBACK")
check("a rolled-back request sends nothing", receive(listener, 1, timeout=2.0) == [])

cur.execute("""SELECT spawn.invoke_async('ln', 'fail', '{}')""")
failing = cur.fetchone()[0]
notes = receive(listener, 1, timeout=30.0)
payload = json.loads(notes[0].payload) if notes else {}
check("a failed request notifies its error's SQLSTATE after the retries",
      payload == {"id": failing, "status": "error", "sqlstate": "P0001"}, str(payload))
cur.execute("SELECT status, error FROM spawn.result(%s)", (failing,))
status, error = cur.fetchone()
check("and the requester reads the error with spawn.result", status == "error" and "always fails" in error)

cur.execute("""SELECT spawn.invoke_async('ln', 'echo', jsonb_build_object('pad', repeat('x', 9000)))""")
big = cur.fetchone()[0]
notes = receive(listener, 1)
payload = json.loads(notes[0].payload) if notes else {}
check("a large reply is announced like any other",
      payload.get("id") == big and payload.get("status") == "ok" and "response" not in payload,
      str(payload)[:200])
cur.execute("SELECT status, length(response->>'pad') FROM spawn.result(%s)", (big,))
check("and can be fetched with spawn.result", cur.fetchone() == ("ok", 9000))
sys.exit(1 if failures else 0)
