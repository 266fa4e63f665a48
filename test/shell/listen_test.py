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
cur.execute("""SELECT spawn.register_actor('ln_counter', kind => 'unnamed',
               actions => '{"add": "public.incrementor_add"}')""")
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

# A request whose error reply was announced runs again after spawn.retry_dead_letter: its new
# reply replaces the error, and is announced.
cur.execute("""SELECT spawn.register_actor('ln_mend', actions => '{"try": "public.fails_while_broken"}')""")
cur.execute("SELECT spawn.invoke_async('ln_mend', 'try')")
mended = cur.fetchone()[0]
notes = receive(listener, 1, timeout=30.0)
check("a request that used up its attempts is announced as an error",
      [json.loads(n.payload) for n in notes] == [{"id": mended, "status": "error", "sqlstate": "P0001"}],
      str([n.payload for n in notes]))
cur.execute("UPDATE public.ln_broken SET broken = false")
cur.execute("SELECT spawn.retry_dead_letter(%s)", (mended,))
cur.execute("SELECT status FROM spawn.result(%s)", (mended,))
check("after spawn.retry_dead_letter it is pending again", cur.fetchone()[0] == "pending")
notes = receive(listener, 1)
check("and its new reply is announced",
      [json.loads(n.payload) for n in notes] == [{"id": mended, "status": "ok"}],
      str([n.payload for n in notes]))
cur.execute("SELECT status, response, error FROM spawn.result(%s)", (mended,))
check("and replaces the error", cur.fetchone() == ("ok", {"fixed": True}, None))

cur.execute("""SELECT spawn.invoke_async('ln', 'echo', jsonb_build_object('pad', repeat('x', 9000)))""")
big = cur.fetchone()[0]
notes = receive(listener, 1)
payload = json.loads(notes[0].payload) if notes else {}
check("a large reply is announced like any other",
      payload.get("id") == big and payload.get("status") == "ok" and "response" not in payload,
      str(payload)[:200])
cur.execute("SELECT status, length(response->>'pad') FROM spawn.result(%s)", (big,))
check("and can be fetched with spawn.result", cur.fetchone() == ("ok", 9000))
# The reply of a message whose state write-back fails is rolled back, in the batch and again
# when it runs alone: no "ok" is announced for it, only the error once its attempts are used up.
cur.execute("""SELECT spawn.register_actor('ln_victim', actions => '{"add": "public.incrementor_add",
               "die": "public.reply_and_unregister"}')""")
cur.execute("""SELECT spawn.invoke_async('ln_victim', 'add', '{"value": 1}')""")
before = cur.fetchone()[0]
cur.execute("""SELECT spawn.invoke_async('ln_victim', 'die', '{}')""")
dying = cur.fetchone()[0]
notes = receive(listener, 3, timeout=20.0)
payloads = [json.loads(n.payload) for n in notes]
check("a reply rolled back with its write-back is never announced; its error is, once",
      sorted(payloads, key=lambda p: p["id"]) ==
      [{"id": before, "status": "ok"}, {"id": dying, "status": "error", "sqlstate": "55000"}],
      str(payloads))
cur.execute("SELECT error FROM spawn.result(%s)", (dying,))
check("and that error is the write-back's", "invisible tuple" in cur.fetchone()[0])

# Many requests at once, from several connections, to several actors (both workers answer):
# each reply is announced exactly once, and only once it is committed: the requester reads it
# (never "pending") as soon as the notification arrives.
senders = [connect() for _ in range(4)]
ids = set()
for round_ in range(50):
    for k, conn in enumerate(senders):
        c = conn.cursor()
        c.execute("SELECT spawn.invoke_async('ln-' || %s, 'add', '{\"value\": 1}', "
                  "register_ref => 'ln_counter')", (str((round_ * 4 + k) % 20),))
        ids.add(c.fetchone()[0])
seen, pending, deadline = [], 0, time.time() + 60
while len(seen) < len(ids) and time.time() < deadline:
    for note in receive(listener, 1, timeout=1.0):
        request = json.loads(note.payload)["id"]
        seen.append(request)
        cur.execute("SELECT status FROM spawn.result(%s)", (request,))
        pending += cur.fetchone()[0] == "pending"
seen += [json.loads(n.payload)["id"] for n in receive(listener, 1, timeout=2.0)]
check("200 concurrent requests: each announced exactly once",
      sorted(seen) == sorted(ids), f"{len(seen)} notifications, {len(set(seen))} distinct, "
      f"{len(ids)} requests")
check("and each announced reply was readable when its notification arrived", pending == 0,
      f"{pending} read as pending")
sys.exit(1 if failures else 0)
