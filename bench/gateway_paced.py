#!/usr/bin/env python3
"""Paced load for bench/gateway_bench.sh: InvocationRequests of "add" ({"value": 1}) on a random
instance c-1..c-N of spawn-system, sent at a fixed rate over a pool of kept-alive connections.

Open loop: request i is due at start + i / rate whatever happened before, and its latency runs
from that due time to the end of its answer, so a stall shows in the percentiles instead of
lowering the rate (no coordinated omission). Prints the rate held, p50/p90/p99/max in ms and
the errors.

Usage: gateway_paced.py URL RATE SECONDS [INSTANCES] [CONNECTIONS]
"""
import asyncio
import random
import sys
import time
from urllib.parse import urlparse


def varint(n):
    """A protobuf varint."""
    out = bytearray()
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def field(number, data):
    """A length-delimited protobuf field."""
    return varint(number * 8 + 2) + varint(len(data)) + data


SYSTEM = b"spawn-system"
VALUE = field(1, b"type.googleapis.com/eigr.functions.protocol.JSONType") + field(
    2, field(1, b'{"value": 1}'))


def request_bytes(host, actor):
    """The HTTP request of one invocation of actor's "add"."""
    body = (field(1, field(1, SYSTEM)) + field(2, field(1, field(1, actor) + field(2, SYSTEM))) +
            field(3, b"add") + field(4, VALUE))
    head = (b"POST /api/v1/system/spawn-system/actors/" + actor + b"/invoke HTTP/1.1\r\n"
            b"Host: " + host + b"\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    return head + body


async def exchange(reader, writer, data):
    """Sends one request and reads its answer; returns the HTTP status."""
    writer.write(data)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return int(status_line.split()[1]) if status_line else 0


async def main():
    url, rate, seconds = urlparse(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    instances = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    connections = int(sys.argv[5]) if len(sys.argv) > 5 else 32
    host = url.netloc.encode()
    pool = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(url.hostname, url.port))
    latencies, errors = [], [0]
    total = int(rate * seconds)

    async def one(due, actor):
        """Waits for a free connection, runs one request, records its latency from `due`."""
        reader, writer = await pool.get()
        try:
            status = await exchange(reader, writer, request_bytes(host, actor))
            if status != 200:
                errors[0] += 1
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            errors[0] += 1
            reader, writer = await asyncio.open_connection(url.hostname, url.port)
        latencies.append(time.monotonic() - due)
        pool.put_nowait((reader, writer))

    start = time.monotonic() + 0.1
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        actor = b"c-" + str(random.randint(1, instances)).encode()
        tasks.append(asyncio.ensure_future(one(due, actor)))
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    print(f"rate={len(latencies) / elapsed:.0f} p50_ms={pct(50):.2f} p90_ms={pct(90):.2f} "
          f"p99_ms={pct(99):.2f} max_ms={latencies[-1] * 1000:.2f} errors={errors[0]}")


asyncio.run(main())
