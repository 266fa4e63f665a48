#!/usr/bin/env python3
"""Cast-to-NOTIFY latency: sends spawn.invoke_async at a steady rate from one connection while
another LISTENs, and prints the achieved rate and latency percentiles (send start to receipt).

Usage: reply_latency.py HOST PORT RATE SECONDS"""
import json
import select
import sys
import threading
import time

import psycopg2
import psycopg2.extensions

host, port, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
sent, received = {}, {}
done = threading.Event()


def connect():
    """An autocommit connection."""
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres")
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


def listen(conn):
    """Records when each reply's notification arrives."""
    conn.cursor().execute("LISTEN bench_reply")
    while not done.is_set() or len(received) < len(sent):
        if select.select([conn], [], [], 0.2) != ([], [], []):
            conn.poll()
            now = time.perf_counter()
            while conn.notifies:
                received[json.loads(conn.notifies.pop(0).payload)["id"]] = now
        if done.is_set() and time.perf_counter() > deadline + 10:
            break


listener = connect()
deadline = time.perf_counter() + seconds
thread = threading.Thread(target=listen, args=(listener,))
thread.start()
time.sleep(0.5)
cur = connect().cursor()
start = time.perf_counter()
deadline = start + seconds
n = 0
while True:
    due = start + n / rate
    now = time.perf_counter()
    if due > deadline:
        break
    if due > now:
        time.sleep(due - now)
    t0 = time.perf_counter()
    cur.execute("SELECT spawn.invoke_async('c-' || %s, 'add', '{\"value\": 1}', "
                "reply_channel => 'bench_reply')", (str(1 + n % 1000),))
    sent[cur.fetchone()[0]] = t0
    n += 1
send_seconds = time.perf_counter() - start  # above `seconds` when sending could not keep up
done.set()
thread.join()
latencies = sorted((received[i] - t) * 1000 for i, t in sent.items() if i in received)
elapsed = time.perf_counter() - start
if not latencies:
    print("no replies received")
    sys.exit(1)


def pct(p):
    """The p-th percentile of the latencies in ms."""
    return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))]


print(f"sent {len(sent)} at {len(sent) / send_seconds:.0f}/s, received {len(latencies)}; "
      f"latency ms p50 {pct(50):.2f} p90 {pct(90):.2f} p99 {pct(99):.2f} max {latencies[-1]:.2f}")
