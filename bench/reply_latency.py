#!/usr/bin/env python3
"""Cast-to-NOTIFY latency of spawn.invoke_async at a steady rate, free of the sender's limits.

Request n is due at start + n / RATE. SENDERS processes (own connections, so neither one
connection's round trip nor Python's GIL caps the rate) send the requests n = k, k + SENDERS, ...
each at its due time; one more process LISTENs and stamps each reply's notification as it
arrives. Latency is receipt minus due time (not minus the moment the request went out: a sender
that falls behind adds its lag to the latency instead of hiding it). All stamps are
CLOCK_MONOTONIC, one clock for every process on the machine. Prints the rate achieved, how late
the requests went out (p99 send lag: a large one means the sender, not spawn, limited the run),
the latency percentiles, and the part after the request's own commit was acknowledged (wake-up
of a worker, its drain, its commit and the notification's delivery).

Usage: reply_latency.py HOST PORT RATE SECONDS [SENDERS]"""
import json
import multiprocessing
import select
import sys
import time

import psycopg2
import psycopg2.extensions


def clock():
    """Seconds on CLOCK_MONOTONIC, comparable between processes."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def connect(host, port):
    """An autocommit connection."""
    conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres")
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    return conn


def listen(host, port, ready, stop_at, out):
    """Stamps each reply's notification until `stop_at` (a shared deadline) has passed."""
    conn = connect(host, port)
    conn.cursor().execute("LISTEN bench_reply")
    ready.set()
    received = {}
    while clock() < stop_at.value:
        if select.select([conn], [], [], 0.05) != ([], [], []):
            conn.poll()
            now = clock()
            while conn.notifies:
                received[json.loads(conn.notifies.pop(0).payload)["id"]] = now
    out.put(received)


def send(host, port, first, step, connected, go, start_at, rate, count, out):
    """Connects, says so on `connected` and waits for `go`, then sends requests first,
    first + step, ... below count, each at its due time (start_at plus n / rate); reports for
    each request id its due time, how late it went out and when its commit was acknowledged."""
    cur = connect(host, port).cursor()
    # One request before the clock starts, to a channel nobody listens on: a new backend's first
    # call loads the library, caches and plans (100 to 200 ms here), which a pooled
    # application pays once per connection, not per request.
    cur.execute("SELECT spawn.invoke_async('c-' || %s, 'add', '{\"value\": 0}', "
                "reply_channel => 'bench_warm_up')", (str(1 + first % 1000),))
    connected.put(first)
    go.wait()
    start = start_at.value
    sent = {}
    for n in range(first, count, step):
        due = start + n / rate
        now = clock()
        if due > now:
            time.sleep(due - now)
        lag = clock() - due
        cur.execute("SELECT spawn.invoke_async('c-' || %s, 'add', '{\"value\": 1}', "
                    "reply_channel => 'bench_reply')", (str(1 + n % 1000),))
        sent[cur.fetchone()[0]] = (due, lag, clock())
    out.put((sent, clock()))


def percentile(values, p):
    """The p-th percentile of sorted values."""
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    host, port, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    senders = int(sys.argv[5]) if len(sys.argv) > 5 else 16
    count = int(rate * seconds)
    ready, stop_at = multiprocessing.Event(), multiprocessing.Value("d", float("inf"))
    replies, sends = multiprocessing.Queue(), multiprocessing.Queue()
    listener = multiprocessing.Process(target=listen, args=(host, port, ready, stop_at, replies))
    listener.start()
    ready.wait()
    # The clock starts once every sender is connected and warmed up: senders still starting up
    # would make the first requests late and count their start-up as latency.
    connected, go = multiprocessing.Queue(), multiprocessing.Event()
    start_at = multiprocessing.Value("d", 0.0)
    procs = [multiprocessing.Process(target=send, args=(host, port, k, senders, connected, go,
                                                        start_at, rate, count, sends))
             for k in range(senders)]
    for p in procs:
        p.start()
    for _ in procs:
        connected.get()
    start = start_at.value = clock() + 0.05  # set before `go` lets the senders read it
    go.set()
    sent, last = {}, start
    for _ in procs:
        part, finished = sends.get()
        sent.update(part)
        last = max(last, finished)
    stop_at.value = clock() + 3  # grace for the last replies; later ones count as missing
    received = replies.get()
    listener.join()
    for p in procs:
        p.join()
    latencies = sorted((received[i] - due) * 1000 for i, (due, _, _) in sent.items()
                       if i in received)
    after_ack = sorted((received[i] - acked) * 1000 for i, (_, _, acked) in sent.items()
                       if i in received)
    lags = sorted(lag * 1000 for _, lag, _ in sent.values())
    if not latencies:
        print("no replies received")
        sys.exit(1)
    print(f"sent {len(sent)} at {len(sent) / (last - start):.0f}/s by {senders} senders "
          f"(send lag ms p50 {percentile(lags, 50):.2f} p99 {percentile(lags, 99):.2f}), "
          f"received {len(latencies)} (missing {len(sent) - len(latencies)}); latency from due time ms p50 {percentile(latencies, 50):.2f} "
          f"p90 {percentile(latencies, 90):.2f} p99 {percentile(latencies, 99):.2f} "
          f"max {latencies[-1]:.2f}; from the request's commit (the scheduler's part) ms "
          f"p50 {percentile(after_ack, 50):.2f} p99 {percentile(after_ack, 99):.2f}")


if __name__ == "__main__":
    main()
