"""Clients of the failover test: threads that invoke and cast through a multi-host connection
string (target_session_attrs=read-write) until told to stop, reconnecting after the primary
dies. Every call carries a unique id; the ids of acknowledged calls and of calls whose outcome
is unknown (the connection broke before the answer) are written to files for the checks, with
how many calls were acknowledged after the client's first broken call (by the new primary).

Usage: failover_clients.py DSN SECONDS OUTDIR
"""
import os
import sys
import threading
import time

import psycopg2

DSN, SECONDS, OUT = sys.argv[1], float(sys.argv[2]), sys.argv[3]
stop_at = time.time() + SECONDS


def client(number, verb):
    """Sends calls of one kind (invoke or cast) until the deadline, writing what happened."""
    acked, unknown = [], []
    acked_after_failure = 0
    conn = None
    sequence = 0
    while time.time() < stop_at:
        if conn is None:
            try:
                conn = psycopg2.connect(DSN, connect_timeout=2)
                conn.autocommit = True
            except psycopg2.Error:
                time.sleep(0.1)
                continue
        sequence += 1
        call_id = number * 1000000 + sequence
        actor = "a-%d" % (call_id % 40)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT spawn.%s(%%s, 'add', jsonb_build_object('id', %%s::bigint), "
                    "register_ref => 'ledger')" % verb, (actor, call_id))
                cur.fetchall()
            acked.append(call_id)
            acked_after_failure += 1 if unknown else 0
        except psycopg2.Error:
            unknown.append(call_id)
            try:
                conn.close()
            except psycopg2.Error:
                pass
            conn = None
    with open(os.path.join(OUT, "%s-%d.acked" % (verb, number)), "w") as f:
        f.write("".join("%d\n" % i for i in acked))
    with open(os.path.join(OUT, "%s-%d.unknown" % (verb, number)), "w") as f:
        f.write("".join("%d\n" % i for i in unknown))
    with open(os.path.join(OUT, "%s-%d.after" % (verb, number)), "w") as f:
        f.write("%d\n" % acked_after_failure)


threads = [threading.Thread(target=client, args=(n, "invoke" if n % 2 else "cast"))
           for n in range(1, 5)]
for t in threads:
    t.start()
for t in threads:
    t.join()
