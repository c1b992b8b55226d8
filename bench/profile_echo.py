#!/usr/bin/python3
"""Drives a fixed echo workload for an instruction-count profile.

Opens CONNS connections, runs ZERO_CMD (which zeroes the profiler's
counters), sends MESSAGES binary messages of SIZE bytes in batches of BATCH
per connection (send a batch, wait for its echoes), checks every echo, and
runs DUMP_CMD (which writes the counters) before any connection closes, so
the counters cover the messages only: no start-up, handshake or close.
The batching is fixed so that two profiles of the server see the same
reads and writes; see profile_echo.sh.
"""

import asyncio
import os
import sys

import websockets

from profile_control import profiler

URL = sys.argv[1]
MESSAGES = int(os.environ.get("MESSAGES", "100000"))
CONNS = int(os.environ.get("CONNS", "4"))
SIZE = int(os.environ.get("SIZE", "64"))
BATCH = int(os.environ.get("BATCH", "50"))
ZERO_CMD = os.environ.get("ZERO_CMD", "")
# seconds a handshake may take: a server under valgrind's lackey takes
# minutes for its first ones
OPEN_TIMEOUT = float(os.environ.get("OPEN_TIMEOUT", "10"))
DUMP_CMD = os.environ.get("DUMP_CMD", "")


async def control(command):
    """Runs a callgrind_control command; the server answers 404s to the
    requests that keep it running meanwhile (profile_control.py)."""
    host, port = URL.split("/")[2].split(":")
    await profiler(command, host, port,
                   f"GET /profiler-nudge HTTP/1.1\r\nHost: {host}\r\n\r\n"
                   .encode())


async def one_connection(ws, index, count):
    sent = 0
    while sent < count:
        batch = [bytes([(index + sent + i) & 0xFF]) * SIZE
                 for i in range(min(BATCH, count - sent))]
        for message in batch:
            await ws.send(message)
        for message in batch:
            echo = await ws.recv()
            if echo != message:
                raise SystemExit(f"conn {index}: wrong echo")
        sent += len(batch)


async def main():
    per_conn = MESSAGES // CONNS
    conns = [await websockets.connect(URL, compression=None, max_size=None,
                                      ping_interval=None,
                                      open_timeout=OPEN_TIMEOUT)
             for _ in range(CONNS)]
    await control(ZERO_CMD)
    await asyncio.gather(*(one_connection(ws, i, per_conn)
                           for i, ws in enumerate(conns)))
    await control(DUMP_CMD)
    for ws in conns:
        await ws.close()
    print(f"{per_conn * CONNS} messages echoed")


asyncio.run(main())
